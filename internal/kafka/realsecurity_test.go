package kafka_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/headcount/headcount/internal/kafka"
	"github.com/headcount/headcount/internal/kafkatest"
)

// The TLS and SASL tests against the real Apache Kafka broker: scripts/kafka
// starts it with a SASL_PLAINTEXT listener (PLAIN, SCRAM-SHA-256,
// SCRAM-SHA-512), an SSL listener, a SASL_SSL listener (the same mechanisms
// over TLS) and an SSL listener that requires a client certificate (mutual
// TLS) besides the plaintext one, and scripts/test exports their addresses
// from `scripts/kafka env`:
//
//	HEADCOUNT_TEST_KAFKA_SASL         host:port of the SASL_PLAINTEXT listener
//	HEADCOUNT_TEST_KAFKA_TLS          host:port of the SSL listener
//	HEADCOUNT_TEST_KAFKA_SASL_SSL     host:port of the SASL_SSL listener
//	HEADCOUNT_TEST_KAFKA_MTLS         host:port of the SSL listener with client auth
//	HEADCOUNT_TEST_KAFKA_CA           PEM file of the CA that signed the broker's
//	                                  certificate and the client certificate
//	HEADCOUNT_TEST_KAFKA_CLIENT_CERT  PEM client certificate for the mTLS listener
//	HEADCOUNT_TEST_KAFKA_CLIENT_KEY   its PEM private key
//	HEADCOUNT_TEST_KAFKA_USER         the test user (default headcount)
//	HEADCOUNT_TEST_KAFKA_PASSWORD     its password (default headcount-secret)
//
// By hand: eval "$(KAFKA_PORT=39092 scripts/kafka env)" after starting one.

// secureTimeout is the connect timeout of these tests. A refusal is told
// apart from a timeout by its error (the broker's reason, and never "no
// answer within", which is how a timeout reads), not by a tight clock: the
// bound is generous so that a loaded machine cannot turn a refusal into a
// failure, and only a hang would reach it.
const secureTimeout = time.Minute

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// listener returns the settings for the listener whose address the
// environment variable env holds, without SASL or TLS.
func listener(t *testing.T, env string) kafka.Config {
	t.Helper()
	return kafka.Config{
		Brokers:        strings.Split(kafkatest.Env(t, env), ","),
		ClientID:       kafkatest.ClientID,
		ConnectTimeout: secureTimeout,
	}
}

// realSASL returns the settings for the SASL listener with mechanism.
func realSASL(t *testing.T, mechanism string) kafka.Config {
	t.Helper()
	conn := listener(t, "HEADCOUNT_TEST_KAFKA_SASL")
	conn.SASL = kafka.SASL{
		Mechanism: mechanism,
		User:      envOr("HEADCOUNT_TEST_KAFKA_USER", "headcount"),
		Password:  envOr("HEADCOUNT_TEST_KAFKA_PASSWORD", "headcount-secret"),
	}
	return conn
}

// realTLS returns the settings for the SSL listener, trusting its CA.
func realTLS(t *testing.T) kafka.Config {
	t.Helper()
	conn := listener(t, "HEADCOUNT_TEST_KAFKA_TLS")
	conn.TLS = kafka.TLS{CAFile: kafkatest.Env(t, "HEADCOUNT_TEST_KAFKA_CA")}
	return conn
}

// realSASLSSL returns the settings for the SASL_SSL listener with
// mechanism, trusting its CA.
func realSASLSSL(t *testing.T, mechanism string) kafka.Config {
	t.Helper()
	conn := realSASL(t, mechanism)
	conn.Brokers = listener(t, "HEADCOUNT_TEST_KAFKA_SASL_SSL").Brokers
	conn.TLS = kafka.TLS{CAFile: kafkatest.Env(t, "HEADCOUNT_TEST_KAFKA_CA")}
	return conn
}

