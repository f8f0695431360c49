// Package checkpoint keeps a run's state in a file, so that a run of a file
// input killed midway resumes where it stopped with the same results.
//
// A checkpoint holds what the input was (its path, size and a hash of its
// first bytes: resuming against another file is an error, never a wrong
// count), how long each output file was when it was taken (a resumed run
// cuts them back to that length, so results written after the checkpoint
// are not written twice), and the pipeline's state (opaque here). It is
// written to a temporary file, synced, renamed over the old one and the
// folder synced: a crash leaves the old checkpoint or the new one, whole.
// Its bytes end with a checksum, so damage is an error too.
package checkpoint
