// Command kafkaprobe is the Go half of scripts/kafka and
// scripts/kafka-cluster: it tells them whether the brokers they start answer,
// and makes the test certificates of the TLS listeners. It connects through
// internal/kafka (Config, Connect), so a listener is probed with the TLS and
// SASL code of headcount itself: a listener that kafkaprobe accepts is one the
// commands and tests can use. The scripts build it once per run (go build -o)
// into the cache dir (scripts/lib/kafka.sh).
//
//	kafkaprobe ready [flags] LISTENER...
//	    Exit 0 if every listener answers: the TLS handshake verifies, SASL
//	    authenticates with every mechanism of -sasl, and the broker serves
//	    metadata listing at least -brokers brokers (a KRaft broker lists only
//	    the brokers that are registered and unfenced). With -topic, a topic
//	    with replication factor -brokers must then be creatable (or exist).
//	    With -wait it retries until then. Otherwise exit 1 and say why.
//	kafkaprobe free ADDR...
//	    Exit 0 if nothing accepts connections on any ADDR; else exit 1 and
//	    say which ADDR is taken, and whether by a Kafka broker.
//	kafkaprobe certs DIR
//	    Make the test CA and the certificates of the TLS listeners in DIR,
//	    unless it holds a usable set (see certs.go).
//
// A LISTENER is [PROTOCOL://]HOST:PORT, PROTOCOL the listener's security
// protocol in the broker's terms: plaintext (the default), sasl_plaintext,
// ssl, sasl_ssl or mtls (ssl with a client certificate).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/headcount/headcount/internal/kafka"
)

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

// attempt bounds one try of one listener, so an unanswered connection is a
// failed try and not a hang.
const attempt = 5 * time.Second

func run(args []string, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: kafkaprobe ready [flags] LISTENER... | free ADDR... | certs DIR")
		return 2
	}
	switch args[0] {
	case "ready":
		return ready(args[1:], stderr)
	case "free":
		return free(args[1:], stderr)
	case "certs":
		return certs(args[1:], stderr)
	}
	fmt.Fprintf(stderr, "kafkaprobe: unknown command %q (ready, free, certs)\n", args[0])
	return 2
}

// probe is what ready checks: the listeners and how to connect to them.
type probe struct {
	listeners      []listener
	ca, cert, key  string // TLS: the CA file, the client certificate and key (mtls)
	user, password string // SASL
	mechs          []string
	brokers        int
	topic          string
}

type listener struct{ proto, addr string }

func parseListener(s string) (listener, error) {
	proto, addr, ok := strings.Cut(s, "://")
	if !ok {
		proto, addr = "plaintext", s
	}
	proto = strings.ToLower(proto)
	switch proto {
	case "plaintext", "sasl_plaintext", "ssl", "sasl_ssl", "mtls":
	default:
		return listener{}, fmt.Errorf("listener %q: protocol must be plaintext, sasl_plaintext, ssl, sasl_ssl or mtls", s)
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return listener{}, fmt.Errorf("listener %q: %w", s, err)
	}
	return listener{proto, addr}, nil
}

// configs returns one connection setting per way l must answer: one per
// SASL mechanism on a SASL listener, else one.
func (p *probe) configs(l listener) []kafka.Config {
	base := kafka.Config{
		Brokers:        []string{l.addr},
		ClientID:       "headcount-kafkaprobe",
		ConnectTimeout: attempt,
		// franz-go warns at every refused dial; the last error is reported.
		Logger: slog.New(slog.DiscardHandler),
	}
	if strings.Contains(l.proto, "ssl") || l.proto == "mtls" {
		base.TLS = kafka.TLS{Enable: true, CAFile: p.ca}
	}
	if l.proto == "mtls" {
		base.TLS.CertFile, base.TLS.KeyFile = p.cert, p.key
	}
	if !strings.HasPrefix(l.proto, "sasl_") {
		return []kafka.Config{base}
	}
	var out []kafka.Config
	for _, m := range p.mechs {
		c := base
		c.SASL = kafka.SASL{Mechanism: m, User: p.user, Password: p.password}
		out = append(out, c)
	}
	return out
}

// check connects with cfg and asks the broker itself (not another broker
// it names) for metadata.
func (p *probe) check(ctx context.Context, cfg kafka.Config) error {
	ctx, cancel := context.WithTimeout(ctx, attempt)
	defer cancel()
	cl, err := kafka.Connect(ctx, &cfg)
	if err != nil {
		return err
	}
	defer cl.Close()
	req := kmsg.NewPtrMetadataRequest()
	req.Topics = []kmsg.MetadataRequestTopic{} // brokers only
	resp, err := cl.SeedBrokers()[0].Request(ctx, req)
	if err != nil {
		return fmt.Errorf("metadata: %w", err)
	}
	if n := len(resp.(*kmsg.MetadataResponse).Brokers); n < p.brokers {
		return fmt.Errorf("%d brokers registered, want %d", n, p.brokers)
	}
	if p.topic == "" {
		return nil
	}
	_, err = kafka.EnsureTopic(ctx, cl, kafka.Topic{Name: p.topic, Partitions: 1, ReplicationFactor: int16(p.brokers)})
	return err
}

