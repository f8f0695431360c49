package main

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/headcount/headcount/internal/testcert"
)

// certs makes the TLS material of scripts/kafka's TLS listeners in dir,
// unless dir already holds a set whose certificates verify for another day
// (kept across broker restarts, so a client that read ca.pem earlier still
// trusts the broker):
//
//	ca.pem          the test CA: what clients trust, and what the MTLS
//	                listener trusts for client certificates
//	broker.pem      the broker's key and certificate chain (for 127.0.0.1,
//	                ::1 and localhost), a Kafka PEM keystore
//	client.pem      a client certificate for the MTLS listener
//	client-key.pem  its key
//
// Here rather than with openssl in the script: the probe verifies with the
// same files, and crypto/x509 needs no tool on the machine. The certificates
// come from internal/testcert, the builder the tests' certificates
// (kafkatest.CA) come from too: EC P-256 keys in PKCS#8, which Java and Go
// both read, valid for ten years. Made in dir.partial and renamed, so an
// interrupted run never leaves half a set.
func certs(args []string, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: kafkaprobe certs DIR")
		return 2
	}
	dir := args[0]
	if certsUsable(dir, time.Now().Add(24*time.Hour)) == nil {
		return 0
	}
	if err := makeCerts(dir, time.Now()); err != nil {
		fmt.Fprintln(stderr, "kafkaprobe certs:", err)
		return 1
	}
	fmt.Fprintf(stderr, "kafkaprobe: made a test CA, a broker and a client certificate in %s\n", dir)
	return 0
}

// certsUsable checks that the broker's and the client's certificates in dir
// verify against its CA at time at, for their use.
func certsUsable(dir string, at time.Time) error {
	ca, err := readCert(filepath.Join(dir, "ca.pem"))
	if err != nil {
		return err
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	for _, c := range []struct {
		file  string
		usage x509.ExtKeyUsage
	}{{"broker.pem", x509.ExtKeyUsageServerAuth}, {"client.pem", x509.ExtKeyUsageClientAuth}} {
		cert, err := readCert(filepath.Join(dir, c.file))
		if err != nil {
			return err
		}
		if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{c.usage}}); err != nil {
			return fmt.Errorf("%s: %w", c.file, err)
		}
	}
	_, err = os.Stat(filepath.Join(dir, "client-key.pem"))
	return err
}

// readCert returns the first certificate of a PEM file.
func readCert(file string) (*x509.Certificate, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	for {
		var blk *pem.Block
		if blk, b = pem.Decode(b); blk == nil {
			return nil, fmt.Errorf("%s: no certificate", file)
		}
		if blk.Type == "CERTIFICATE" {
			return x509.ParseCertificate(blk.Bytes)
		}
	}
}

func makeCerts(dir string, now time.Time) error {
	tmp := dir + ".partial"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	ca, err := testcert.NewCA("headcount test CA "+now.UTC().Format("20060102150405"), now, now.AddDate(10, 0, 0))
	if err != nil {
		return err
	}
	broker, err := ca.Server("127.0.0.1", "::1", "localhost")
	if err != nil {
		return err
	}
	client, err := ca.Client("headcount-client")
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name   string
		mode   os.FileMode
		blocks [][]byte
	}{
		{"ca.pem", 0o644, [][]byte{ca.CertPEM()}},
		{"broker.pem", 0o600, [][]byte{broker.KeyPEM(), broker.CertPEM(), ca.CertPEM()}},
		{"client.pem", 0o644, [][]byte{client.CertPEM()}},
		{"client-key.pem", 0o600, [][]byte{client.KeyPEM()}},
	} {
		if err := os.WriteFile(filepath.Join(tmp, f.name), bytes.Join(f.blocks, nil), f.mode); err != nil {
			return err
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.Rename(tmp, dir)
}
