// Package source turns inputs into batches of frames: JSON lines from files
// and stdin (plain, gzip, zstd) here, Kafka records in package kafka. A batch
// holds many frames from one partition so that the stages after it pay for
// one hand-off per batch, not per frame.
package source
