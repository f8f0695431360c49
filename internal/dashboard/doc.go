// Package dashboard serves a live page of headcount's results: the latest
// revision of the recent windows of each kind, a chart of users per window,
// and the pipeline's counters, refreshed every second from a JSON endpoint.
// The page is embedded in the binary (one static file, no external assets).
package dashboard
