package version

import (
	"runtime/debug"
	"testing"
)

func TestString(t *testing.T) {
	for _, tc := range []struct {
		name string
		bi   debug.BuildInfo
		want string
	}{
		{"a release", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.time", Value: "2026-12-01T00:00:00Z"}}},
			"headcount v1.2.3 (commit 0123456789ab, 2026-12-01T00:00:00Z, go1.26.8)"},
		{"a checkout with changes", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "true"}}},
			"headcount (devel) (commit abc with uncommitted changes, go1.26.8)"},
		{"no VCS information", debug.BuildInfo{GoVersion: "go1.26.8"}, "headcount (devel) (commit unknown: built without VCS stamping, go1.26.8)"},
		{"nothing", debug.BuildInfo{}, "headcount (devel)"},
	} {
		if got := FromBuildInfo(&tc.bi).String(); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestReadRunningBinary(t *testing.T) {
	in := Read()
	if in.Go == "" || in.Module == "" {
		t.Fatalf("the test binary's build info: %+v", in)
	}
}
