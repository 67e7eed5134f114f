package plugin

import (
	"strings"
	"testing"
)

func TestHomeURL(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ given, raw, host, want string }{
		{"", "example.com", "example.com", "https://example.com/"},
		{"", "http://localhost:8081", "localhost", "http://localhost:8081/"},
		{"", "HTTPS://Shop.Example.com/a?b", "shop.example.com", "https://shop.example.com/"},
		{"", "ftp://example.com", "example.com", "https://example.com/"},
		{"http://LOCALHOST:8081", "localhost", "localhost", "http://localhost:8081/"},
		{" https://www.example.com/start#top ", "example.com", "example.com", "https://www.example.com/start"},
		{"ftp://example.com/", "example.com", "example.com", ""},
		{"https://user:pw@example.com/", "example.com", "example.com", ""},
		{"example.com/path", "example.com", "example.com", ""},
		{"https://example.com/" + strings.Repeat("a", 2048), "example.com", "example.com", ""},
	} {
		got, err := homeURL(c.given, c.raw, c.host)
		if c.want == "" {
			if err == nil {
				t.Errorf("homeURL(%q) = %q, want an error", c.given, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("homeURL(%q, %q) = %q, %v; want %q", c.given, c.raw, got, err, c.want)
		}
	}
}
