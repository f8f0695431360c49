package main

import (
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

func TestReadyAndFree(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(3))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	addrs := c.ListenAddrs()
	var ls []string
	for _, a := range addrs {
		ls = append(ls, "plaintext://"+a)
	}
	probe := func(args ...string) (int, string) {
		var out strings.Builder
		return run(args, &out), out.String()
	}
	if code, out := probe(append([]string{"ready", "-brokers", "3", "-topic", "ready", "-pid", strconv.Itoa(os.Getpid())}, ls...)...); code != 0 {
		t.Fatalf("ready: exit %d: %s", code, out)
	}
	if code, out := probe("ready", "-brokers", "4", addrs[0]); code != 1 || !strings.Contains(out, "3 brokers registered, want 4") {
		t.Fatalf("ready -brokers 4: exit %d: %s", code, out)
	}
	if code, out := probe("ready", "sasl_plaintext://"+addrs[0]); code != 1 {
		t.Fatalf("ready with SASL on a plaintext listener: exit %d: %s", code, out)
	}
	if code, out := probe("ready", "tcp://"+addrs[0]); code != 2 {
		t.Fatalf("ready with a bad protocol: exit %d: %s", code, out)
	}
	if code, out := probe("free", addrs[1]); code != 1 || !strings.Contains(out, "held by a Kafka broker") {
		t.Fatalf("free on a broker: exit %d: %s", code, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	other := ln.Addr().String()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	if code, out := probe("free", other); code != 1 || !strings.Contains(out, "does not answer as a plaintext Kafka broker") {
		t.Fatalf("free on another program: exit %d: %s", code, out)
	}
	ln.Close()
	if code, out := probe("free", other); code != 0 {
		t.Fatalf("free on a closed port: exit %d: %s", code, out)
	}
}

func TestExited(t *testing.T) {
	if pid, err := exited(strconv.Itoa(os.Getpid())); pid != 0 || err != nil {
		t.Fatalf("this process: %d, %v", pid, err)
	}
	if pid, err := exited("1," + strconv.Itoa(1<<30)); pid != 1<<30 || err != nil {
		t.Fatalf("a pid that does not exist: %d, %v", pid, err)
	}
	if _, err := exited("x"); err == nil {
		t.Fatal("no error for a pid that is not a number")
	}
}

func TestCerts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	var out strings.Builder
	if code := run([]string{"certs", dir}, &out); code != 0 {
		t.Fatalf("certs: exit %d: %s", code, out.String())
	}
	ca, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if err := certsUsable(dir, time.Now().Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := certsUsable(dir, time.Now().AddDate(11, 0, 0)); err == nil {
		t.Fatal("certificates still usable in eleven years")
	}
	// A usable set is kept: the CA a client read earlier stays valid.
	if code := run([]string{"certs", dir}, &out); code != 0 {
		t.Fatalf("certs again: exit %d: %s", code, out.String())
	}
	if again, _ := os.ReadFile(filepath.Join(dir, "ca.pem")); string(again) != string(ca) {
		t.Fatal("a usable CA was made again")
	}
	// The files load as the broker's and the client's key pairs.
	for _, kp := range [][2]string{{"broker.pem", "broker.pem"}, {"client.pem", "client-key.pem"}} {
		if _, err := tls.LoadX509KeyPair(filepath.Join(dir, kp[0]), filepath.Join(dir, kp[1])); err != nil {
			t.Fatalf("%s, %s: %v", kp[0], kp[1], err)
		}
	}
	// A damaged set is made again.
	if err := os.Remove(filepath.Join(dir, "client-key.pem")); err != nil {
		t.Fatal(err)
	}
	if code := run([]string{"certs", dir}, &out); code != 0 {
		t.Fatalf("certs after damage: exit %d: %s", code, out.String())
	}
	if err := certsUsable(dir, time.Now()); err != nil {
		t.Fatal(err)
	}
}
