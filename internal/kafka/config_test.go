package kafka

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		in      string
		brokers []string
		topics  []string
		err     string // substring of the error; "" for success
	}{
		{in: "kafka://localhost:9092/events", brokers: []string{"localhost:9092"}, topics: []string{"events"}},
		{in: "kafka://localhost/events", brokers: []string{"localhost:9092"}, topics: []string{"events"}},
		{in: "KAFKA://h1:1,h2:2,h3/a,b.c,d_e-f", brokers: []string{"h1:1", "h2:2", "h3:9092"}, topics: []string{"a", "b.c", "d_e-f"}},
		{in: "kafka://[::1]:9093/t", brokers: []string{"[::1]:9093"}, topics: []string{"t"}},
		{in: "kafka://[::1]/t", brokers: []string{"[::1]:9092"}, topics: []string{"t"}},
		{in: "kafka://10.0.0.1:9092", brokers: []string{"10.0.0.1:9092"}},
		{in: "kafka://10.0.0.1:9092/", brokers: []string{"10.0.0.1:9092"}},
		{in: "file.jsonl", err: "must start with kafka://"},
		{in: "kafka:///t", err: "empty broker"},
		{in: "kafka://h1,,h2/t", err: "empty broker"},
		{in: "kafka://h:0/t", err: "port must be"},
		{in: "kafka://h:99999/t", err: "port must be"},
		{in: "kafka://h:x/t", err: "port must be"},
		{in: "kafka://::1/t", err: "in brackets"},
		{in: "kafka://[::1/t", err: "missing ]"},
		{in: "kafka://[nothost]:1/t", err: "not an IP"},
		{in: "kafka://:9092/t", err: "empty host"},
		{in: "kafka://user:pw@h/t", err: "no credentials"},
		{in: "kafka://h/t?group=g", err: "no ?options"},
		{in: "kafka://h/a,,b", err: "empty topic"},
		{in: "kafka://h/a b", err: "only letters"},
		{in: "kafka://h/..", err: "not allowed"},
		{in: "kafka://h/" + strings.Repeat("x", 250), err: "longer than 249"},
	}
	for _, tt := range tests {
		u, err := ParseURL(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseURL(%q) = %v, %v; want error containing %q", tt.in, u, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseURL(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(u.Brokers, tt.brokers) || !reflect.DeepEqual(u.Topics, tt.topics) {
			t.Errorf("ParseURL(%q) = %q %q, want %q %q", tt.in, u.Brokers, u.Topics, tt.brokers, tt.topics)
		}
	}
}

func TestIsURL(t *testing.T) {
	for in, want := range map[string]bool{"kafka://h/t": true, "Kafka://h": true, "-": false, "kafka:/h": false, "k": false, "/tmp/kafka://x": false} {
		if got := IsURL(in); got != want {
			t.Errorf("IsURL(%q) = %v", in, got)
		}
	}
}

func TestConfigOpts(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	os.WriteFile(notPEM, []byte("not a certificate"), 0o600)
	tests := []struct {
		name string
		cfg  Config
		err  string
	}{
		{"plain", Config{Brokers: []string{"h:1"}}, ""},
		{"no brokers", Config{}, "no broker"},
		{"sasl plain", Config{Brokers: []string{"h:1"}, SASL: SASL{Mechanism: "PLAIN", User: "u", Password: "p"}}, ""},
		{"sasl scram-256", Config{Brokers: []string{"h:1"}, SASL: SASL{Mechanism: "scram-sha-256", User: "u", Password: "p"}}, ""},
		{"sasl scram-512", Config{Brokers: []string{"h:1"}, SASL: SASL{Mechanism: "scram-sha-512", User: "u", Password: "p"}}, ""},
		{"sasl unknown", Config{Brokers: []string{"h:1"}, SASL: SASL{Mechanism: "gssapi", User: "u", Password: "p"}}, "want plain"},
		{"sasl no password", Config{Brokers: []string{"h:1"}, SASL: SASL{Mechanism: "plain", User: "u"}}, "needs a user and a password"},
		{"sasl user without mechanism", Config{Brokers: []string{"h:1"}, SASL: SASL{User: "u"}}, "no mechanism"},
		{"tls", Config{Brokers: []string{"h:1"}, TLS: TLS{Enable: true}}, ""},
		{"tls insecure", Config{Brokers: []string{"h:1"}, TLS: TLS{InsecureSkipVerify: true}}, ""},
		{"tls missing ca", Config{Brokers: []string{"h:1"}, TLS: TLS{CAFile: filepath.Join(dir, "missing.pem")}}, "CA file"},
		{"tls bad ca", Config{Brokers: []string{"h:1"}, TLS: TLS{CAFile: notPEM}}, "no PEM certificate"},
		{"tls cert without key", Config{Brokers: []string{"h:1"}, TLS: TLS{CertFile: notPEM}}, "both the cert and the key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts, err := tt.cfg.Opts()
			if tt.err == "" {
				if err != nil || len(opts) == 0 {
					t.Fatalf("Opts() = %d opts, %v", len(opts), err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("Opts() error %v, want %q", err, tt.err)
			}
		})
	}
}

func TestParseCompression(t *testing.T) {
	for _, s := range []string{"none", "gzip", "snappy", "lz4", "zstd", "ZSTD", ""} {
		if _, err := ParseCompression(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	if _, err := ParseCompression("brotli"); err == nil {
		t.Error("brotli accepted")
	}
}

// TestParseFlagURLs: the flag's name is in every error, and the number of
// topics is checked.
func TestParseFlagURLs(t *testing.T) {
	if b, topic, err := ParseTopicURL("--out", "kafka://h:1,h:2/out"); err != nil || topic != "out" || len(b) != 2 {
		t.Errorf("one topic: %v %q %v", b, topic, err)
	}
	for _, s := range []string{"kafka://h:1/a,b", "kafka://h:1", "file.jsonl"} {
		if _, _, err := ParseTopicURL("--out", s); err == nil || !strings.Contains(err.Error(), "--out") {
			t.Errorf("%q: error %v, want one naming --out", s, err)
		}
	}
	if u, err := ParseTopicsURL("--in", "kafka://h:1/a,b"); err != nil || len(u.Topics) != 2 {
		t.Errorf("two topics: %v %v", u, err)
	}
	if _, err := ParseTopicsURL("--in", "kafka://h:1"); err == nil || !strings.Contains(err.Error(), "--in") {
		t.Errorf("no topic: %v", err)
	}
	for s, want := range map[string]bool{"earliest": false, "LATEST": true} {
		if got, err := ParseStart(s); err != nil || got != want {
			t.Errorf("--start %s: %v %v", s, got, err)
		}
	}
	if _, err := ParseStart("middle"); err == nil || !strings.Contains(err.Error(), "--start") {
		t.Errorf("--start middle: %v", err)
	}
}
