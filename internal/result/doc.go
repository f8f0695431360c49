// Package result defines the output record of headcount (one per window and
// revision) and its JSON form, which is part of the user interface: field
// names and order are fixed (the README shows the format).
package result
