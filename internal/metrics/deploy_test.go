package metrics

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metricsql"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v2"

	"github.com/headcount/headcount/internal/pipeline"
)

// The files of deploy/ that query the metrics.
var (
	alertsFile    = filepath.Join("..", "..", "deploy", "prometheus", "alerts.yml")
	dashboardFile = filepath.Join("..", "..", "deploy", "grafana", "headcount.json")
)

// exported starts a metrics server in the state where every family
// appears (a group member with a lag, a watermark, saves), scrapes it and
// returns the names a query can use: each family's, and for histograms
// their _bucket, _sum and _count series.
func exported(t *testing.T) map[string]bool {
	t.Helper()
	m := New()
	var st pipeline.Stats
	st.Watermark = 1468244400
	st.Checkpoint.Saved(time.Now(), time.Millisecond)
	m.Observe(&st)
	m.SetReadiness(Readiness{Input: &fakeMember{fakeInput: fakeInput{lags: map[int32]int64{0: 1}}, watermark: 1468244400}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, err := m.Serve(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr.String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for name, f := range fams {
		names[name] = true
		switch f.GetType() {
		case dto.MetricType_HISTOGRAM:
			names[name+"_bucket"], names[name+"_sum"], names[name+"_count"] = true, true, true
		case dto.MetricType_SUMMARY:
			names[name+"_sum"], names[name+"_count"] = true, true
		}
	}
	return names
}

// grafanaVars are the dashboard's variables that are not PromQL, replaced
// by what Grafana puts there.
var grafanaVars = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h")

// labelValues is a Grafana variable query: label_values(SELECTOR, LABEL).
var labelValues = regexp.MustCompile(`^label_values\((.+),\s*\w+\)$`)

// metricNames parses a query and returns the metric names it selects.
func metricNames(query string) ([]string, error) {
	if sub := labelValues.FindStringSubmatch(query); sub != nil {
		query = sub[1]
	}
	e, err := metricsql.Parse(grafanaVars.Replace(query))
	if err != nil {
		return nil, err
	}
	var names []string
	metricsql.VisitAll(e, func(e metricsql.Expr) {
		if me, ok := e.(*metricsql.MetricExpr); ok {
			for _, lfs := range me.LabelFilterss {
				for _, lf := range lfs {
					if lf.Label == "__name__" && !lf.IsRegexp && !lf.IsNegative {
						names = append(names, lf.Value)
					}
				}
			}
		}
	})
	return names, nil
}

// alertExprs returns each alert's name and expression.
func alertExprs(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Rules []struct{ Alert, Expr string }
		}
	}
	if err := yaml.Unmarshal(data, &rules); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			out[r.Alert] = r.Expr
		}
	}
	return out
}

// dashboardQueries returns every query of the dashboard (panel targets and
// variables), keyed by where it is.
func dashboardQueries(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
		Templating struct {
			List []struct {
				Name  string
				Type  string
				Query json.RawMessage
			}
		}
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, p := range d.Panels {
		for i, tg := range p.Targets {
			out[p.Title+" #"+string(rune('A'+i))] = tg.Expr
		}
	}
	for _, v := range d.Templating.List {
		var q struct{ Query string }
		if v.Type == "query" {
			if err := json.Unmarshal(v.Query, &q); err != nil {
				t.Fatalf("variable %s: %v", v.Name, err)
			}
			out["variable "+v.Name] = q.Query
		}
	}
	return out
}

// TestDeployNames: the alerting rules and the Grafana dashboard query only
// metrics the process exports, and between them every metric the README
// lists for operators.
func TestDeployNames(t *testing.T) {
	have := exported(t)
	used := map[string]bool{}
	for _, file := range []struct {
		name    string
		queries map[string]string
		min     int
	}{
		{alertsFile, alertExprs(t), 6},
		{dashboardFile, dashboardQueries(t), 18},
	} {
		if len(file.queries) < file.min {
			t.Errorf("%s: %d queries, want at least %d", file.name, len(file.queries), file.min)
		}
		for where, q := range file.queries {
			names, err := metricNames(q)
			if err != nil {
				t.Errorf("%s: %s: %q: %v", file.name, where, q, err)
				continue
			}
			if len(names) == 0 {
				t.Errorf("%s: %s: %q selects no metric", file.name, where, q)
			}
			for _, n := range names {
				used[n] = true
				if !have[n] {
					t.Errorf("%s: %s: %s is not exported", file.name, where, n)
				}
			}
		}
	}
	for _, n := range []string{"headcount_kafka_consumer_lag", "headcount_watermark_lag_seconds", "headcount_frames_rejected_total",
		"headcount_results_total", "headcount_corrections_total", "headcount_checkpoint_age_seconds",
		"headcount_checkpoint_duration_seconds_bucket", "process_resident_memory_bytes", "headcount_ready"} {
		if !used[n] {
			t.Errorf("neither the alerts nor the dashboard use %s", n)
		}
	}
}

// The name extraction itself: metric names of selectors, through functions,
// aggregations, binary operators and Grafana's variables; not label values
// or function names.
func TestMetricNames(t *testing.T) {
	tests := []struct {
		query string
		want  []string
	}{
		{`headcount_frames_total`, []string{"headcount_frames_total"}},
		{`sum by (reason) (rate(headcount_frames_rejected_total{instance=~"$instance"}[$__rate_interval])) > 0`, []string{"headcount_frames_rejected_total"}},
		{`a_total / b_total > 0.05 and c{x="rate"}`, []string{"a_total", "b_total", "c"}},
		{`histogram_quantile(0.99, sum by (le) (rate(d_seconds_bucket[5m])))`, []string{"d_seconds_bucket"}},
		{`label_values(headcount_frames_total{job=~"$job"}, instance)`, []string{"headcount_frames_total"}},
		{`{__name__=~"head.*"}`, nil},
	}
	for _, tt := range tests {
		got, err := metricNames(tt.query)
		slices.Sort(got)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("metricNames(%q) = %v, %v; want %v", tt.query, got, err, tt.want)
		}
	}
	if _, err := metricNames(`rate(x[5m]`); err == nil {
		t.Error("a query that does not parse was accepted")
	}
}