// realMTLS returns the settings for the SSL listener that requires a client
// certificate, trusting its CA and presenting the test client certificate
// (what --tls-ca, --tls-cert and --tls-key set).
func realMTLS(t *testing.T) kafka.Config {
	t.Helper()
	conn := listener(t, "HEADCOUNT_TEST_KAFKA_MTLS")
	conn.TLS = kafka.TLS{
		CAFile:   kafkatest.Env(t, "HEADCOUNT_TEST_KAFKA_CA"),
		CertFile: kafkatest.Env(t, "HEADCOUNT_TEST_KAFKA_CLIENT_CERT"),
		KeyFile:  kafkatest.Env(t, "HEADCOUNT_TEST_KAFKA_CLIENT_KEY"),
	}
	return conn
}

// checkAdvertised checks that the broker's metadata, asked through conn,
// names the listener conn connected to: every later connection (partition
// leaders, the group coordinator) then uses the same security, so the round
// trip below really ran through that listener end to end.
func checkAdvertised(t *testing.T, ctx context.Context, conn kafka.Config) {
	t.Helper()
	cl := kafkatest.Client(t, conn)
	md, err := kadm.NewClient(cl).BrokerMetadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(md.Brokers) != 1 {
		t.Fatalf("metadata lists %d brokers, want 1: %v", len(md.Brokers), md.Brokers)
	}
	b := md.Brokers[0]
	if got := net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port))); got != conn.Brokers[0] {
		t.Fatalf("the broker advertises %s to a client of %s: later connections would leave this listener", got, conn.Brokers[0])
	}
}

// secureRoundTrip produces generated frames to a fresh topic through conn,
// runs the real pipeline (Kafka source with a group, --until-end, Kafka sink)
// through it, and checks the output topic, read through it too, against an
// independent count; a second run of the group reads nothing, so its offsets
// were committed through the listener.
func secureRoundTrip(t *testing.T, conn kafka.Config) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	checkAdvertised(t, ctx, conn)
	in, out, group := kafkatest.Topic(t, "in"), kafkatest.Topic(t, "out"), kafkatest.Topic(t, "group")

	// 5 frames/s of event time: 600 frames span about 2 minutes, late
	// frames included.
	frames := generate(600, 5, 200)
	want := count(t, frames)
	var wantFrames uint64
	for _, w := range want {
		wantFrames += w.frames
	}
	load(t, ctx, conn, in, 2, frames)

	cfg := pipelineConfig(90 * time.Second)
	stats := countTopic(t, ctx, conn, in, out, group, cfg)
	if stats.Frames != uint64(len(frames)) || stats.Counted != wantFrames {
		t.Fatalf("read %d frames, counted %d; want %d, %d (stats %+v)", stats.Frames, stats.Counted, len(frames), wantFrames, stats)
	}
	got := finals(t, kafkatest.ReadAll(t, ctx, conn, out))
	t.Logf("via %s: %d frames read, %d counted, %d results, %d final minutes", conn.Brokers[0], stats.Frames, stats.Counted, stats.Results, len(got))
	checkFinals(t, got, want)

	if stats2 := countTopic(t, ctx, conn, in, out, group, cfg); stats2.Frames != 0 || stats2.Results != 0 {
		t.Fatalf("second run of group %s read %d frames, wrote %d results; want 0, 0", group, stats2.Frames, stats2.Results)
	}
}

