package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/headcount/headcount/internal/pipeline"
	"github.com/headcount/headcount/internal/watermark"
)

// fakeInput is a Kafka input with fixed lags and readiness.
type fakeInput struct {
	lags     map[int32]int64 // partitions of topic "in"
	notReady string
}

func (f *fakeInput) Lag(fn func(string, int32, int64)) {
	for p, l := range f.lags {
		fn("in", p, l)
	}
}

func (f *fakeInput) NotReady() string { return f.notReady }

// fakeMember is a group member: its merge published results and its
// count step committed.
type fakeMember struct {
	fakeInput
	results, corrections uint64
	watermark            int64
	count                pipeline.CheckpointStats
}

func (f *fakeMember) Amend(s *pipeline.Stats) {
	s.Results, s.Corrections, s.Watermark = f.results, f.corrections, f.watermark
}

func (f *fakeMember) Commits(fn func(string, pipeline.CheckpointStats)) { fn("count", f.count) }

// scrape reads /metrics of h.
func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("/metrics: %d", rec.Code)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// sample finds the series of family name with labels (name=value pairs).
func sample(fams map[string]*dto.MetricFamily, name string, labels ...string) *dto.Metric {
	f := fams[name]
	if f == nil {
		return nil
	}
next:
	for _, m := range f.Metric {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, l := range m.Label {
				found = found || l.GetName() == labels[i] && l.GetValue() == labels[i+1]
			}
			if !found {
				continue next
			}
		}
		return m
	}
	return nil
}

