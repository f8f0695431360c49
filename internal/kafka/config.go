package kafka

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// Scheme prefixes every Kafka address headcount accepts.
const Scheme = "kafka://"

// DefaultPort is the port of a broker address given without one.
const DefaultPort = 9092

// URL is a parsed kafka://HOST[:PORT][,HOST[:PORT]...]/TOPIC[,TOPIC...].
type URL struct {
	Brokers []string // host:port, in the order given
	Topics  []string // may be empty; callers say how many they need
}

// IsURL reports whether s names Kafka rather than a file.
func IsURL(s string) bool {
	return len(s) >= len(Scheme) && strings.EqualFold(s[:len(Scheme)], Scheme)
}

// ParseURL parses a kafka:// address. Several brokers are separated by
// commas (they are seeds: the client discovers the rest of the cluster from
// any of them), a broker without a port gets DefaultPort, IPv6 addresses go in
// brackets. Settings such as TLS or the group are flags, not URL options, so
// one URL form works for every command; credentials in the URL are refused
// because command lines are visible to every user of the machine (ps).
func ParseURL(s string) (URL, error) {
	if !IsURL(s) {
		return URL{}, fmt.Errorf("kafka address %q: must start with %s", s, Scheme)
	}
	rest := s[len(Scheme):]
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		return URL{}, fmt.Errorf("kafka address %q: no ?options or #fragment: use the flags (--group, --tls, --sasl, ...)", s)
	}
	hosts, topics, _ := strings.Cut(rest, "/")
	if strings.Contains(hosts, "@") {
		return URL{}, fmt.Errorf("kafka address %q: no credentials in the address (they would show in ps): use --sasl-user and HEADCOUNT_SASL_PASSWORD", s)
	}
	var u URL
	for h := range strings.SplitSeq(hosts, ",") {
		b, err := brokerAddr(h)
		if err != nil {
			return URL{}, fmt.Errorf("kafka address %q: %w", s, err)
		}
		u.Brokers = append(u.Brokers, b)
	}
	if topics != "" {
		for t := range strings.SplitSeq(topics, ",") {
			if err := ValidTopic(t); err != nil {
				return URL{}, fmt.Errorf("kafka address %q: %w", s, err)
			}
			u.Topics = append(u.Topics, t)
		}
	}
	return u, nil
}

// String formats u back into a kafka:// address.
func (u URL) String() string {
	return Scheme + strings.Join(u.Brokers, ",") + "/" + strings.Join(u.Topics, ",")
}

// brokerAddr checks one host[:port] and adds the default port.
func brokerAddr(h string) (string, error) {
	if h == "" {
		return "", errors.New("empty broker address")
	}
	host, port := h, ""
	switch {
	case strings.HasPrefix(h, "["): // [v6] or [v6]:port
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return "", fmt.Errorf("broker %q: missing ]", h)
		}
		host = h[1:end]
		switch after := h[end+1:]; {
		case after == "":
		case after[0] == ':':
			port = after[1:]
		default:
			return "", fmt.Errorf("broker %q: junk after ]", h)
		}
		if net.ParseIP(host) == nil {
			return "", fmt.Errorf("broker %q: %q is not an IP address", h, host)
		}
	case strings.Count(h, ":") == 1:
		host, port, _ = strings.Cut(h, ":")
	case strings.Count(h, ":") > 1:
		return "", fmt.Errorf("broker %q: an IPv6 address goes in brackets, [::1]:9092", h)
	}
	if host == "" {
		return "", fmt.Errorf("broker %q: empty host", h)
	}
	if strings.ContainsAny(host, " \t/\\") {
		return "", fmt.Errorf("broker %q: invalid host", h)
	}
	if port == "" {
		port = strconv.Itoa(DefaultPort)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("broker %q: port must be 1-65535", h)
	}
	return net.JoinHostPort(host, port), nil
}

// ValidTopic checks a topic name the way the broker does (1-249 characters of
// [a-zA-Z0-9._-], not "." or ".."), so a typo fails here, with the name, and
// not as an opaque broker error later.
func ValidTopic(t string) error {
	switch {
	case t == "":
		return errors.New("empty topic name")
	case t == "." || t == "..":
		return fmt.Errorf("topic %q: not allowed", t)
	case len(t) > 249:
		return fmt.Errorf("topic %q: longer than 249 characters", t)
	}
	for _, c := range []byte(t) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("topic %q: only letters, digits, '.', '_' and '-' are allowed", t)
		}
	}
	return nil
}

// Config holds what every client needs to talk to a cluster. The zero value
// plus Brokers is a plaintext, unauthenticated connection.
type Config struct {
	// Brokers are the seed brokers, host:port (Java: bootstrap.servers).
	Brokers []string
	// ClientID names this client in broker logs and quotas (Java:
	// client.id; default "headcount").
	ClientID string
	// TLS, when Enable is set, encrypts connections (Java:
	// security.protocol=SSL, or SASL_SSL with SASL).
	TLS TLS
	// SASL authenticates the connection (Java: sasl.mechanism and
	// sasl.jaas.config; security.protocol=SASL_PLAINTEXT or SASL_SSL).
	SASL SASL
	// ConnectTimeout bounds the start-up checks (reaching a broker, listing
	// offsets, creating a topic), so an unreachable cluster is an error
	// within this time rather than a hang (default 15s).
	ConnectTimeout time.Duration
	// Logger receives franz-go's warnings and errors and the source's
	// notices; nil: slog.Default().
	Logger *slog.Logger
}