// refused checks that the source (with a group), the sink and the producer
// all fail on conn with an error containing want: the broker's refusal, not
// the connect timeout (see secureTimeout).
func refused(t *testing.T, conn kafka.Config, want string, is error) {
	t.Helper()
	ctx := context.Background()
	// franz-go logs each failed attempt as an error: expected here.
	conn.Logger = slog.New(slog.DiscardHandler)
	attempts := map[string]func() (interface{ Close() error }, error){
		"source": func() (interface{ Close() error }, error) {
			return kafka.NewSource(ctx, kafka.SourceConfig{Config: conn, Topics: []string{"hc-refused"}, Group: "hc-refused"})
		},
		"sink": func() (interface{ Close() error }, error) {
			return kafka.NewSink(ctx, kafka.SinkConfig{Config: conn, Topic: "hc-refused"})
		},
		"producer": func() (interface{ Close() error }, error) {
			return kafka.NewProducer(ctx, kafka.ProducerConfig{Config: conn, Topic: "hc-refused"})
		},
	}
	for name, open := range attempts {
		begin := time.Now()
		c, err := open()
		took := time.Since(begin)
		if err == nil {
			c.Close()
			t.Errorf("%s: connected; want an error containing %q", name, want)
			continue
		}
		if !strings.Contains(err.Error(), want) || (is != nil && !errors.Is(err, is)) {
			t.Errorf("%s: error %q, want one containing %q", name, err, want)
		}
		if !strings.Contains(err.Error(), strings.Join(conn.Brokers, ",")) {
			t.Errorf("%s: error %q does not name the broker address", name, err)
		}
		if took >= conn.ConnectTimeout || strings.Contains(err.Error(), "no answer within") {
			t.Errorf("%s: failed after %v (connect timeout %v): a timeout, not the refusal", name, took, conn.ConnectTimeout)
		}
	}
}

// A refusal is a change to a listener's working settings that must be
// refused (see refused): the subtest's name, the change, and what the error
// must contain (want) and wrap (is, when not nil).
type refusal struct {
	name   string
	change func(t *testing.T, c *kafka.Config)
	want   string
	is     error
}

// refusals runs each refusal as a parallel subtest, on its own copy of
// conn.
func refusals(t *testing.T, conn kafka.Config, rs ...refusal) {
	for _, r := range rs {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			c := conn
			r.change(t, &c)
			refused(t, c, r.want, r.is)
		})
	}
}

// The refusals that several listeners share.
var (
	wrongPassword = refusal{"wrong password", func(_ *testing.T, c *kafka.Config) { c.SASL.Password += "-wrong" },
		"SASL_AUTHENTICATION_FAILED", kerr.SaslAuthenticationFailed}
	// A client without SASL on a SASL listener: the broker hangs up, and
	// franz-go says SASL is probably missing.
	noSASL = refusal{"no sasl", func(_ *testing.T, c *kafka.Config) { c.SASL = kafka.SASL{} }, "is SASL missing?", nil}
)

// plaintextToTLS is franz-go's hint when a plaintext client speaks to a TLS
// listener, and tlsAlert how a TLS alert from the broker begins ("bad
// certificate" from Java 17; other JDKs may say "certificate required").
const (
	plaintextToTLS = "is this a plaintext connection speaking to a tls endpoint?"
	tlsAlert       = "remote error: tls: "
)

// noTLS takes TLS off a listener's settings.
func noTLS(_ *testing.T, c *kafka.Config) { c.TLS = kafka.TLS{} }

// eachMechanism runs a parallel subtest for each SASL mechanism: the round
// trip through listener(t, mechanism), then the refusals on it.
func eachMechanism(t *testing.T, listener func(t *testing.T, mechanism string) kafka.Config, rs ...refusal) {
	for _, mech := range []string{"plain", "scram-sha-256", "scram-sha-512"} {
		t.Run(mech, func(t *testing.T) {
			t.Parallel()
			conn := listener(t, mech)
			secureRoundTrip(t, conn)
			refusals(t, conn, rs...)
		})
	}
}