func value(m *dto.Metric) float64 {
	switch {
	case m == nil:
		return -1
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	return -2
}

// TestCollect: every new metric, from stats a run would hand over: a
// single process with a checkpoint, and a group member whose own steps
// publish and commit.
func TestCollect(t *testing.T) {
	now := time.Unix(1468244400+3600, 0)
	var saves pipeline.CheckpointStats
	saves.Saved(now.Add(-7*time.Second), 3*time.Millisecond)
	saves.Saved(now.Add(-2*time.Second), 40*time.Millisecond)
	var st pipeline.Stats
	st.Results, st.Corrections, st.Watermark, st.Checkpoint = 9, 2, 1468244400, saves
	member := &fakeMember{fakeInput: fakeInput{lags: map[int32]int64{0: 0, 1: 12}}, results: 20, corrections: 5, watermark: 1468244400 + 3000}
	member.count.Last = now.Add(-30 * time.Second) // none yet: since the start
	tests := []struct {
		name  string
		input Input
		want  map[string]float64 // a series (name and labels as in the text format) and its value
		none  []string           // families not exported
	}{
		{"file", nil, map[string]float64{
			"headcount_results_total": 9, "headcount_corrections_total": 2, "headcount_watermark_lag_seconds": 3600,
			`headcount_checkpoint_age_seconds{step="pipeline"}`: 2, "headcount_ready": 0,
		}, []string{"headcount_kafka_consumer_lag"}},
		{"kafka", &fakeInput{lags: map[int32]int64{0: 3, 1: 12}}, map[string]float64{
			`headcount_kafka_consumer_lag{partition="0",topic="in"}`: 3, `headcount_kafka_consumer_lag{partition="1",topic="in"}`: 12,
			"headcount_ready": 1,
		}, nil},
		{"group member", member, map[string]float64{
			"headcount_results_total": 20, "headcount_corrections_total": 5, "headcount_watermark_lag_seconds": 600,
			`headcount_kafka_consumer_lag{partition="1",topic="in"}`: 12,
			`headcount_checkpoint_age_seconds{step="pipeline"}`:      2, `headcount_checkpoint_age_seconds{step="count"}`: 30,
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New()
			m.now = func() time.Time { return now }
			m.Observe(&st)
			m.SetReadiness(Readiness{Input: tt.input, MaxLag: DefaultMaxLag})
			fams := scrape(t, m.Handler())
			for series, want := range tt.want {
				name, labels := parseSeries(series)
				if got := value(sample(fams, name, labels...)); got != want {
					t.Errorf("%s = %v, want %v", series, got, want)
				}
			}
			for _, name := range tt.none {
				if fams[name] != nil {
					t.Errorf("%s exported", name)
				}
			}
			checkDurations(t, sample(fams, "headcount_checkpoint_duration_seconds", "step", "pipeline").GetHistogram())
		})
	}
}

// checkDurations checks the histogram of two saves, of 3 ms and 40 ms.
func checkDurations(t *testing.T, h *dto.Histogram) {
	t.Helper()
	if h.GetSampleCount() != 2 || h.GetSampleSum() != 0.043 {
		t.Fatalf("checkpoint durations: %d saves, %v s", h.GetSampleCount(), h.GetSampleSum())
	}
	if len(h.Bucket) < len(pipeline.CheckpointBuckets) {
		t.Fatalf("%d buckets, want %d", len(h.Bucket), len(pipeline.CheckpointBuckets))
	}
	for _, b := range h.Bucket {
		var want uint64 // the saves within the bound
		for _, d := range []float64{0.003, 0.040} {
			if d <= b.GetUpperBound() {
				want++
			}
		}
		if b.GetCumulativeCount() != want {
			t.Errorf("durations <= %vs: %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), want)
		}
	}
}

// parseSeries splits `name{a="x",b="y"}` into the name and label pairs.
func parseSeries(s string) (string, []string) {
	name, rest, ok := strings.Cut(s, "{")
	if !ok {
		return s, nil
	}
	var labels []string
	for _, kv := range strings.Split(strings.TrimSuffix(rest, "}"), ",") {
		k, v, _ := strings.Cut(kv, "=")
		labels = append(labels, k, strings.Trim(v, `"`))
	}
	return name, labels
}

// TestReady: /readyz in each state a run goes through: 200 "ready", or 503
// with the reason in plain text.
func TestReady(t *testing.T) {
	started := pipeline.Stats{Frames: 10}
	started.Watermark = watermark.None
	ended, waiting := started, started
	ended.Ended, waiting.Waiting = true, true
	tests := []struct {
		name  string
		st    *pipeline.Stats // nil: nothing observed yet
		ready Readiness
		want  string // "" for 200
	}{
		{"file, not started", nil, Readiness{}, "the pipeline has not started"},
		{"file, reading", &started, Readiness{}, "reading the input: a file is ready once it is read to its end"},
		{"file, waiting is not the end", &waiting, Readiness{}, "reading the input"},
		{"file, at its end", &ended, Readiness{}, ""},
		{"stdin, catching up", &started, Readiness{Stream: true}, "catching up with the input"},
		{"stdin, waiting", &waiting, Readiness{Stream: true}, ""},
		{"stdin, ended", &ended, Readiness{Stream: true}, ""},
		{"kafka, not assigned", nil, Readiness{Input: &fakeInput{notReady: "waiting for group g to assign partitions"}}, "waiting for group g to assign partitions"},
		{"kafka, within the limit", &started, Readiness{Input: &fakeInput{lags: map[int32]int64{0: 10, 1: 3}}, MaxLag: 10}, ""},
		{"kafka, behind", &started, Readiness{Input: &fakeInput{lags: map[int32]int64{0: 11, 1: 30, 2: 30}}, MaxLag: 10}, "partition 1 of in lags 30 records (more than 10)"},
		{"kafka, caught up, limit 0", nil, Readiness{Input: &fakeInput{lags: map[int32]int64{0: 0, 1: 0}}}, ""},
		{"kafka, one record, limit 0", nil, Readiness{Input: &fakeInput{lags: map[int32]int64{0: 0, 1: 1}}}, "partition 1 of in lags 1 records (more than 0)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New()
			if tt.st != nil {
				m.Observe(tt.st)
			}
			m.SetReadiness(tt.ready)
			rec := httptest.NewRecorder()
			m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
			body, _ := io.ReadAll(rec.Body)
			wantCode, wantBody := 200, "ready\n"
			if tt.want != "" {
				wantCode, wantBody = 503, "not ready: "+tt.want
			}
			if rec.Code != wantCode || !strings.HasPrefix(string(body), wantBody) || rec.Header().Get("Content-Type") != "text/plain; charset=utf-8" {
				t.Errorf("%d %q (%s), want %d %q", rec.Code, body, rec.Header().Get("Content-Type"), wantCode, wantBody)
			}
			if got := value(sample(scrape(t, m.Handler()), "headcount_ready")); got != map[bool]float64{true: 1, false: 0}[tt.want == ""] {
				t.Errorf("headcount_ready = %v", got)
			}
		})
	}
}
