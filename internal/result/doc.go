// Package result defines the output record of headcount (one per window and
// revision) and its JSON form, which is part of the user interface: field
// names and order follow SPEC section 3.
package result
