package kafka_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/headcount/headcount/internal/kafka"
	"github.com/headcount/headcount/internal/kafkatest"
	"github.com/headcount/headcount/internal/source"
)

// recycled reads an lz4 topic batch by batch, holding the last few batches
// while it releases the older ones: the frames of a held batch must still
// be what they were when it was handed out, though later batches are
// decompressed into the buffers released before (and some were: the pool
// is used), and every frame produced is read once, unchanged.
func recycled(t *testing.T, conn kafka.Config, n int) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	topic := kafkatest.Topic(t, "recycled")
	frames := generate(n, 1000, 5000)
	load(t, ctx, conn, topic, 2, frames)
	src, err := kafka.NewSource(ctx, kafka.SourceConfig{Config: conn, Topics: []string{topic}, UntilEnd: true})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	type held struct {
		b      *source.Batch
		frames [][]byte // copies taken when it was handed out
	}
	var window []held
	check := func(h held) {
		for i, f := range h.b.Frames {
			if !bytes.Equal(f, h.frames[i]) {
				t.Fatalf("frame at offset %d changed before its batch was released", h.b.OffsetOf(i))
			}
		}
	}
	seen := map[string]int{}
	for {
		b, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		h := held{b: b}
		for _, f := range b.Frames {
			h.frames = append(h.frames, bytes.Clone(f))
			seen[string(f)]++
		}
		window = append(window, h)
		if len(window) > 3 {
			check(window[0])
			window[0].b.Release()
			window = window[1:]
		}
	}
	for _, h := range window {
		check(h)
		h.b.Release()
	}
	for _, f := range frames {
		if seen[string(f)]--; seen[string(f)] < 0 {
			t.Fatalf("frame %.60s... missing or changed", f)
		}
	}
	if src.Reused() == 0 {
		t.Fatal("no decompression buffer was reused")
	}
}

func TestRecycledRealBroker(t *testing.T) { recycled(t, kafkatest.Broker(t), 40000) }

func TestRecycledFake(t *testing.T) {
	conn, _ := kafkatest.Fake(t)
	recycled(t, conn, 20000)
}
