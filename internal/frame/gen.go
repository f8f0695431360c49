package frame

// The amd64 stage 1 is generated with avo by the module in _asm (its own
// go.mod, so avo is not a dependency of headcount); the output is committed.
//go:generate sh -c "cd _asm && go run . -out ../stage1_amd64.s -stubs ../stage1_stub_amd64.go -pkg frame"
