//go:build !amd64

package frame

// paths lists the paths this CPU can take: stage 1 is written for amd64
// only.
func paths() []path { return []path{pathScalar} }

func stage1(path, []byte, []uint32) int { return -1 }

func stage1Line(path, []byte, []uint32) (int, int, bool) { return 0, 0, false }