// TLS settings. Enable is implied by any of the file settings.
type TLS struct {
	Enable bool
	// CAFile is a PEM bundle of the CAs that sign the brokers' certificates
	// (Java: ssl.truststore.location); empty: the system roots.
	CAFile string
	// CertFile and KeyFile are a PEM client certificate and key for mutual
	// TLS (Java: ssl.keystore.location).
	CertFile, KeyFile string
	// InsecureSkipVerify accepts any server certificate: for testing only
	// (Java: ssl.endpoint.identification.algorithm= plus a trust-all store).
	InsecureSkipVerify bool
}

// SASL settings.
type SASL struct {
	// Mechanism is "", "plain", "scram-sha-256" or "scram-sha-512" (case
	// insensitive; Java: sasl.mechanism).
	Mechanism string
	User      string
	Password  string
}

// DefaultClientID is the client id when Config.ClientID is empty.
const DefaultClientID = "headcount"

const defaultConnectTimeout = 15 * time.Second

func (c *Config) connectTimeout() time.Duration {
	if c.ConnectTimeout > 0 {
		return c.ConnectTimeout
	}
	return defaultConnectTimeout
}

func (c *Config) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.Default()
}

// Opts returns the franz-go options for the connection: seeds, client id,
// TLS, SASL and a logger. Callers add their consumer or producer options.
func (c *Config) Opts() ([]kgo.Opt, error) {
	if len(c.Brokers) == 0 {
		return nil, errors.New("kafka: no broker address")
	}
	id := c.ClientID
	if id == "" {
		id = DefaultClientID
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(c.Brokers...),
		kgo.ClientID(id),
		kgo.WithLogger(slogLogger{c.logger()}),
		// The broker's address is what the user typed: a slow dial is a
		// wrong address, not a busy broker. Java: socket.connection.setup.timeout.ms.
		kgo.DialTimeout(min(10*time.Second, c.connectTimeout())),
	}
	if t, err := c.TLS.config(); err != nil {
		return nil, err
	} else if t != nil {
		opts = append(opts, kgo.DialTLSConfig(t))
	}
	if m, err := c.SASL.mechanism(); err != nil {
		return nil, err
	} else if m != nil {
		opts = append(opts, kgo.SASL(m))
	}
	return opts, nil
}

func (t *TLS) config() (*tls.Config, error) {
	if !t.Enable && t.CAFile == "" && t.CertFile == "" && t.KeyFile == "" && !t.InsecureSkipVerify {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: t.InsecureSkipVerify}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("kafka TLS CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("kafka TLS CA file %s: no PEM certificate in it", t.CAFile)
		}
		cfg.RootCAs = pool
	}
	switch {
	case t.CertFile != "" && t.KeyFile != "":
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("kafka TLS client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	case t.CertFile != "" || t.KeyFile != "":
		return nil, errors.New("kafka TLS: a client certificate needs both the cert and the key file")
	}
	return cfg, nil
}

func (s *SASL) mechanism() (sasl.Mechanism, error) {
	m := strings.ToLower(s.Mechanism)
	if m == "" || m == "none" {
		if s.User != "" {
			return nil, errors.New("kafka SASL: a user is set but no mechanism (plain, scram-sha-256, scram-sha-512)")
		}
		return nil, nil
	}
	if s.User == "" || s.Password == "" {
		return nil, fmt.Errorf("kafka SASL %s: needs a user and a password", m)
	}
	switch m {
	case "plain":
		return plain.Auth{User: s.User, Pass: s.Password}.AsMechanism(), nil
	case "scram-sha-256":
		return scram.Auth{User: s.User, Pass: s.Password}.AsSha256Mechanism(), nil
	case "scram-sha-512":
		return scram.Auth{User: s.User, Pass: s.Password}.AsSha512Mechanism(), nil
	}
	return nil, fmt.Errorf("kafka SASL mechanism %q: want plain, scram-sha-256 or scram-sha-512", s.Mechanism)
}

// slogLogger adapts slog to kgo.Logger. franz-go logs connection retries at
// warn level, so an unreachable broker is visible while it is retried.
type slogLogger struct{ l *slog.Logger }

func (s slogLogger) Level() kgo.LogLevel {
	if s.l.Enabled(context.Background(), slog.LevelDebug) {
		return kgo.LogLevelDebug
	}
	return kgo.LogLevelWarn
}

func (s slogLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	var l slog.Level
	switch level {
	case kgo.LogLevelError:
		l = slog.LevelError
	case kgo.LogLevelWarn:
		l = slog.LevelWarn
	case kgo.LogLevelInfo:
		l = slog.LevelInfo
	default:
		l = slog.LevelDebug
	}
	s.l.Log(context.Background(), l, "kafka: "+msg, keyvals...)
}

// ParseStart parses where a group without committed offsets starts
// (--start): earliest or latest. It reports whether that is latest.
func ParseStart(s string) (latest bool, err error) {
	switch strings.ToLower(s) {
	case "earliest":
		return false, nil
	case "latest":
		return true, nil
	}
	return false, fmt.Errorf("--start %q: want earliest or latest", s)
}

// ParseTopicURL parses a kafka:// URL that must name exactly one topic, as
// the value of flag (for the error).
func ParseTopicURL(flag, s string) (brokers []string, topic string, err error) {
	u, err := ParseURL(s)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", flag, err)
	}
	if len(u.Topics) != 1 {
		return nil, "", fmt.Errorf("%s %s: want exactly one topic", flag, s)
	}
	return u.Brokers, u.Topics[0], nil
}

// ParseTopicsURL parses a kafka:// URL that must name at least one topic,
// as the value of flag (for the error).
func ParseTopicsURL(flag, s string) (URL, error) {
	u, err := ParseURL(s)
	if err != nil {
		return URL{}, fmt.Errorf("%s: %w", flag, err)
	}
	if len(u.Topics) == 0 {
		return URL{}, fmt.Errorf("%s %s: no topic: kafka://HOST:PORT/TOPIC[,TOPIC...]", flag, s)
	}
	return u, nil
}
