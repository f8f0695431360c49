package dashboard

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/headcount/headcount/internal/demo"
	"github.com/headcount/headcount/internal/progress"
	"github.com/headcount/headcount/internal/result"
)

// findBrowser returns Debian's chromium, or skips the test without one
// (fails it where scripts/test sets HEADCOUNT_REQUIRE_BROWSER=1).
func findBrowser(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("HEADCOUNT_REQUIRE_BROWSER") == "1" {
		t.Fatal("no chromium on PATH and HEADCOUNT_REQUIRE_BROWSER=1 (scripts/test installs it: apt-get install chromium)")
	}
	t.Skip("no chromium on PATH (apt-get install chromium; HEADCOUNT_REQUIRE_BROWSER=1 makes this a failure)")
	return ""
}

// artifactDir is where the test leaves its screenshot: HEADCOUNT_ARTIFACTS,
// or a new folder under $TMPDIR that outlives the test (t.TempDir does not).
func artifactDir(t *testing.T) string {
	if d := os.Getenv("HEADCOUNT_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	d, err := os.MkdirTemp("", "headcount-dashboard-")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// problems collects what the page must never do: throw, log an error or
// warning to the console, or fail to load something.
type problems struct {
	mu   sync.Mutex
	seen []string
}

func (p *problems) listen(ev any) {
	var s string
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		s = "uncaught: " + ev.ExceptionDetails.Text
		if e := ev.ExceptionDetails.Exception; e != nil {
			s += " " + e.Description
		}
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			s = fmt.Sprintf("console.%s (%d arguments)", ev.Type, len(ev.Args))
		}
	case *log.EventEntryAdded:
		if ev.Entry.Level == log.EntryLevelError || ev.Entry.Level == log.EntryLevelWarning {
			s = fmt.Sprintf("log %s: %s %s", ev.Entry.Level, ev.Entry.Text, ev.Entry.URL)
		}
	}
	if s != "" {
		p.mu.Lock()
		p.seen = append(p.seen, s)
		p.mu.Unlock()
	}
}

func (p *problems) all() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.seen)
}

// TestBrowser loads the dashboard in headless Chromium during a short demo
// run (an embedded broker, 30× speed, bad frames and late ones), waits for
// results, and once the demo has stopped (the board no longer changes)
// checks that what the page shows is /api/state: the cards, every bar of
// the chart (users, state, and its height on the y axis), the table, the
// rejects by reason (there are some), the dead letters and corrections;
// and that the page raised no error. It saves a screenshot.
func TestBrowser(t *testing.T) {
	chrome := findBrowser(t)
	board := New()
	url := serve(t, board)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 1000))...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	var probs problems
	if err := chromedp.Listen(bctx, probs.listen); err != nil {
		t.Fatalf("start %s: %v", chrome, err)
	}
	// The page is open before the demo starts: it must wait for data
	// without an error.
	if err := chromedp.Do(bctx, chromedp.Navigate(url+"/")); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(bctx, `document.getElementById("conn").textContent === "live"`, 20*time.Second); err != nil {
		t.Fatalf("the page did not read /api/state: %v", err)
	}

	done := make(chan error, 1)
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }() // the demo stops with the test
	wg.Go(func() {
		done <- demo.Run(ctx, demo.Config{Rate: 50, Users: 400, Minutes: 4, Speedup: 30, Lateness: 5 * time.Second,
			BadProb: 0.02, BitFlipProb: 0.005, Board: board, StatusEvery: time.Hour})
	})
	// Live: a final minute shows up while the demo runs.
	if err := waitFor(bctx, `document.querySelector("#chart-minute rect.bar.final") !== null`, 90*time.Second); err != nil {
		t.Fatalf("no final minute on the page: %v", err)
	}
	if err := <-done; err != nil || ctx.Err() != nil {
		t.Fatalf("demo: %v (%v)", err, ctx.Err())
	}

	want := board.Snapshot()
	got := waitForPage(t, bctx, want)
	checkPage(t, got, want)
	saveScreenshot(t, bctx)
	for _, p := range probs.all() {
		t.Errorf("the page: %s", p)
	}
}

// waitFor waits until the JavaScript predicate holds on the page.
func waitFor(ctx context.Context, predicate string, timeout time.Duration) error {
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](predicate,
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(timeout)))
	return err
}

