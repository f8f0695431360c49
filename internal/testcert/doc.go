// Package testcert is the one builder of throw-away TLS certificates: a CA
// and the server and client certificates it signs. Two users share it:
//
//   - internal/kafkatest wraps it for tests (kafkatest.CA: files in
//     t.TempDir, failures as t.Fatal), for kfake's TLS listener and for
//     certificates the real broker must refuse;
//   - scripts/kafkaprobe `certs` writes with it the CA, the broker's PEM
//     keystore and the client certificate of the TLS listeners that
//     scripts/kafka starts.
//
// A package of its own rather than a part of kafkatest: the probe is a
// command, and kafkatest brings the testing package and kfake with it. This
// package imports nothing but the standard library and returns errors
// instead of failing a test.
//
// Every key is EC P-256, written as PKCS#8, which Java and Go both read.
// Every certificate has a random 127-bit serial, the organization "headcount
// tests", and is valid from an hour before the time its CA was made with
// (clocks a little behind) until the CA's end.
package testcert
