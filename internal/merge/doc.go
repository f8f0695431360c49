// Package merge adds up the partial counts of the buckets of a consumer
// group into the results headcount publishes.
//
// Each bucket counts a disjoint share of the users (package bucket), so a
// window's unique users are the sum of the buckets' counts. A window is
// published final once every bucket's watermark has passed its end (each
// bucket has closed it, or never had a user in it), and republished with
// rev+1 whenever a bucket corrects its count. The merge is pure: the Kafka
// side (internal/kafka) feeds it the buckets' records and commits what it
// returns with its state.
package merge