// shown is what the page shows, read from its DOM by showJS.
type shown struct {
	Cards   map[string]string                `json:"cards"`
	Banner  string                           `json:"banner"`
	Bars    []shownBar                       `json:"bars"`
	Axis    struct{ Zero, Top, Max float64 } `json:"axis"` // y of the 0 and top ticks, top's value
	Table   [][]string                       `json:"table"`
	Rejects map[string]string                `json:"rejects"`
	DeadSub string                           `json:"deadSub"`
	Dead    []string                         `json:"dead"`   // reasons, latest first
	Corr    [][]string                       `json:"corr"`   // cells, latest first
	Labels  []string                         `json:"labels"` // x labels of the minute chart
}

type shownBar struct {
	Start, State, Title string
	Users               uint64
	Y, H                float64
}

const showJS = `(() => {
  const txt = id => document.getElementById(id).textContent;
  const cells = tr => [...tr.cells].map(c => c.textContent);
  const svg = document.getElementById("chart-minute");
  const ticks = svg ? [...svg.querySelectorAll("text.ylab")] : [];
  const top = ticks[ticks.length - 1];
  return {
    cards: Object.fromEntries(["rate", "frames", "counted", "rejected", "watermark", "watermark-label", "open"].map(id => [id, txt(id)])),
    banner: document.getElementById("clock").hidden ? "" : txt("clock"),
    bars: svg ? [...svg.querySelectorAll("rect.bar")].map(r => ({Start: r.dataset.start, State: r.dataset.state,
      Title: r.querySelector("title").textContent, Users: +r.dataset.users, Y: +r.getAttribute("y"), H: +r.getAttribute("height")})) : [],
    axis: ticks.length ? {Zero: +ticks[0].getAttribute("y"), Top: +top.getAttribute("y"), Max: +top.textContent.replace(/,/g, "")} : {},
    labels: svg ? [...svg.querySelectorAll("text.xlab")].map(t => t.textContent) : [],
    table: [...document.querySelectorAll("#table-minute tr[data-start]")].map(cells),
    rejects: Object.fromEntries([...document.querySelectorAll("#rejects-table tr[data-reason]")].map(tr => [tr.dataset.reason, tr.cells[1].textContent])),
    deadSub: txt("dead-sub"),
    dead: [...document.querySelectorAll("#dead-table tr[data-reason]")].map(tr => tr.dataset.reason),
    corr: [...document.querySelectorAll("#corrections-table tr")].slice(1).map(cells),
  };
})()`

// waitForPage reads the page until it has rendered want (the board no
// longer changes, so the next refresh shows it).
func waitForPage(t *testing.T, ctx context.Context, want State) shown {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, err := chromedp.Run(ctx, chromedp.Evaluate[shown](showJS))
		if err != nil {
			t.Fatalf("read the page: %v", err)
		}
		if got.Cards["frames"] == progress.Thousands(want.Frames) && len(got.Dead) == len(want.DeadLetters.Recent) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page shows %s frames, /api/state %d", got.Cards["frames"], want.Frames)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func checkPage(t *testing.T, got shown, want State) {
	t.Helper()
	n := progress.Thousands
	var rejected uint64
	for reason, c := range want.Rejected {
		rejected += c
		if got.Rejects[reason] != n(c) {
			t.Errorf("rejects: %s shows %q, want %s", reason, got.Rejects[reason], n(c))
		}
	}
	if len(got.Rejects) != len(want.Rejected) || rejected == 0 {
		t.Errorf("rejects by reason: page %v, state %v (the demo sends bad frames: some must show)", got.Rejects, want.Rejected)
	}
	for id, v := range map[string]string{"frames": n(want.Frames), "counted": n(want.Counted), "rejected": n(rejected),
		"open": fmt.Sprintf("%d / %d", want.Open, want.Kept), "watermark": time.Unix(want.Watermark, 0).UTC().Format("15:04:05"),
		"watermark-label": "watermark (demo time, UTC)"} {
		if got.Cards[id] != v {
			t.Errorf("card %s: %q, want %q", id, got.Cards[id], v)
		}
	}
	if !strings.Contains(got.Banner, "Demo time") || !strings.Contains(got.Banner, "30×") {
		t.Errorf("no demo-time banner: %q", got.Banner)
	}
	minutes := want.Windows["minute"]
	checkBars(t, got, minutes[max(0, len(minutes)-30):], want.Clock.Since)
	checkTable(t, got.Table, minutes)
	if !strings.HasPrefix(got.DeadSub, n(want.DeadLetters.Count)+" frames rejected") || want.DeadLetters.Count != rejected {
		t.Errorf("dead letters: %q, state %d of %d rejected", got.DeadSub, want.DeadLetters.Count, rejected)
	}
	for i, d := range want.DeadLetters.Recent {
		if j := len(got.Dead) - 1 - i; j < 0 || got.Dead[j] != d.Reason {
			t.Errorf("dead letter %d: page %v, state %+v", i, got.Dead, want.DeadLetters.Recent)
			break
		}
	}
	checkCorrections(t, got.Corr, want.Corrections)
}

