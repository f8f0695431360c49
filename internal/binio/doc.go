// Package binio reads the binary forms of checkpointed state (windows,
// watermarks) without ever panicking: every read is bounds-checked and the
// first failure sticks, so a decoder reads on and checks Err once.
package binio
