package frame

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/buger/jsonparser"
	"github.com/minio/simdjson-go"
	"github.com/valyala/fastjson"

	"github.com/headcount/headcount/internal/gen"
)

// benchFrames returns generated frames of the reference shape (~2 KB).
func benchFrames(b *testing.B) [][]byte {
	b.Helper()
	var buf bytes.Buffer
	if _, err := gen.WriteTo(context.Background(), &buf, gen.Config{Count: 2000, Seed: 7}, false); err != nil {
		b.Fatal(err)
	}
	return bytes.Split(bytes.TrimSuffix(buf.Bytes(), []byte("\n")), []byte("\n"))
}

func runBench(b *testing.B, fn func(f []byte) bool) {
	frames := benchFrames(b)
	var total int
	for _, f := range frames {
		total += len(f)
	}
	b.SetBytes(int64(total / len(frames)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if !fn(frames[i%len(frames)]) {
			b.Fatal("frame rejected")
		}
	}
}

// BenchmarkParse is headcount's extractor: full validation, UTF-8 included,
// on each path this machine has (Parse takes the last).
func BenchmarkParse(b *testing.B) {
	for _, pt := range paths() {
		b.Run(pt.String(), func(b *testing.B) {
			var p Parser
			runBench(b, func(f []byte) bool {
				_, _, r := p.parse(f, pt)
				return r == OK
			})
		})
	}
}

// BenchmarkParseTrustProducer stops once uid and ts are found (opt-in).
func BenchmarkParseTrustProducer(b *testing.B) {
	p := Parser{TrustProducer: true}
	runBench(b, func(f []byte) bool {
		_, _, r := p.Parse(f)
		return r == OK
	})
}

// BenchmarkEncodingJSON is the usual approach, done right: a map (struct
// fields match keys case-insensitively, so a decoy "UID" would win), then
// the uid.
func BenchmarkEncodingJSON(b *testing.B) {
	runBench(b, func(f []byte) bool {
		var m map[string]json.RawMessage
		var uid string
		return json.Unmarshal(f, &m) == nil && json.Unmarshal(m["uid"], &uid) == nil && uid != "" && m["ts"] != nil
	})
}

// BenchmarkFastjson parses the whole frame (syntax validated, UTF-8 not).
func BenchmarkFastjson(b *testing.B) {
	var p fastjson.Parser
	runBench(b, func(f []byte) bool {
		v, err := p.ParseBytes(f)
		if err != nil {
			return false
		}
		return len(v.GetStringBytes("uid")) > 0 && v.Get("ts") != nil
	})
}

// BenchmarkFastjsonValidate is fastjson's syntax-only check (no UTF-8, no
// extraction): the speed issue 12 measures Parse against.
func BenchmarkFastjsonValidate(b *testing.B) {
	runBench(b, func(f []byte) bool { return fastjson.ValidateBytes(f) == nil })
}

// BenchmarkSimdjsonGo is minio/simdjson-go (a vector stage 1, then a tape
// of the whole frame), then the two keys. It checks syntax but not UTF-8 (its
// source has no UTF-8 check), so it would not do for headcount.
func BenchmarkSimdjsonGo(b *testing.B) {
	if !simdjson.SupportedCPU() {
		b.Skip("simdjson-go needs AVX2 and CLMUL")
	}
	var sj simdjsonGo
	runBench(b, sj.extract)
}

// simdjsonGo keeps simdjson-go's buffers between frames.
type simdjsonGo struct {
	pj   *simdjson.ParsedJson
	iter simdjson.Iter
	obj  simdjson.Object
	elem simdjson.Element
}

func (s *simdjsonGo) extract(f []byte) bool {
	var err error
	if s.pj, err = simdjson.Parse(f, s.pj, simdjson.WithCopyStrings(false)); err != nil {
		return false
	}
	s.iter = s.pj.Iter()
	s.iter.Advance()
	if _, _, err = s.iter.Root(&s.iter); err != nil {
		return false
	}
	if _, err = s.iter.Object(&s.obj); err != nil {
		return false
	}
	uid := s.obj.FindKey("uid", &s.elem)
	if uid == nil {
		return false
	}
	if u, err := uid.Iter.StringBytes(); err != nil || len(u) == 0 {
		return false
	}
	return s.obj.FindKey("ts", &s.elem) != nil
}

// BenchmarkJsonparser stops reading once both keys are found: nothing after
// them is validated.
func BenchmarkJsonparser(b *testing.B) {
	paths := [][]string{{"uid"}, {"ts"}}
	runBench(b, func(f []byte) bool {
		var uid []byte
		var ts int64
		jsonparser.EachKey(f, func(idx int, v []byte, vt jsonparser.ValueType, err error) {
			switch idx {
			case 0:
				uid = v
			case 1:
				ts, _ = strconv.ParseInt(string(bytes.Trim(v, `"`)), 10, 64)
			}
		}, paths...)
		return len(uid) > 0 && ts != 0
	})
}

// BenchmarkStage1 is the vector scan alone on each vector path: what stage
// 2 (the walk over the structural indexes) adds is BenchmarkParse minus
// this.
func BenchmarkStage1(b *testing.B) {
	for _, pt := range paths()[1:] {
		b.Run(pt.String(), func(b *testing.B) {
			var p Parser
			runBench(b, func(f []byte) bool {
				return p.scan(f, pt)
			})
		})
	}
}
