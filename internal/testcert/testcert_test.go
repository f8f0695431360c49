package testcert

import (
	"crypto/tls"
	"crypto/x509"
	"testing"
	"time"
)

// TestIssue: what the CA issues verifies against it for its use, at any
// time from an hour before now until the CA's end and at no other, and its
// PEM blocks load as a key pair.
func TestIssue(t *testing.T) {
	now := time.Now()
	end := now.Add(48 * time.Hour)
	ca, err := NewCA("test CA", now, end)
	if err != nil {
		t.Fatal(err)
	}
	if !ca.Cert.IsCA || !ca.Cert.MaxPathLenZero || ca.Cert.Subject.Organization[0] != Organization {
		t.Fatalf("CA certificate: IsCA %v, MaxPathLenZero %v, subject %v", ca.Cert.IsCA, ca.Cert.MaxPathLenZero, ca.Cert.Subject)
	}
	server, err := ca.Server("127.0.0.1", "::1", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	client, err := ca.Client("client")
	if err != nil {
		t.Fatal(err)
	}
	if server.Cert.Subject.CommonName != "127.0.0.1" || len(server.Cert.IPAddresses) != 2 || len(server.Cert.DNSNames) != 1 {
		t.Errorf("server certificate: %v, IPs %v, names %v", server.Cert.Subject, server.Cert.IPAddresses, server.Cert.DNSNames)
	}
	if server.Cert.SerialNumber.Cmp(client.Cert.SerialNumber) == 0 {
		t.Errorf("two certificates with serial %v", server.Cert.SerialNumber)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	at := func(c *KeyPair, host string, usage x509.ExtKeyUsage, when time.Time) error {
		_, err := c.Cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: host, CurrentTime: when, KeyUsages: []x509.ExtKeyUsage{usage}})
		return err
	}
	for _, when := range []time.Time{now.Add(-59 * time.Minute), now, end.Add(-time.Minute)} {
		for _, host := range []string{"127.0.0.1", "::1", "localhost"} {
			if err := at(server, host, x509.ExtKeyUsageServerAuth, when); err != nil {
				t.Errorf("server for %s at %v: %v", host, when, err)
			}
		}
		if err := at(client, "", x509.ExtKeyUsageClientAuth, when); err != nil {
			t.Errorf("client at %v: %v", when, err)
		}
	}
	for _, when := range []time.Time{now.Add(-61 * time.Minute), end.Add(time.Minute)} {
		if at(server, "localhost", x509.ExtKeyUsageServerAuth, when) == nil || at(client, "", x509.ExtKeyUsageClientAuth, when) == nil {
			t.Errorf("valid at %v", when)
		}
	}
	if at(server, "example.com", x509.ExtKeyUsageServerAuth, now) == nil || at(client, "", x509.ExtKeyUsageServerAuth, now) == nil {
		t.Error("valid for another host or use")
	}
	for _, c := range []*KeyPair{&ca.KeyPair, server, client} {
		if _, err := tls.X509KeyPair(c.CertPEM(), c.KeyPEM()); err != nil {
			t.Errorf("%s: %v", c.Cert.Subject.CommonName, err)
		}
	}
	if chain := ca.TLS(server); len(chain.Certificate) != 2 || string(chain.Certificate[1]) != string(ca.Cert.Raw) {
		t.Error("TLS: not the certificate and the CA's")
	}
}
