// Command kafkaconsume is the consume-only baseline of bench/kafka: it reads
// every record of a topic up to the end offsets seen at start with plain
// franz-go (no group, no parsing) and prints the count, so the cost of
// reading Kafka can be told apart from the cost of counting.
//
// It uses franz-go's fetch settings as headcount's Kafka source does
// (defaults, one client), so the ratio of the two measures headcount's work
// on top of the same reads.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func main() {
	brokers := flag.String("brokers", "127.0.0.1:9092", "seed brokers, comma-separated")
	topic := flag.String("topic", "", "topic to read")
	partBytes := flag.Int("fetch-partition-bytes", 0, "kgo.FetchMaxPartitionBytes (0: franz-go's default, 1 MiB)")
	flag.Parse()
	var opts []kgo.Opt
	if *partBytes > 0 {
		opts = append(opts, kgo.FetchMaxPartitionBytes(int32(*partBytes)))
	}
	if err := run(strings.Split(*brokers, ","), *topic, opts...); err != nil {
		fmt.Fprintln(os.Stderr, "kafkaconsume:", err)
		os.Exit(1)
	}
}

func run(brokers []string, topic string, opts ...kgo.Opt) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}, opts...)...)
	if err != nil {
		return err
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		return err
	}
	left := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			left[o.Partition] = o.Offset
		}
	})
	begin := time.Now()
	var records, bytes int64
	for len(left) > 0 {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil && ctx.Err() != nil {
			return err
		}
		for _, e := range fs.Errors() {
			return fmt.Errorf("%s/%d: %w", e.Topic, e.Partition, e.Err)
		}
		fs.EachPartition(func(p kgo.FetchTopicPartition) {
			end, ok := left[p.Partition]
			if !ok {
				return
			}
			for _, r := range p.Records {
				if r.Offset >= end {
					break
				}
				records++
				bytes += int64(len(r.Value))
			}
			if last := p.Records[len(p.Records)-1].Offset; last+1 >= end {
				delete(left, p.Partition)
			}
		})
	}
	secs := time.Since(begin).Seconds()
	fmt.Printf("%d records, %d bytes in %.2fs: %.0f records/s, %.1f MB/s\n", records, bytes, secs, float64(records)/secs, float64(bytes)/1e6/secs)
	return nil
}
