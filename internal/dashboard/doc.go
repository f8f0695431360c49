// Package dashboard serves a live page of headcount's results: the latest
// revision of the recent windows of each kind as a chart and a table,
// throughput, rejects by reason, the latest dead letters and corrections,
// and the pipeline's counters, refreshed every second from a JSON endpoint
// (/api/state). The Board sees results and dead letters through tees of the
// pipeline's sink and dead letters, and the stats through Observe. The page
// is embedded in the binary (one static file, no external assets: its users
// may have no internet); TestBrowser checks it in a real browser.
package dashboard
