// Package sink writes results and dead letters: JSON lines to stdout or a
// file here, Kafka records in package kafka. Each Write is flushed, so a
// reader of a live stream sees a window as soon as it closes.
package sink