// once tries every listener and returns the first failure.
func (p *probe) once(ctx context.Context) error {
	for _, l := range p.listeners {
		for _, cfg := range p.configs(l) {
			if err := p.check(ctx, cfg); err != nil {
				what := l.proto + "://" + l.addr
				if cfg.SASL.Mechanism != "" {
					what += " (SASL " + cfg.SASL.Mechanism + ")"
				}
				return fmt.Errorf("%s: %w", what, err)
			}
		}
	}
	return nil
}

func ready(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("kafkaprobe ready", flag.ContinueOnError)
	fs.SetOutput(stderr)
	p := &probe{}
	fs.StringVar(&p.ca, "ca", "", "PEM `file` of the CA that signs the brokers' certificates (ssl, sasl_ssl, mtls)")
	fs.StringVar(&p.cert, "cert", "", "PEM client certificate `file` (mtls)")
	fs.StringVar(&p.key, "key", "", "PEM client key `file` (mtls)")
	fs.StringVar(&p.user, "user", "", "SASL user")
	fs.StringVar(&p.password, "password", "", "SASL password")
	sasl := fs.String("sasl", "plain,scram-sha-256,scram-sha-512", "SASL mechanisms a SASL listener must accept")
	fs.IntVar(&p.brokers, "brokers", 1, "brokers each listener's metadata must list")
	fs.StringVar(&p.topic, "topic", "", "then create this topic with replication factor -brokers (unless it exists)")
	wait := fs.Duration("wait", 0, "retry for up to this long (0: one try)")
	pids := fs.String("pid", "", "comma-separated pids: fail at once when one of them has exited")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	p.mechs = strings.Split(*sasl, ",")
	for _, a := range fs.Args() {
		l, err := parseListener(a)
		if err != nil {
			fmt.Fprintln(stderr, "kafkaprobe:", err)
			return 2
		}
		p.listeners = append(p.listeners, l)
	}
	if len(p.listeners) == 0 {
		fmt.Fprintln(stderr, "kafkaprobe ready: no listener")
		return 2
	}
	deadline := time.Now().Add(*wait)
	for {
		if pid, err := exited(*pids); err != nil {
			fmt.Fprintln(stderr, "kafkaprobe:", err)
			return 2
		} else if pid != 0 {
			fmt.Fprintf(stderr, "kafkaprobe: process %d exited\n", pid)
			return 1
		}
		err := p.once(context.Background())
		if err == nil {
			return 0
		}
		if time.Now().After(deadline) {
			fmt.Fprintln(stderr, "kafkaprobe:", err)
			return 1
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// exited returns the first pid of the comma-separated list that no longer
// runs. A zombie (the caller's exited child, not yet reaped) has exited.
func exited(pids string) (int, error) {
	for s := range strings.SplitSeq(pids, ",") {
		if s == "" {
			continue
		}
		pid, err := strconv.Atoi(s)
		if err != nil || pid <= 0 {
			return 0, fmt.Errorf("-pid %q: not a pid", s)
		}
		stat, err := os.ReadFile("/proc/" + s + "/stat")
		// The state follows the command name, which is in parentheses
		// and may hold anything, so look after the last ')'.
		i := strings.LastIndexByte(string(stat), ')')
		if err != nil || i < 0 || strings.HasPrefix(string(stat[i+1:]), " Z") {
			return pid, nil
		}
	}
	return 0, nil
}

func free(addrs []string, stderr io.Writer) int {
	if len(addrs) == 0 {
		fmt.Fprintln(stderr, "kafkaprobe free: no address")
		return 2
	}
	code := 0
	for _, a := range addrs {
		if _, _, err := net.SplitHostPort(a); err != nil {
			fmt.Fprintf(stderr, "kafkaprobe: %s: %v\n", a, err)
			return 2
		}
		c, err := net.DialTimeout("tcp", a, 2*time.Second)
		if err != nil {
			continue // refused or unreachable: free
		}
		c.Close()
		code = 1
		cfg := kafka.Config{Brokers: []string{a}, ConnectTimeout: 3 * time.Second, Logger: slog.New(slog.DiscardHandler)}
		if cl, err := kafka.Connect(context.Background(), &cfg); err == nil {
			cl.Close()
			fmt.Fprintf(stderr, "%s is held by a Kafka broker\n", a)
		} else {
			fmt.Fprintf(stderr, "%s is in use by a program that does not answer as a plaintext Kafka broker\n", a)
		}
	}
	return code
}
