// Package frametest holds what the tests of several packages need to check
// a frame the way internal/frame must read it: an independent reference
// reader built on encoding/json (Reference), and the nesting depth of valid
// JSON (Depth). frame's FuzzParse and pipeline's FuzzRun compare with the
// same reference, so a rule of docs/SEMANTICS.md is written once for the
// tests too.
//
// It is imported only by tests, and it imports nothing of headcount: frame's
// own (internal) tests import it, which a dependency on frame would make an
// import cycle. Callers compare Depth with frame.MaxDepth themselves.
package frametest
