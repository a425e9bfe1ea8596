package windowtext

import (
	"testing"
	"time"

	"github.com/cxscore/cxscore/window"
)

func TestParse(t *testing.T) {
	tests := []struct {
		text string
		want time.Duration
		ok   bool
	}{
		{"", time.Hour, true}, // the default
		{"1h", time.Hour, true},
		{"90m", 90 * time.Minute, true},
		{"1h30m", 90 * time.Minute, true},
		{"7d", 7 * 24 * time.Hour, true},
		{"+7d", 7 * 24 * time.Hour, true},
		{"10000d", 10000 * 24 * time.Hour, true},
		{"10001d", 0, false},
		{"0d", 0, false},
		{"d", 0, false},
		{"7 d", 0, false},
		{"1w", 0, false},
		{"-5m", 0, false},
		{"9223372036854775807ns", 1<<63 - 1, true},
		{"9223372036854775808ns", 0, false},
	}
	for _, tt := range tests {
		_, d, err := Parse("window", tt.text, "1h")
		if (err == nil) != tt.ok || d != tt.want {
			t.Errorf("Parse(%q) = %v, %v; want %v, ok %t", tt.text, d, err, tt.want, tt.ok)
		}
	}
}

func TestParseStep(t *testing.T) {
	tests := []struct {
		text string
		want time.Duration
		ok   bool
	}{
		{"", time.Hour, true}, // the default
		{"1h", time.Hour, true},
		{"15m", 15 * time.Minute, true},
		{"1d", 24 * time.Hour, true},
		{"1w", 7 * 24 * time.Hour, true},
		{"2w", 14 * 24 * time.Hour, true},
		{"1mo", window.Month, true},
		{"0w", 0, false},
		{"w", 0, false},
		{"2mo", 0, false},
		{"1month", 0, false},
		{"-1h", 0, false},
	}
	for _, tt := range tests {
		_, d, err := ParseStep(tt.text, "1h")
		if (err == nil) != tt.ok || d != tt.want {
			t.Errorf("ParseStep(%q) = %v, %v; want %v, ok %t", tt.text, d, err, tt.want, tt.ok)
		}
	}
}
