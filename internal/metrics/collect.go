package metrics

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/headcount/headcount/internal/frame"
	"github.com/headcount/headcount/internal/pipeline"
	"github.com/headcount/headcount/internal/watermark"
)

// Input is a Kafka input as /metrics and /readyz see it (kafka.Source,
// kafka.Member).
type Input interface {
	// Lag calls f with the lag, in records, of each partition consumed.
	Lag(f func(topic string, partition int32, lag int64))
	// NotReady says why the input is not ready ("" once it is).
	NotReady() string
}

// group is an input that counts together with other processes
// (kafka.Member): its own steps publish the results and commit.
type group interface {
	Amend(s *pipeline.Stats)
	Commits(f func(step string, c pipeline.CheckpointStats))
}

// PipelineStep is the step label of the pipeline's own saves (a checkpoint
// file, or the transactions of an exactly-once input).
const PipelineStep = "pipeline"

var (
	descFrames      = prometheus.NewDesc("headcount_frames_total", "Frames read, counted or not.", nil, nil)
	descBytes       = prometheus.NewDesc("headcount_bytes_total", "Bytes of frames read.", nil, nil)
	descCounted     = prometheus.NewDesc("headcount_frames_counted_total", "Frames counted in at least one window.", nil, nil)
	descRejected    = prometheus.NewDesc("headcount_frames_rejected_total", "Frames not counted, by reason.", []string{"reason"}, nil)
	descPartly      = prometheus.NewDesc("headcount_frames_partly_late_total", "Frames counted in longer windows but too late for a shorter one.", nil, nil)
	descResults     = prometheus.NewDesc("headcount_results_total", "Results written (in a group: published by this member's merge).", nil, nil)
	descCorrections = prometheus.NewDesc("headcount_corrections_total", "Results written that correct an earlier one (rev > 1), by this process.", nil, nil)
	descWM          = prometheus.NewDesc("headcount_watermark_seconds", "The pipeline's watermark (unix seconds; in a group, the lowest of the buckets this member counts).", nil, nil)
	descWMLag       = prometheus.NewDesc("headcount_watermark_lag_seconds", "How far the watermark is behind the wall clock, at the scrape.", nil, nil)
	descOpen        = prometheus.NewDesc("headcount_windows_open", "Open windows.", nil, nil)
	descKept        = prometheus.NewDesc("headcount_windows_kept", "Closed windows kept for corrections.", nil, nil)
	descMem         = prometheus.NewDesc("headcount_window_counter_bytes", "Memory held by the counters of open and kept windows.", nil, nil)
	descHeld        = prometheus.NewDesc("headcount_frames_held", "Frames held by the jump guard (possible bit flips).", nil, nil)
	descLag         = prometheus.NewDesc("headcount_kafka_consumer_lag", "Records of a Kafka input partition not yet applied: its end offset minus the next offset to apply (or committed).", []string{"topic", "partition"}, nil)
	descCkptAge     = prometheus.NewDesc("headcount_checkpoint_age_seconds", "Time since the state was last saved (a checkpoint file, or a committed Kafka transaction), by step; since the start before the first save.", []string{"step"}, nil)
	descCkptTook    = prometheus.NewDesc("headcount_checkpoint_duration_seconds", "How long the saves of the state took, by step.", []string{"step"}, nil)
	descReady       = prometheus.NewDesc("headcount_ready", "1 when /readyz answers 200, else 0.", nil, nil)
)

type collector struct{ m *Metrics }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descFrames, descBytes, descCounted, descRejected, descPartly, descResults, descCorrections,
		descWM, descWMLag, descOpen, descKept, descMem, descHeld, descLag, descCkptAge, descCkptTook, descReady} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	s, in := c.m.stats()
	now := c.m.now()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter(descFrames, s.Frames)
	counter(descBytes, s.Bytes)
	counter(descCounted, s.Counted)
	for r := frame.Reason(1); r < frame.NumReasons; r++ {
		counter(descRejected, s.Rejected[r], r.String())
	}
	counter(descPartly, s.PartlyLate)
	counter(descResults, s.Results)
	counter(descCorrections, s.Corrections)
	if s.Watermark != watermark.None {
		gauge(descWM, float64(s.Watermark))
		gauge(descWMLag, now.Sub(time.Unix(s.Watermark, 0)).Seconds())
	}
	gauge(descOpen, float64(s.OpenWindows))
	gauge(descKept, float64(s.KeptWindows))
	gauge(descMem, float64(s.WindowBytes))
	gauge(descHeld, float64(s.Held))
	if in != nil {
		in.Lag(func(topic string, partition int32, lag int64) {
			gauge(descLag, float64(lag), topic, strconv.Itoa(int(partition)))
		})
	}
	checkpoints(ch, now, PipelineStep, s.Checkpoint)
	if g, ok := in.(group); ok {
		g.Commits(func(step string, cs pipeline.CheckpointStats) { checkpoints(ch, now, step, cs) })
	}
	ready := 0.0
	if c.m.NotReady() == "" {
		ready = 1
	}
	gauge(descReady, ready)
}

// checkpoints sends the age and the durations of a step's saves, if it
// saves at all.
func checkpoints(ch chan<- prometheus.Metric, now time.Time, step string, cs pipeline.CheckpointStats) {
	if cs.Last.IsZero() {
		return
	}
	ch <- prometheus.MustNewConstMetric(descCkptAge, prometheus.GaugeValue, now.Sub(cs.Last).Seconds(), step)
	buckets := make(map[float64]uint64, len(pipeline.CheckpointBuckets))
	var below uint64
	for i, bound := range pipeline.CheckpointBuckets {
		below += cs.Buckets[i]
		buckets[bound.Seconds()] = below
	}
	ch <- prometheus.MustNewConstHistogram(descCkptTook, cs.Saves, cs.Took.Seconds(), buckets, step)
}
