package sketch

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
)

// TestHLLAccuracy measures the relative error of HLL counters at p = 14 over
// independent trials (each trial hashes a different range of counters, so
// the true count is known exactly) and checks it against RSE.
//
// The assertions are sized so that a correct HLL fails them with
// probability below about 1e-6 per run, treating a trial's relative error as
// roughly normal with standard deviation RSE:
//   - RMS over T trials: RMS²/RSE² is about χ²_T/T, whose mean is 1; RMS >
//     3·RSE needs χ²_T > 9T, which for T ≥ 10 has probability < 1e-15. For T ≥
//     100 we also require RMS ≤ 1.5·RSE (χ²_100 > 225: p ≈ 1e-11), which a
//     sketch with double the promised error would fail.
//   - max |error| over T trials: a fixed 4·RSE is not sound (P(|Z| > 4) =
//     6e-5 per trial, so 0.06 over 1,000 trials); the bound is k·RSE with k
//     chosen so that T·P(|Z| > k) = 1e-6: 5.3 for T = 10, 6.1 for T = 2000.
//
// The trials are seeded deterministically, so the test is reproducible;
// the bounds say how surprising a failure would be.
//
// Run the table: go test ./internal/sketch -run HLLAccuracy -v
func TestHLLAccuracy(t *testing.T) {
	type row struct {
		n, trials int
		long      bool // skipped with -short
	}
	rows := []row{
		{1_000, 2_000, false},
		{10_000, 1_000, false},
		{100_000, 200, false},
		{1_000_000, 100, false},
		{10_000_000, 24, true},
	}
	const p = DefaultPrecision
	sigma := rse(p)

	type result struct {
		row
		mean, rms, max float64
		skipped        bool
	}
	results := make([]result, len(rows))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2) // the machines have 2 cores
	for i, r := range rows {
		results[i].row = r
		if r.long && testing.Short() {
			results[i].skipped = true
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			var sum, sumSq, worst float64
			c := New(Config{Mode: HLL, Precision: p})
			for trial := range r.trials {
				c.Reset()
				// Disjoint counter ranges per (row, trial): independent trials.
				seed := uint64(i)<<56 | uint64(trial)<<32
				feed(c, seed, 0, r.n)
				e := (float64(c.Count()) - float64(r.n)) / float64(r.n)
				sum += e
				sumSq += e * e
				worst = max(worst, math.Abs(e))
			}
			results[i].mean = sum / float64(r.trials)
			results[i].rms = math.Sqrt(sumSq / float64(r.trials))
			results[i].max = worst
		}()
	}
	wg.Wait()

	var tbl strings.Builder
	fmt.Fprintf(&tbl, "p=%d registers=%d\n", p, 1<<p)
	fmt.Fprintf(&tbl, "%12s %7s %10s %10s %10s %10s\n", "cardinality", "trials", "mean err", "RMS err", "max |err|", "RSE")
	for _, r := range results {
		if r.skipped {
			fmt.Fprintf(&tbl, "%12d %7s (skipped: -short)\n", r.n, "-")
			continue
		}
		fmt.Fprintf(&tbl, "%12d %7d %+9.4f%% %9.4f%% %9.4f%% %9.4f%%\n",
			r.n, r.trials, 100*r.mean, 100*r.rms, 100*r.max, 100*sigma)

		if r.rms > 3*sigma {
			t.Errorf("n=%d: RMS error %.4f > 3·RSE = %.4f", r.n, r.rms, 3*sigma)
		}
		if r.trials >= 100 && r.rms > 1.5*sigma {
			t.Errorf("n=%d: RMS error %.4f > 1.5·RSE = %.4f over %d trials", r.n, r.rms, 1.5*sigma, r.trials)
		}
		k := maxErrorBound(r.trials, 1e-6)
		if r.max > k*sigma {
			t.Errorf("n=%d: a trial's error %.4f > %.1f·RSE = %.4f", r.n, r.max, k, k*sigma)
		}
	}
	t.Logf("HLL accuracy:\n%s", tbl.String())
}

// maxErrorBound returns k such that trials·P(|Z| > k) = alpha for a standard
// normal Z: the union bound makes "no trial beyond k·σ" fail with
// probability at most alpha.
func maxErrorBound(trials int, alpha float64) float64 {
	return math.Sqrt2 * math.Erfcinv(alpha/float64(trials))
}
