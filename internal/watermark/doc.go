// Package watermark decides how far event time has progressed: per input
// partition, the largest ts seen minus the allowed lateness; for the
// pipeline, the minimum over partitions that are not idle. The watermark
// never moves back. Windows close when it passes their end.
package watermark
