package pipeline

import (
	"strings"
	"testing"
	"time"

	"github.com/headcount/headcount/internal/window"
)

// TestValidate: every bad value is refused with a message naming its flag;
// the defaults are valid.
func TestValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	tests := []struct {
		name string
		set  func(*Config)
		want string
	}{
		{"negative lateness", func(c *Config) { c.Watermark.Lateness = -5 * time.Second }, "--lateness must not be negative"},
		{"negative idle", func(c *Config) { c.Watermark.Idle = -time.Second }, "--idle must not be negative"},
		{"negative keep", func(c *Config) { c.Window.Keep = -time.Minute }, "--keep must not be negative"},
		{"negative early", func(c *Config) { c.Early = -time.Second }, "--early must not be negative"},
		{"negative workers", func(c *Config) { c.Workers = -3 }, "--workers must not be negative"},
		{"max-jump under a second", func(c *Config) { c.Watermark.MaxJump = 500 * time.Millisecond }, "--max-jump must be 0 (off) or at least 1s"},
		{"negative max-future", func(c *Config) { c.Watermark.MaxFuture = -time.Hour }, "--max-future must not be negative"},
		{"zero max-frame", func(c *Config) { c.MaxFrame = 0 }, "--max-frame must be at least 1 byte"},
		{"unknown window kind", func(c *Config) { c.Window.Kinds = []window.Kind{window.Kind(42)} }, "--windows: unknown window kind 42"},
		{"hll precision", func(c *Config) { c.Window.Counter.Precision = 30 }, "precision 30 out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.set(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
	// Several bad values are all named at once.
	c := DefaultConfig()
	c.Watermark.Lateness, c.Workers = -time.Second, -1
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "--lateness") || !strings.Contains(err.Error(), "--workers") {
		t.Errorf("two bad values: %v", err)
	}
}
