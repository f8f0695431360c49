package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/headcount/headcount/internal/frame"
	"github.com/headcount/headcount/internal/frame/frametest"
	"github.com/headcount/headcount/internal/result"
	"github.com/headcount/headcount/internal/source"
)

// fuzzMaxFrame is the line limit of FuzzRun's source.
const fuzzMaxFrame = 4096

// FuzzRun sends any bytes through the whole pipeline with the run
// command's defaults, in the default mode and in the trusting mode
// (Config.TrustProducer), and checks the outcome line by line against an
// independent reading of the same bytes with encoding/json:
//
//   - every line is counted or rejected, never both, never twice;
//   - a line the reference rejects is rejected with a reason of the parser
//     (too-large exactly for lines over the limit), never counted;
//   - a line the reference accepts is counted, or rejected only for its
//     time (bogus-ts, too-late);
//   - the latest revision of each minute equals a map count of the counted
//     lines' uids (users) and lines (frames), and each minute's revisions
//     are 1, 2, ... in order;
//   - the trusting mode rejects for parsing a subset of what the default
//     mode rejects: every line the default mode accepts it accepts too.
func FuzzRun(f *testing.F) {
	f.Add([]byte("{\"uid\":\"a\",\"ts\":1468244384}\n{\"uid\":\"b\",\"ts\":1468244450}\n"))
	f.Add([]byte("{\"uid\":\"a\",\"ts\":1468244384}\n{\"uid\":\"a\",\"ts\":9468244384}\ngarbage\n\n{\"uid\":\"b\",\"ts\":\"1468244300\"}"))
	f.Add([]byte("{\"uid\":\"a\",\"ts\":-1}\n{\"uid\":\"\\u0000\",\"ts\":1468244384}\n"))
	// Late frames (corrections), one beyond --keep (too-late), and frames
	// the trusting mode counts but the default mode rejects.
	f.Add([]byte("{\"uid\":\"a\",\"ts\":1468244384}\n{\"uid\":\"b\",\"ts\":1468244390}\n{\"uid\":\"c\",\"ts\":1468244395}\n" +
		"{\"uid\":\"d\",\"ts\":1468244500}\n{\"uid\":\"e\",\"ts\":1468244385}\n{\"uid\":\"f\",\"ts\":1468236000}\n" +
		"{\"uid\":\"g\",\"ts\":1468244501,\"x\":[1,\n{\"ts\":1468244502,\"uid\":\"h\",\"uid\":\"i\"}\r\n" +
		"{\"uid\":\"j\",\"ts\":1468244503,\"k\":\"\xff\"}\n{\"uid\":\"k\",\"x\":1,\"ts\":\"1468244504\",}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := splitLines(data)
		outcomes := map[bool]map[int64]frame.Reason{}
		for _, trust := range []bool{false, true} {
			outcomes[trust] = checkRun(t, data, lines, trust)
		}
		// Parse rejects of the trusting mode are a subset of the default
		// mode's.
		for off, r := range outcomes[true] {
			if parseReason(r) && !parseReason(outcomes[false][off]) {
				t.Errorf("line %d %q: rejected %v in the trusting mode, %v (0: counted) in the default mode", off, lines[off], r, outcomes[false][off])
			}
		}
	})
}

// parseReason says r rejects a frame for what it holds, not for its time.
func parseReason(r frame.Reason) bool {
	return r != frame.OK && r != frame.BogusTS && r != frame.TooLate
}

// deadLog records the dead letters of a run by offset.
type deadLog struct {
	t       *testing.T
	reasons map[int64]frame.Reason
}

func (d *deadLog) Reject(partition int32, off int64, _ []byte, r frame.Reason) error {
	if partition != 0 {
		d.t.Errorf("dead letter of partition %d: a file is partition 0", partition)
	}
	if prev, ok := d.reasons[off]; ok {
		d.t.Errorf("line %d rejected twice: %v, then %v", off, prev, r)
	}
	d.reasons[off] = r
	return nil
}

