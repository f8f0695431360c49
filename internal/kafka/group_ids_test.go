package kafka

import (
	"testing"

	"github.com/headcount/headcount/internal/bucket"
)

// Every member numbers the input partitions alike, whatever order it
// learned the topics in: a bucket's state names partitions by these ids.
func TestInputIDs(t *testing.T) {
	a := newInputIDs(map[string]int{"b": 2, "a": 3})
	b := newInputIDs(map[string]int{"a": 3, "b": 2})
	for _, tc := range []struct {
		topic string
		p     int32
		id    int32
		ok    bool
	}{
		{"a", 0, 0, true}, {"a", 2, 2, true}, {"b", 0, 1 << 16, true}, {"b", 1, 1<<16 | 1, true},
		{"c", 0, 0, false}, {"a", -1, 0, false}, {"a", 1 << 16, 0, false},
	} {
		id, ok := a.id(tc.topic, tc.p)
		id2, _ := b.id(tc.topic, tc.p)
		if ok != tc.ok || (ok && (id != tc.id || id2 != id)) {
			t.Errorf("id(%s, %d) = %d, %v (other order %d); want %d, %v", tc.topic, tc.p, id, ok, id2, tc.id, tc.ok)
		}
		if tc.ok {
			if topic, p, ok := a.origin(id); !ok || topic != tc.topic || p != tc.p {
				t.Errorf("origin(%d) = %s, %d, %v; want %s, %d", id, topic, p, ok, tc.topic, tc.p)
			}
		}
	}
	if got := len(a.all()); got != 5 {
		t.Errorf("all() has %d partitions, want 5", got)
	}
	if _, _, ok := a.origin(2 << 16); ok {
		t.Error("origin of a third topic's id found")
	}
}

func TestCovers(t *testing.T) {
	e := func(p int32, o int64) bucket.End { return bucket.End{Topic: "in", Partition: p, Offset: o} }
	for _, tc := range []struct {
		done, want []bucket.End
		ok         bool
	}{
		{[]bucket.End{e(0, 10), e(1, 5)}, []bucket.End{e(0, 10), e(1, 5)}, true},
		{[]bucket.End{e(0, 12), e(1, 5)}, []bucket.End{e(0, 10), e(1, 5)}, true},
		{[]bucket.End{e(0, 9), e(1, 5)}, []bucket.End{e(0, 10), e(1, 5)}, false}, // a member that saw more input
		{[]bucket.End{e(0, 10)}, []bucket.End{e(0, 10), e(1, 5)}, false},         // a partition not done
		{nil, nil, true},
	} {
		if got := covers(tc.done, tc.want); got != tc.ok {
			t.Errorf("covers(%v, %v) = %v, want %v", tc.done, tc.want, got, tc.ok)
		}
	}
}
