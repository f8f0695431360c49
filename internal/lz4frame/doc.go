// Package lz4frame decodes one LZ4 frame, the format Kafka compresses a
// record batch in, straight into the buffer it returns.
//
// franz-go's own decompressor streams a frame through lz4.Reader into a
// pooled bytes.Buffer and returns a copy of it: two copies of every
// decompressed byte, on the one goroutine per broker that processes fetch
// responses. Here each block is decoded (lz4.UncompressBlock) in place at
// the end of the output, sized from the compression ratio seen so far, and
// the frame's checksums (header, blocks, content) are verified as the LZ4
// frame format defines them. Frames this package does not decode (legacy,
// skippable, linked blocks, dictionaries) are reported as ErrUnsupported,
// for the caller to hand to a general decoder.
package lz4frame
