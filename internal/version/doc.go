// Package version tells which headcount this is: the module version, the
// commit it was built from and the Go that built it, read from the build
// information the Go toolchain embeds in every binary (runtime/debug), so
// that no release step has to stamp it.
package version
