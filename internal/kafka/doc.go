// Package kafka connects headcount to Apache Kafka with franz-go: a Source of
// batches of frames (record values) for the pipeline, a Sink of results, a
// reader of the results (ResultReader), a dead-letter topic, a bulk loader
// (Producer) for `headcount produce` and the demo, and the admin calls these
// need (topic creation, end offsets, deleting consumed records).
//
// Files by concern:
//
//	config.go             kafka:// URLs and connection settings (brokers, TLS, SASL, client id)
//	source.go             Source: configuration, connecting, Next, Close
//	source_fetch.go       fetch-ahead: the poll goroutine, cutting fetches into batches, interleaving
//	source_untilend.go    --until-end: end offsets at start, which partitions are done; with a group, one member reads all
//	source_assign.go      group assignment callbacks, announcing assigned and revoked partitions
//	source_commit.go      commit marks: offsets of applied batches (MarkApplied)
//	source_partitions.go  the partition registry: dense ids, Origin
//	sink.go               Sink: one record per result, keyed <window>/<start unix>
//	deadletter.go         DeadLetters: rejected frames unchanged, the reason in headers
//	results.go            ResultReader: a result topic read back, decoded with result.Decode
//	producer.go           Producer: JSON lines into a topic, fast (batching, compression)
//	admin.go              topic creation, offset listing, Admin.DeleteCommitted
//	txn.go                Txn: the transaction of an exactly-once source; Save commits at a barrier
//	source_txn.go         exactly-once: the session, barriers, the state restored on assignment
//	state.go              the state topic: a state in chunks, read back read_committed
//
// # Batches and offsets
//
// The source turns each partition of each fetch into one source.Batch (split
// when large), so a batch holds frames of one partition only: the pipeline's
// watermark is tracked per batch partition. Partitions of several topics get
// dense int32 ids in the order they are first seen; Origin maps an id back to
// its topic and partition.
//
// Frames alias the record values that franz-go decoded. franz-go allocates a
// fresh buffer per fetch and never reuses it (no kgo.WithPools here), so the
// slices stay valid for as long as the batch is referenced and need no copy.
//
// Without ExactlyOnce, offsets are committed for what the pipeline has
// applied to its windows and nothing more: the pipeline calls MarkApplied
// after each batch, the source marks the batch's last offset + 1
// (kgo.AutoCommitMarks), franz-go commits the marks every
// AutoCommitInterval, on a rebalance that revokes partitions, and Close
// commits synchronously before leaving the group.
//
// # Exactly once
//
// With ExactlyOnce the client is a kgo.GroupTransactSession. Every
// CommitInterval the fetch loop pauses and sends a barrier batch; the
// pipeline, everything before it applied, calls Txn.Save, which writes the
// pipeline's state to the state topic and commits it with the results,
// dead letters (produced through Txn().Client()) and the consumed offsets in
// one transaction, then lets the loop poll again. On its first assignment
// the source reads the group's committed state and hands it to the pipeline
// (Batch.State) before any frame. See docs/ARCHITECTURE.md.

// # Backfills with a group
//
// Unique counts of different partitions do not add up, so an UntilEnd
// source with a group reads the whole input in one member (see whole in
// source_untilend.go): fetching stays paused until this member is assigned
// every partition (else an error after AssignTimeout names the partitions
// held elsewhere), and a partition revoked before the end is an error.
// Without ExactlyOnce the offsets are committed only in Close after Next
// returned io.EOF, so a failed or killed backfill leaves the group's offsets
// untouched and the next run counts the whole input again; with it, they
// commit with the state at each barrier and a killed backfill goes on.
//
// # Restarts
//
// A killed member keeps its partitions until its session expires (45 s by
// default). SourceConfig.InstanceID (static membership) lets a restarted
// process take the dead member's place at once; SessionTimeout shortens the
// wait for one that is not restarted. KIP-848 (kgo.ServerSideBalancer) was
// measured against Kafka 4.1 and is not used: no faster, and it refuses a
// killed static member's id until the session expires (docs/BENCHMARKS.md).
//
// # Revoked partitions
//
// Without ExactlyOnce, the counts of open windows live in memory only: after
// a crash, or when a rebalance moves a partition to another process, the
// frames of windows that were still open are not re-read, and those windows'
// counts miss them (ExactlyOnce closes that gap with the state it commits).
// A partition revoked from this process stops holding the pipeline's
// watermark back at once: the source's next poll hands the pipeline a
// frameless batch marked Revoked, and the pipeline settles the frames its
// jump guard still held for that partition and forgets the partition (it
// does not wait for --idle).
package kafka
