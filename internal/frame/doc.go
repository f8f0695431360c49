// Package frame extracts the top-level uid and ts from one JSON frame while
// validating the whole frame against RFC 8259 (syntax and UTF-8).
//
// It is the hot path of headcount: a single forward pass, no recursion, no
// allocation, strings skipped eight bytes at a time. A frame counts only if it
// is one complete, valid JSON object with exactly one top-level "uid" (a
// non-empty string) and one top-level "ts" (an integer, or a string of
// digits); anything else is rejected with a Reason. Keys named uid or ts in
// nested objects are skipped like any other value.
package frame