// checkRun runs data through the pipeline and checks it line by line (see
// FuzzRun). It returns each line's reason (frame.OK: counted).
func checkRun(t *testing.T, data []byte, lines [][]byte, trust bool) map[int64]frame.Reason {
	t.Helper()
	mode := map[bool]string{false: "default", true: "trusting"}[trust]
	var c collect
	dead := &deadLog{t: t, reasons: map[int64]frame.Reason{}}
	cfg := defaults()
	cfg.TrustProducer = trust
	cfg.Dead = dead
	st, err := Run(context.Background(), source.NewLines(bytes.NewReader(data), source.MaxFrame(fuzzMaxFrame), source.ChunkSize(16<<10)), &c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if st.Frames != uint64(len(lines)) || st.Counted+st.RejectedTotal() != st.Frames || st.RejectedTotal() != uint64(len(dead.reasons)) {
		t.Fatalf("%s: %d lines; stats: frames %d, counted %d, rejected %d; %d dead letters", mode, len(lines), st.Frames, st.Counted, st.RejectedTotal(), len(dead.reasons))
	}

	type minute struct {
		users  map[string]bool
		frames uint64
	}
	want := map[int64]*minute{}
	outcome := make(map[int64]frame.Reason, len(lines))
	for i, line := range lines {
		off := int64(i)
		r, isDead := dead.reasons[off]
		outcome[off] = r
		if len(line) > fuzzMaxFrame {
			if r != frame.TooLarge {
				t.Errorf("%s: line %d (%d bytes, over the limit): %v, want too-large", mode, off, len(line), r)
			}
			continue
		}
		uid, ts, ok := referenceFrame(line, trust)
		switch {
		case !ok && !parseReason(r):
			t.Errorf("%s: line %d %q: the reference rejects it, the pipeline says %v (0: counted)", mode, off, line, r)
		case ok && isDead && parseReason(r):
			t.Errorf("%s: line %d %q: the reference reads uid %q ts %d, the pipeline rejects it as %v", mode, off, line, uid, ts, r)
		case ok && !isDead:
			start := ts - ts%60 // counted frames are after --min-ts, so positive
			w := want[start]
			if w == nil {
				w = &minute{users: map[string]bool{}}
				want[start] = w
			}
			w.users[uid] = true
			w.frames++
		}
	}
	for off := range dead.reasons {
		if off < 0 || off >= int64(len(lines)) {
			t.Errorf("%s: dead letter at offset %d of %d lines", mode, off, len(lines))
		}
	}

	latest := map[int64]result.Result{}
	var counted uint64
	for _, r := range c.rs {
		s := r.Start.Unix()
		prev := latest[s]
		switch {
		case r.Window != "minute" || !r.Final || !r.Exact:
			t.Errorf("%s: result %+v: want final exact minutes only", mode, r)
		case r.Users == 0 || r.Users > r.Frames || !r.End.After(r.Start):
			t.Errorf("%s: inconsistent result %+v", mode, r)
		case r.Rev != prev.Rev+1:
			t.Errorf("%s: minute %d: rev %d after rev %d", mode, s, r.Rev, prev.Rev)
		case r.Frames < prev.Frames || r.Users < prev.Users:
			t.Errorf("%s: minute %d: rev %d counts less than rev %d: %+v, %+v", mode, s, r.Rev, prev.Rev, r, prev)
		}
		latest[s] = r
	}
	for s, w := range want {
		counted += w.frames
		r, ok := latest[s]
		if !ok || r.Users != uint64(len(w.users)) || r.Frames != w.frames {
			t.Errorf("%s: minute %d: latest result %+v, want %d users, %d frames", mode, s, r, len(w.users), w.frames)
		}
	}
	if len(latest) != len(want) {
		t.Errorf("%s: results for %d minutes, want %d", mode, len(latest), len(want))
	}
	if st.Counted != counted {
		t.Errorf("%s: %d counted, the reference counts %d", mode, st.Counted, counted)
	}
	return outcome
}

// splitLines cuts data into lines as a file is read: at each \n, the last
// line without one, a trailing \r removed.
func splitLines(data []byte) [][]byte {
	if len(data) == 0 {
		return nil
	}
	lines := bytes.Split(data, []byte("\n"))
	if len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	for i, l := range lines {
		lines[i] = bytes.TrimSuffix(l, []byte("\r"))
	}
	return lines
}

// referenceFrame reads a line as the documented rules say, with
// encoding/json (docs/SEMANTICS.md: what a frame is). In the trusting mode
// the frame is read up to the first top-level comma after exactly one uid
// and one ts: that prefix, closed, is what must be valid.
func referenceFrame(line []byte, trust bool) (uid string, ts int64, ok bool) {
	if trust {
		if cut, found := trustedPrefix(line); found {
			line = append(line[:cut:cut], '}')
		}
	}
	if frametest.Depth(line) > frame.MaxDepth {
		return "", 0, false
	}
	return frametest.Reference(line)
}

// trustedPrefix returns where a trusting reader stops: the end of the
// top-level member after which exactly one uid and one ts have been seen,
// when a comma follows it. found is false when the frame is read to its end
// (the pair completes on the last member, never completes, or the frame
// breaks before).
func trustedPrefix(line []byte) (cut int, found bool) {
	dec := json.NewDecoder(bytes.NewReader(line))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return 0, false
	}
	nUID, nTS := 0, 0
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return 0, false
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return 0, false
		}
		switch key {
		case "uid":
			nUID++
		case "ts":
			nTS++
		}
		end := int(dec.InputOffset())
		next := bytes.TrimLeft(line[end:], " \t\r\n")
		if nUID == 1 && nTS == 1 && len(next) > 0 && next[0] == ',' {
			return end, true
		}
	}
	return 0, false
}

