package kafkatest

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
)

// outcome records how a helper ended a test: like testing.T, Fatalf and
// Skipf stop the calling goroutine.
type outcome struct {
	testing.TB
	fatal, skip string
}

func (o *outcome) Helper() {}
func (o *outcome) Fatalf(format string, args ...any) {
	o.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (o *outcome) Fatal(args ...any) { o.fatal = fmt.Sprint(args...); runtime.Goexit() }
func (o *outcome) Skipf(format string, args ...any) {
	o.skip = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// call runs fn as a test body would run, on its own goroutine.
func call(t *testing.T, fn func(tb testing.TB)) *outcome {
	o := &outcome{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(o)
	}()
	<-done
	return o
}

// TestNoSilentSkip: every way to reach the real broker skips without one,
// and fails instead when HEADCOUNT_REQUIRE_KAFKA=1 (CI).
func TestNoSilentSkip(t *testing.T) {
	helpers := map[string]func(tb testing.TB){
		"Broker":  func(tb testing.TB) { Broker(tb) },
		"Cluster": func(tb testing.TB) { Cluster(tb) },
		"Env":     func(tb testing.TB) { Env(tb, "HEADCOUNT_TEST_KAFKA_TLS") },
	}
	for _, tc := range []struct {
		require   string
		wantFatal bool
	}{
		{"", false},
		{"0", false},
		{"1", true},
	} {
		for name, fn := range helpers {
			t.Run(name+"/require="+tc.require, func(t *testing.T) {
				t.Setenv(EnvRequire, tc.require)
				t.Setenv(EnvBroker, "")
				t.Setenv(EnvCluster, "")
				t.Setenv("HEADCOUNT_TEST_KAFKA_TLS", "")
				o := call(t, fn)
				switch {
				case tc.wantFatal && (o.fatal == "" || o.skip != ""):
					t.Errorf("want a failure; fatal %q, skip %q", o.fatal, o.skip)
				case tc.wantFatal && !strings.Contains(o.fatal, "HEADCOUNT_REQUIRE_KAFKA=1"):
					t.Errorf("failure %q does not say why", o.fatal)
				case !tc.wantFatal && (o.skip == "" || o.fatal != ""):
					t.Errorf("want a skip; fatal %q, skip %q", o.fatal, o.skip)
				}
			})
		}
	}
}

// TestFound: with the variables set, the helpers return what they name.
func TestFound(t *testing.T) {
	t.Setenv(EnvRequire, "1")
	t.Setenv(EnvBroker, "127.0.0.1:1,127.0.0.1:2")
	t.Setenv(EnvCluster, "127.0.0.1:3,127.0.0.1:4,127.0.0.1:5")
	if got := Broker(t).Brokers; strings.Join(got, " ") != "127.0.0.1:1 127.0.0.1:2" {
		t.Errorf("Broker: %v", got)
	}
	if got := Cluster(t).Brokers; strings.Join(got, " ") != "127.0.0.1:3 127.0.0.1:4 127.0.0.1:5" {
		t.Errorf("Cluster: %v", got)
	}
	t.Setenv(EnvCluster, "127.0.0.1:3,127.0.0.1:4")
	if o := call(t, func(tb testing.TB) { Cluster(tb) }); !strings.Contains(o.fatal, "2 brokers, want 3") {
		t.Errorf("a two-broker cluster: fatal %q", o.fatal)
	}
}

// TestCA: the server certificate verifies against its CA file for its
// hosts and not for others, and a client certificate verifies against its
// own CA only.
func TestCA(t *testing.T) {
	ca, other := NewCA(t, "test CA"), NewCA(t, "other CA")
	pool := func(ca *CA) *x509.CertPool {
		data, err := os.ReadFile(ca.File(t))
		if err != nil {
			t.Fatal(err)
		}
		p := x509.NewCertPool()
		if !p.AppendCertsFromPEM(data) {
			t.Fatal("CA file holds no certificate")
		}
		return p
	}
	server := ca.Server(t, "127.0.0.1", "localhost")
	leaf, err := x509.ParseCertificate(server.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	clientFile, keyFile := ca.ClientFiles(t, "client")
	if _, err := tls.LoadX509KeyPair(clientFile, keyFile); err != nil {
		t.Fatalf("client files: %v", err)
	}
	clientPEM, err := os.ReadFile(clientFile)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(clientPEM)
	client, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		cert  *x509.Certificate
		opts  x509.VerifyOptions
		valid bool
	}{
		{"server by IP", leaf, x509.VerifyOptions{Roots: pool(ca), DNSName: "127.0.0.1"}, true},
		{"server by name", leaf, x509.VerifyOptions{Roots: pool(ca), DNSName: "localhost"}, true},
		{"server, other host", leaf, x509.VerifyOptions{Roots: pool(ca), DNSName: "example.com"}, false},
		{"server, other CA", leaf, x509.VerifyOptions{Roots: pool(other), DNSName: "127.0.0.1"}, false},
		{"client", client, x509.VerifyOptions{Roots: pool(ca), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, true},
		{"client, other CA", client, x509.VerifyOptions{Roots: pool(other), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.cert.Verify(tc.opts); (err == nil) != tc.valid {
				t.Errorf("verify: %v, want valid %v", err, tc.valid)
			}
		})
	}
}
