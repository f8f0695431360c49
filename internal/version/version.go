package version

import (
	"fmt"
	"runtime/debug"
	"strings"
)

// Info is what a build says of itself.
type Info struct {
	Module   string // module version: "v1.2.3", or "(devel)" when built from a checkout
	Commit   string // VCS revision, "" when unknown (built without VCS information)
	Time     string // commit time, RFC 3339, "" when unknown
	Modified bool   // the checkout had uncommitted changes
	Go       string // the Go version that built it
}

// Read returns the running binary's build information.
func Read() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Info{Module: "(unknown)"}
	}
	return FromBuildInfo(bi)
}

// FromBuildInfo extracts Info from bi.
func FromBuildInfo(bi *debug.BuildInfo) Info {
	in := Info{Module: bi.Main.Version, Go: bi.GoVersion}
	if in.Module == "" {
		in.Module = "(devel)"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			in.Commit = s.Value
		case "vcs.time":
			in.Time = s.Value
		case "vcs.modified":
			in.Modified = s.Value == "true"
		}
	}
	return in
}

// String is one line: "headcount v1.2.3 (commit abc123def456, 2026-12-01T00:00:00Z, go1.26.8)".
func (in Info) String() string {
	var parts []string
	if in.Commit == "" && in.Go != "" {
		// go build -buildvcs=false (or GOFLAGS with it), or not from a
		// git checkout: say so rather than print nothing.
		parts = append(parts, "commit unknown: built without VCS stamping")
	}
	if in.Commit != "" {
		c := in.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		if in.Modified {
			c += " with uncommitted changes"
		}
		parts = append(parts, "commit "+c)
	}
	if in.Time != "" {
		parts = append(parts, in.Time)
	}
	if in.Go != "" {
		parts = append(parts, in.Go)
	}
	if len(parts) == 0 {
		return "headcount " + in.Module
	}
	return fmt.Sprintf("headcount %s (%s)", in.Module, strings.Join(parts, ", "))
}
