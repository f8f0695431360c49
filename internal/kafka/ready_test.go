package kafka

import (
	"strings"
	"testing"
)

// NotReady names the first thing a source still waits for, in the order
// they happen: the group's assignment, every partition for an --until-end
// member, the committed state, the first listing of the ends.
func TestNotReady(t *testing.T) {
	a, b := topicPartition{"in", 0}, topicPartition{"in", 1}
	tests := []struct {
		name     string
		group    bool
		joined   bool
		assigned []topicPartition
		until    []topicPartition // an --until-end member's input (whole)
		txn      bool
		restored bool
		listed   bool
		want     string // a part of the reason; "" ready
	}{
		{name: "no group, listed", listed: true},
		{name: "no group, not listed", want: "listing the input's end offsets"},
		{name: "not joined", group: true, listed: true, want: "waiting for group g to assign partitions"},
		{name: "joined", group: true, joined: true, assigned: []topicPartition{a}, listed: true},
		{name: "joined with nothing", group: true, joined: true, listed: true},
		{name: "until-end, one missing", group: true, joined: true, assigned: []topicPartition{a}, until: []topicPartition{a, b}, listed: true,
			want: "waiting to be assigned every partition of the input (1 missing)"},
		{name: "until-end, all", group: true, joined: true, assigned: []topicPartition{a, b}, until: []topicPartition{a, b}, listed: true},
		{name: "state not read", group: true, joined: true, assigned: []topicPartition{a}, txn: true, listed: true, want: "reading the committed state of group g"},
		{name: "state read", group: true, joined: true, assigned: []topicPartition{a}, txn: true, restored: true, listed: true},
		{name: "exactly once, nothing assigned", group: true, joined: true, txn: true, listed: true},
		{name: "state read, not listed", group: true, joined: true, assigned: []topicPartition{a}, txn: true, restored: true, want: "listing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Source{cfg: SourceConfig{Group: "g"}, group: tt.group, joined: tt.joined, assigned: map[topicPartition]bool{}}
			for _, tp := range tt.assigned {
				s.assigned[tp] = true
			}
			if tt.until != nil {
				s.whole, s.until = &whole{}, map[topicPartition]*target{}
				for _, tp := range tt.until {
					s.until[tp] = &target{}
				}
			}
			if tt.txn {
				s.txn = &Txn{}
			}
			s.restored.Store(tt.restored)
			s.lag.listed = tt.listed
			got := s.NotReady()
			if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
				t.Errorf("NotReady() = %q, want %q", got, tt.want)
			}
		})
	}
}
