package cli

import (
	"errors"
	"flag"
	"io"
	"testing"
	"time"
)

func TestParseEnv(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		wantLate time.Duration
		wantIn   string
		wantErr  bool
		envErr   string // the EnvError's message; "" when the error is not one
	}{
		{name: "default", wantLate: 5 * time.Second, wantIn: "-"},
		{name: "env", env: map[string]string{"HEADCOUNT_LATENESS": "30s", "HEADCOUNT_IN": "x.gz"}, wantLate: 30 * time.Second, wantIn: "x.gz"},
		{name: "flag wins", args: []string{"--lateness", "1m"}, env: map[string]string{"HEADCOUNT_LATENESS": "30s"}, wantLate: time.Minute, wantIn: "-"},
		{name: "bad env", env: map[string]string{"HEADCOUNT_LATENESS": "soon"}, wantErr: true, envErr: `HEADCOUNT_LATENESS="soon": parse error`},
		{name: "bad flag", args: []string{"--lateness", "soon"}, wantErr: true},
		{name: "unknown flag", args: []string{"--nope"}, env: map[string]string{"HEADCOUNT_LATENESS": "soon"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			late := fs.Duration("lateness", 5*time.Second, "")
			in := fs.String("in", "-", "")
			err := Parse(fs, tt.args)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			var envErr *EnvError
			if isEnv := errors.As(err, &envErr); isEnv != (tt.envErr != "") || isEnv && envErr.Error() != tt.envErr {
				t.Fatalf("err = %v (an EnvError: %v), want EnvError %q", err, isEnv, tt.envErr)
			}
			if err != nil {
				return
			}
			if *late != tt.wantLate || *in != tt.wantIn {
				t.Errorf("got lateness %v in %q, want %v %q", *late, *in, tt.wantLate, tt.wantIn)
			}
		})
	}
}

func TestEnvName(t *testing.T) {
	if got := EnvName("max-jump"); got != "HEADCOUNT_MAX_JUMP" {
		t.Errorf("EnvName = %q", got)
	}
}

func TestParseUnix(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1468244384", 1468244384, true},
		{"-5", -5, true},
		{"2000-01-01T00:00:00Z", 946684800, true},
		{"2016-07-11T15:40:00+02:00", 1468244400, true},
		{"yesterday", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseUnix(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("ParseUnix(%q) = %d, %v", tt.in, got, err)
		}
	}
	if n, err := ParseUnix("now"); err != nil || time.Now().Unix()-n > 5 {
		t.Errorf("now = %d, %v", n, err)
	}
}
