// Package bucket holds what the members of a consumer group send each other
// to count unique users together (see docs/ARCHITECTURE.md, "Several
// members"): which bucket a user belongs to, the packed frames a member sends
// to a bucket's counter, the partial counts a bucket's counter sends to the
// merge, and the merge's "done" record that ends an --until-end run.
//
// A user is in exactly one bucket, so the buckets count disjoint sets of
// users and the merge adds their counts: exact, with no set shipped. The
// formats are binary, versioned, and decoded without trusting a length:
// another program could write to these topics.
package bucket