// TestFuzzRunReference checks FuzzRun's reference on lines whose outcome
// is known, so that the fuzz target compares with something right.
func TestFuzzRunReference(t *testing.T) {
	for _, tc := range []struct {
		line           string
		okDefault      bool
		okTrust        bool
		wantUID        string
		wantTS         int64
		wantTrustedCut int // 0: read to the end
	}{
		{`{"uid":"a","ts":5}`, true, true, "a", 5, 0},
		{`{"uid":"a","ts":5,"x":[1,`, false, true, "a", 5, len(`{"uid":"a","ts":5`)},
		{`{"ts":"7" , "uid":"\u0062","uid":"c"}`, false, true, "b", 7, len(`{"ts":"7" , "uid":"\u0062"`)},
		{`{"uid":"a","uid":"b","ts":5,"x":1}`, false, false, "", 0, 0},
		{"{\"uid\":\"a\",\"ts\":5,\"x\":\"\xff\"}", false, true, "a", 5, len(`{"uid":"a","ts":5`)},
		{"{\"uid\":\"\xff\",\"ts\":5,\"x\":1}", false, false, "", 0, len(`{"uid":"?","ts":5`)},
		{`{"x":{"uid":"n","ts":1},"uid":"y","ts":3}`, true, true, "y", 3, 0},
		{`{"uid":"a","ts":1.5,"x":1}`, false, false, "", 0, len(`{"uid":"a","ts":1.5`)},
		{`{"uid":"","ts":1,"x":1}`, false, false, "", 0, len(`{"uid":"","ts":1`)},
		{`   `, false, false, "", 0, 0},
		{`[1]`, false, false, "", 0, 0},
		{`{"uid":"a","ts":5}x`, false, false, "", 0, 0},
		{strings.Repeat("[", 1025) + strings.Repeat("]", 1025), false, false, "", 0, 0},
		{`{"d":` + strings.Repeat("[", 1024) + strings.Repeat("]", 1024) + `,"uid":"a","ts":1}`, false, false, "", 0, 0},
		{`{"d":` + strings.Repeat("[", 1023) + strings.Repeat("]", 1023) + `,"uid":"a","ts":1}`, true, true, "a", 1, 0},
	} {
		name := tc.line
		if len(name) > 40 {
			name = name[:40]
		}
		t.Run(name, func(t *testing.T) {
			if cut, found := trustedPrefix([]byte(tc.line)); (found && cut != tc.wantTrustedCut) || (!found && tc.wantTrustedCut != 0) {
				t.Errorf("trusted prefix %d (found %v), want %d", cut, found, tc.wantTrustedCut)
			}
			for _, trust := range []bool{false, true} {
				want := map[bool]bool{false: tc.okDefault, true: tc.okTrust}[trust]
				uid, ts, ok := referenceFrame([]byte(tc.line), trust)
				if ok != want || (ok && (uid != tc.wantUID || ts != tc.wantTS)) {
					t.Errorf("trust %v: %q %d %v, want %q %d %v", trust, uid, ts, ok, tc.wantUID, tc.wantTS, want)
				}
				// The parser agrees (FuzzParse checks the default mode
				// at length; this pins the trusting reading).
				p := frame.Parser{TrustProducer: trust}
				puid, pts, r := p.Parse([]byte(tc.line))
				if (r == frame.OK) != want || (want && (string(puid) != uid || pts != ts)) {
					t.Errorf("trust %v: the parser says %q %d %v", trust, puid, pts, r)
				}
			}
		})
	}
}

// TestSplitLines: the reference splits lines as source.Lines does.
func TestSplitLines(t *testing.T) {
	for _, data := range []string{"", "a", "a\n", "a\r\nb", "\n\n", "a\r\r\n\r", "x\ny\n\n"} {
		var got [][]byte
		src := source.NewLines(bytes.NewReader([]byte(data)), source.ChunkSize(64))
		for {
			b, err := src.Next(context.Background())
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range b.Frames {
				got = append(got, bytes.Clone(f))
			}
			b.Release()
		}
		if want := splitLines([]byte(data)); fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
			t.Errorf("%q: source.Lines %q, splitLines %q", data, got, want)
		}
	}
}
