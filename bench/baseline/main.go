// Command baseline is the usual way to count unique users per minute in Go:
// bufio.Scanner, encoding/json into a struct, a map of sets. The benchmark
// harness runs it beside headcount on the same file, so the ratio of the
// two is measured on the same machine at the same time.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/headcount/headcount/internal/source"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: baseline FILE")
		os.Exit(2)
	}
	in, err := source.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer in.Close()
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	users := map[int64]map[string]struct{}{}
	bad := 0
	for sc.Scan() {
		// A map, not a struct: struct fields match keys case-insensitively,
		// so a decoy key "UID" would be taken for uid.
		var f map[string]json.RawMessage
		var uid string
		if json.Unmarshal(sc.Bytes(), &f) != nil || json.Unmarshal(f["uid"], &uid) != nil {
			bad++
			continue
		}
		ts, err := strconv.ParseInt(strings.Trim(string(f["ts"]), `"`), 10, 64)
		if err != nil {
			bad++
			continue
		}
		m := ts - ts%60
		if users[m] == nil {
			users[m] = map[string]struct{}{}
		}
		users[m][uid] = struct{}{}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var mins []int64
	for m := range users {
		mins = append(mins, m)
	}
	sort.Slice(mins, func(i, j int) bool { return mins[i] < mins[j] })
	for _, m := range mins {
		fmt.Printf("%d %d\n", m, len(users[m]))
	}
	fmt.Fprintf(os.Stderr, "baseline: %d rejected\n", bad)
}
