package cli

import (
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
	}{
		{name: "default", wantLate: 5 * time.Second, wantIn: "-"},
		{name: "env", env: map[string]string{"HEADCOUNT_LATENESS": "30s", "HEADCOUNT_IN": "x.gz"}, wantLate: 30 * time.Second, wantIn: "x.gz"},
		{name: "flag wins", args: []string{"--lateness", "1m"}, env: map[string]string{"HEADCOUNT_LATENESS": "30s"}, wantLate: time.Minute, wantIn: "-"},
		{name: "bad env", env: map[string]string{"HEADCOUNT_LATENESS": "soon"}, wantErr: true},
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
