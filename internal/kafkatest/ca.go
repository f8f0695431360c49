package kafkatest

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/headcount/headcount/internal/testcert"
)

// CA is a throw-away certificate authority for TLS tests: it signs server
// and client certificates valid for an hour around now. It is
// internal/testcert's CA (the one certificate builder, which scripts/kafka's
// broker certificates come from too) with files in the test's temporary
// directories and failures as t.Fatal.
type CA struct {
	ca *testcert.CA
}

// NewCA makes a self-signed CA named name.
func NewCA(t testing.TB, name string) *CA {
	t.Helper()
	now := time.Now()
	ca, err := testcert.NewCA(name, now, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return &CA{ca: ca}
}

// File writes the CA certificate as PEM (what --tls-ca reads) and returns
// its path.
func (ca *CA) File(t testing.TB) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "ca.pem")
	writeFile(t, f, ca.ca.CertPEM())
	return f
}

// Server returns a server certificate signed by the CA for hosts (IP
// addresses or DNS names), ready for a tls.Config.
func (ca *CA) Server(t testing.TB, hosts ...string) tls.Certificate {
	t.Helper()
	c, err := ca.ca.Server(hosts...)
	if err != nil {
		t.Fatal(err)
	}
	return ca.ca.TLS(c)
}

// ClientFiles writes a client certificate named name, signed by the CA,
// and its private key as PEM files (what --tls-cert and --tls-key read).
func (ca *CA) ClientFiles(t testing.TB, name string) (certFile, keyFile string) {
	t.Helper()
	c, err := ca.ca.Client(name)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "client.pem"), filepath.Join(dir, "client-key.pem")
	writeFile(t, certFile, c.CertPEM())
	writeFile(t, keyFile, c.KeyPEM())
	return certFile, keyFile
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
