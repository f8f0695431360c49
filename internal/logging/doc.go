// Package logging holds the one style of every message headcount writes on
// stderr: log/slog records, shown as text for a person ("headcount gen:
// warning: msg key=value") or as JSON for services (one object per line,
// with the command in a cmd attribute). The commands install it as
// slog's default, so the packages that log through slog (Kafka clients,
// the metrics server) write in the same style.
//
// End-of-run summaries are reports for a person, not log lines: Report
// writes them as they are in text and as one record in JSON.
package logging
