// Package watermark decides how far event time has progressed: per input
// partition, the largest trustworthy ts seen minus the allowed lateness; for
// the pipeline, the minimum over partitions that are not idle. The watermark
// never moves back. Windows close when it passes their end.
//
// Files: config.go (Config, its defaults and validation), partition.go (one
// partition's clock), guard.go (the jump guard against bogus timestamps),
// watermark.go (Tracker: the minimum over partitions), snapshot.go.
// Package eventtime drives all of it; nothing else should.
package watermark
