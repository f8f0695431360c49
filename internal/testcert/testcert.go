package testcert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"time"
)

// Organization is the organization of every certificate made here.
const Organization = "headcount tests"

// A KeyPair is a certificate and its private key.
type KeyPair struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
}

// CertPEM returns the certificate as a PEM block.
func (c *KeyPair) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Cert.Raw})
}

// KeyPEM returns the private key as a PKCS#8 PEM block.
func (c *KeyPair) KeyPEM() []byte {
	der, err := x509.MarshalPKCS8PrivateKey(c.Key)
	if err != nil {
		panic(err) // a P-256 key always marshals
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// A CA is a self-signed certificate authority. What it issues is valid as
// long as the CA is.
type CA struct {
	KeyPair
}

// NewCA makes a CA named name, valid from an hour before now until
// notAfter.
func NewCA(name string, now, notAfter time.Time) (*CA, error) {
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              notAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	c, err := issue(tmpl, nil)
	if err != nil {
		return nil, err
	}
	return &CA{KeyPair: *c}, nil
}

// Server issues a server certificate for hosts (IP addresses or DNS
// names; at least one), named after the first.
func (ca *CA) Server(hosts ...string) (*KeyPair, error) {
	tmpl := ca.leaf(hosts[0], x509.ExtKeyUsageServerAuth)
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	return issue(tmpl, ca)
}

// Client issues a client certificate named name.
func (ca *CA) Client(name string) (*KeyPair, error) {
	return issue(ca.leaf(name, x509.ExtKeyUsageClientAuth), ca)
}

// TLS returns c with the CA's certificate after it, ready for a tls.Config.
func (ca *CA) TLS(c *KeyPair) tls.Certificate {
	return tls.Certificate{Certificate: [][]byte{c.Cert.Raw, ca.Cert.Raw}, PrivateKey: c.Key}
}

// leaf is the template of a certificate named name for usage, valid as
// long as the CA.
func (ca *CA) leaf(name string, usage x509.ExtKeyUsage) *x509.Certificate {
	return &x509.Certificate{
		Subject:     pkix.Name{CommonName: name},
		NotBefore:   ca.Cert.NotBefore,
		NotAfter:    ca.Cert.NotAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{usage},
	}
}

// issue makes a key and a certificate for it from tmpl, with a random
// serial and the organization, signed by ca (self-signed when ca is nil).
func issue(tmpl *x509.Certificate, ca *CA) (*KeyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	if tmpl.SerialNumber, err = rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127)); err != nil {
		return nil, err
	}
	tmpl.Subject.Organization = []string{Organization}
	parent, parentKey := tmpl, key
	if ca != nil {
		parent, parentKey = ca.Cert, ca.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &KeyPair{Cert: cert, Key: key}, nil
}
