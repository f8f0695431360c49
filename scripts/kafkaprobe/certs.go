package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
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
// same files, and crypto/x509 needs no tool on the machine. EC P-256 keys in
// PKCS#8, which Java and Go both read. Made in dir.partial and renamed, so an
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
	caKey, caCert, err := issue(&x509.Certificate{
		Subject:               pkix.Name{Organization: []string{"headcount tests"}, CommonName: "headcount test CA " + now.UTC().Format("20060102150405")},
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}, nil, nil, now)
	if err != nil {
		return err
	}
	srvKey, srvCert, err := issue(&x509.Certificate{
		Subject:     pkix.Name{Organization: []string{"headcount tests"}, CommonName: "127.0.0.1"},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:    []string{"localhost"},
	}, caCert, caKey, now)
	if err != nil {
		return err
	}
	cliKey, cliCert, err := issue(&x509.Certificate{
		Subject:     pkix.Name{Organization: []string{"headcount tests"}, CommonName: "headcount-client"},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, caCert, caKey, now)
	if err != nil {
		return err
	}
	cert := func(c *x509.Certificate) *pem.Block { return &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw} }
	key := func(k *ecdsa.PrivateKey) *pem.Block {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			panic(err) // a P-256 key always marshals
		}
		return &pem.Block{Type: "PRIVATE KEY", Bytes: der}
	}
	for _, f := range []struct {
		name   string
		mode   os.FileMode
		blocks []*pem.Block
	}{
		{"ca.pem", 0o644, []*pem.Block{cert(caCert)}},
		{"broker.pem", 0o600, []*pem.Block{key(srvKey), cert(srvCert), cert(caCert)}},
		{"client.pem", 0o644, []*pem.Block{cert(cliCert)}},
		{"client-key.pem", 0o600, []*pem.Block{key(cliKey)}},
	} {
		var out []byte
		for _, b := range f.blocks {
			out = append(out, pem.EncodeToMemory(b)...)
		}
		if err := os.WriteFile(filepath.Join(tmp, f.name), out, f.mode); err != nil {
			return err
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.Rename(tmp, dir)
}

// issue makes a key and a ten-year certificate for it from tmpl, signed by
// parentKey (self-signed when parent is nil).
func issue(tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, now time.Time) (*ecdsa.PrivateKey, *x509.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	if tmpl.SerialNumber, err = rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127)); err != nil {
		return nil, nil, err
	}
	tmpl.NotBefore, tmpl.NotAfter = now.Add(-time.Hour), now.AddDate(10, 0, 0)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return key, cert, err
}
