package kafka_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/headcount/headcount/internal/kafka"
	"github.com/headcount/headcount/internal/pipeline"
	"github.com/headcount/headcount/internal/result"
)

func TestTmpSourceSpeed(t *testing.T) {
	conn := realBroker(t)
	ctx := context.Background()
	for _, group := range []string{"", uniqueTopic(t, "g")} {
		src, err := kafka.NewSource(ctx, kafka.SourceConfig{Config: conn, Topics: []string{"ref-lz4"}, UntilEnd: true, Group: group})
		if err != nil {
			t.Fatal(err)
		}
		begin := time.Now()
		n := 0
		nb := 0
		for {
			b, err := src.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			n += len(b.Frames)
			nb++
			src.MarkApplied(b)
		}
		t.Logf("group %q: %d frames %d batches in %v", group, n, nb, time.Since(begin))
		src.Close()
	}
}

type discard struct{}

func (discard) Write(context.Context, []result.Result) error { return nil }

func TestTmpPipelineSpeed(t *testing.T) {
	conn := realBroker(t)
	ctx := context.Background()
	for _, group := range []string{"", uniqueTopic(t, "g")} {
		src, err := kafka.NewSource(ctx, kafka.SourceConfig{Config: conn, Topics: []string{"ref-lz4"}, UntilEnd: true, Group: group})
		if err != nil {
			t.Fatal(err)
		}
		begin := time.Now()
		cfg := pipelineConfig(5 * time.Second)
		cfg.Workers = 0
		st, err := pipeline.Run(ctx, src, discard{}, cfg)
		t.Logf("group %q: %d frames in %v (%v)", group, st.Frames, time.Since(begin), err)
		src.Close()
	}
}