// stateOf is the page's stateOf: partial, prov, corr or final.
func stateOf(r result.Result, since int64) string {
	switch {
	case since > 0 && r.Start.Unix() < since:
		return "partial"
	case !r.Final:
		return "prov"
	case r.Rev > 1:
		return "corr"
	}
	return "final"
}

// checkBars: one bar per window, oldest first, with its users and state,
// and its top where the y axis puts its count.
func checkBars(t *testing.T, got shown, want []result.Result, since int64) {
	t.Helper()
	if len(got.Bars) != len(want) || len(want) < 4 {
		t.Fatalf("%d bars, %d minutes in the state (want at least 4)", len(got.Bars), len(want))
	}
	if got.Axis.Max < float64(slices.MaxFunc(want, func(a, b result.Result) int { return int(a.Users) - int(b.Users) }).Users) {
		t.Errorf("y axis tops at %v, below the largest count", got.Axis.Max)
	}
	perUser := (got.Axis.Zero - got.Axis.Top) / got.Axis.Max
	for i, w := range want {
		b := got.Bars[i]
		st := stateOf(w, since)
		if b.Start != w.Start.Format(time.RFC3339) || b.Users != w.Users || b.State != st || !strings.Contains(b.Title, progress.Thousands(w.Users)+" users") {
			t.Errorf("bar %d: %+v, want %s %d users (%s)", i, b, w.Start.Format(time.RFC3339), w.Users, st)
		}
		// The tick labels sit 4 units below their line.
		if top := got.Axis.Zero - 4 - float64(w.Users)*perUser; w.Users > 0 && math.Abs(b.Y-top) > 1.01 {
			t.Errorf("bar %d (%d users): top at y=%.1f, the axis puts it at %.1f", i, w.Users, b.Y, top)
		}
	}
	if len(got.Labels) < len(want)/2 || got.Labels[len(got.Labels)-1] != want[len(want)-1].Start.UTC().Format("15:04") {
		t.Errorf("x labels %q for %d bars: want every bar or every other one, the latest labelled", got.Labels, len(want))
	}
}

// checkTable: the latest ten windows, latest first, with their counts.
func checkTable(t *testing.T, rows [][]string, minutes []result.Result) {
	t.Helper()
	want := minutes[max(0, len(minutes)-10):]
	if len(rows) != len(want) {
		t.Fatalf("%d table rows, want %d", len(rows), len(want))
	}
	for i, w := range slices.Backward(want) {
		r := rows[len(want)-1-i]
		if r[0] != w.Start.UTC().Format("2006-01-02 15:04")+" UTC" || r[1] != progress.Thousands(w.Users) || r[2] != progress.Thousands(w.Frames) || r[4] != "exact" {
			t.Errorf("table row %q, want %v: %d users, %d frames", r, w.Start, w.Users, w.Frames)
		}
	}
}

// checkCorrections: the corrections, latest first, old → new.
func checkCorrections(t *testing.T, rows [][]string, want []Correction) {
	t.Helper()
	if len(rows) != len(want) {
		t.Fatalf("%d corrections shown, %d in the state", len(rows), len(want))
	}
	for i, c := range slices.Backward(want) {
		r := rows[len(want)-1-i]
		users := progress.Thousands(c.NewUsers)
		if c.OldUsers != nil {
			users = progress.Thousands(*c.OldUsers) + " → " + users
		}
		if !strings.HasPrefix(r[1], users) || r[3] != fmt.Sprint(c.Rev) {
			t.Errorf("correction row %q, want users %q, rev %d", r, users, c.Rev)
		}
	}
	t.Logf("%d corrections shown", len(want))
}

func saveScreenshot(t *testing.T, ctx context.Context) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(artifactDir(t), "dashboard.png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}
