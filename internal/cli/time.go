package cli

import (
	"fmt"
	"strconv"
	"time"
)

// ParseUnix accepts a time as unix seconds, RFC 3339 or "now", and returns
// unix seconds.
func ParseUnix(s string) (int64, error) {
	if s == "now" {
		return time.Now().Unix(), nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return 0, fmt.Errorf(`%q is not unix seconds, RFC 3339 or "now"`, s)
	}
	return t.Unix(), nil
}