// connects checks that a sink connects with conn (and closes).
func connects(t *testing.T, conn kafka.Config) {
	t.Helper()
	s, err := kafka.NewSink(context.Background(), kafka.SinkConfig{Config: conn, Topic: kafkatest.Topic(t, "out")})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestSASLRealBroker(t *testing.T) {
	eachMechanism(t, realSASL, wrongPassword, refusal{"unknown user", func(_ *testing.T, c *kafka.Config) { c.SASL.User = "hc-nobody" },
		"SASL_AUTHENTICATION_FAILED", kerr.SaslAuthenticationFailed})
	refusals(t, realSASL(t, ""), noSASL)
}

func TestTLSRealBroker(t *testing.T) {
	conn := realTLS(t)
	t.Run("round trip", func(t *testing.T) {
		t.Parallel()
		secureRoundTrip(t, conn)
	})
	// The certificate names localhost too (DNS SAN), not only 127.0.0.1.
	t.Run("localhost", func(t *testing.T) {
		t.Parallel()
		c := conn
		_, port, err := net.SplitHostPort(c.Brokers[0])
		if err != nil {
			t.Fatal(err)
		}
		c.Brokers = []string{net.JoinHostPort("localhost", port)}
		connects(t, c)
	})
	refusals(t, conn,
		// The system roots (--tls without --tls-ca) do not know the test CA.
		refusal{"system roots", func(_ *testing.T, c *kafka.Config) { c.TLS = kafka.TLS{Enable: true} },
			"x509: certificate signed by unknown authority", nil},
		// Another CA: the broker's certificate does not verify against it.
		refusal{"other CA", func(t *testing.T, c *kafka.Config) {
			c.TLS = kafka.TLS{CAFile: kafkatest.NewCA(t, "headcount other CA").File(t)}
		}, "x509: certificate signed by unknown authority", nil},
	)
	// --tls-insecure connects to anything, this broker included.
	t.Run("insecure", func(t *testing.T) {
		t.Parallel()
		c := conn
		c.TLS = kafka.TLS{InsecureSkipVerify: true}
		connects(t, c)
	})
	// Plaintext to the SSL listener and TLS to the plaintext one: both are
	// told apart at once, with franz-go's hint, instead of hanging.
	refusals(t, conn,
		refusal{"plaintext client", noTLS, plaintextToTLS, nil},
		refusal{"tls to plaintext listener", func(t *testing.T, c *kafka.Config) {
			c.Brokers = strings.Split(kafkatest.Env(t, "HEADCOUNT_TEST_KAFKA"), ",")
		}, "is TLS misconfigured", nil},
	)
}

// SASL over TLS: the three mechanisms on the SASL_SSL listener, each through
// the whole pipeline, and refusals that come from the broker's SASL check
// after the TLS handshake.
func TestSASLSSLRealBroker(t *testing.T) {
	eachMechanism(t, realSASLSSL, wrongPassword)
	refusals(t, realSASLSSL(t, "scram-sha-512"),
		// TLS alone is not enough on this listener: it is not a plain SSL one.
		noSASL,
		// SASL without TLS: franz-go's plaintext-to-TLS hint, not a hang.
		refusal{"no tls", noTLS, plaintextToTLS, nil},
	)
}

// Mutual TLS (--tls-cert, --tls-key): the listener requires a client
// certificate signed by the test CA.
func TestMTLSRealBroker(t *testing.T) {
	conn := realMTLS(t)
	t.Run("round trip", func(t *testing.T) {
		t.Parallel()
		secureRoundTrip(t, conn)
	})
	refusals(t, conn,
		// Without a client certificate the broker ends the handshake with an
		// alert (in TLS 1.3 after the client thinks it is done, so it shows
		// on the first request), at once rather than at the connect timeout.
		refusal{"no client certificate", func(_ *testing.T, c *kafka.Config) { c.TLS.CertFile, c.TLS.KeyFile = "", "" }, tlsAlert, nil},
		// A certificate the broker's truststore does not vouch for is no
		// better than none: the broker checks the chain, not only that one
		// was sent.
		refusal{"untrusted client certificate", func(t *testing.T, c *kafka.Config) {
			c.TLS.CertFile, c.TLS.KeyFile = kafkatest.NewCA(t, "untrusted client CA").ClientFiles(t, "headcount-client")
		}, tlsAlert, nil},
	)
}
