package domain

import (
	"errors"
	"testing"
)

func TestNormalize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		// the reference's table (section 4.7), including the rows it got wrong
		{"example.com", "example.com"},
		{"www.example.com", "example.com"},
		{"https://Example.com/", "example.com"},
		{"sub.example.com/path", "sub.example.com"},
		{"http://localhost:3000", "localhost"},
		{"127.0.0.1:8080", "127.0.0.1"},
		{"example.com:8080", "example.com"}, // fail-open in the Node SDK
		{"localhost:3000", "localhost"},     // fail-open in the Node SDK
		{"  EXAMPLE.COM.  ", "example.com"},
		{"https://www.example.com:443/shop?x=1#y", "example.com"},
		{"[::1]:8080", "::1"},
		{"bücher.de", "xn--bcher-kva.de"},
	}
	for _, tt := range tests {
		got, err := Normalize(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestNormalizeRejectsUnusableDomains(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"", "   ", "http://", "user@example.com", "exa mple.com", "-bad.com", "a..b", "http://[::1"} {
		if got, err := Normalize(in); !errors.Is(err, ErrInvalid) {
			t.Errorf("Normalize(%q) = %q, %v; want ErrInvalid", in, got, err)
		}
	}
}

func TestMatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		site, host string
		want       bool
	}{
		{"example.com", "example.com", true},
		{"example.com", "www.example.com", true},
		{"example.com", "a.b.example.com", true},
		{"example.com", "evil-example.com", false},
		{"example.com", "example.com.evil.net", false},
		{"example.com", "com", false},
		{"localhost", "localhost", true},
		{"127.0.0.1", "127.0.0.1", true},
		{"127.0.0.1", "127.0.0.2", false},
	}
	for _, tt := range tests {
		if got := Match(tt.site, tt.host); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.site, tt.host, got, tt.want)
		}
	}
}

func TestClaimable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		host  string
		admin bool
		want  error // nil: claimable
	}{
		{"com", true, ErrPublicSuffix},
		{"example", true, ErrPublicSuffix},    // unknown TLD: the list's default rule
		{"co.uk", false, ErrPublicSuffix},     // ICANN section
		{"github.io", false, ErrPublicSuffix}, // private section
		{"intranet", true, ErrPublicSuffix},
		{"example.com", false, nil},
		{"shop.example.co.uk", false, nil},
		{"me.github.io", false, nil},
		{"victim.example", false, nil},
		{"xn--bcher-kva.de", false, nil},
		{"localhost", true, nil},
		{"app.localhost", true, nil},
		{"127.0.0.1", true, nil},
		{"::1", true, nil},
		{"localhost", false, ErrLocal},
		{"app.localhost", false, ErrLocal},
		{"127.0.0.1", false, ErrLocal},
		{"203.0.113.7", false, ErrLocal},
		{"localhost.example", false, nil},
	}
	for _, tt := range tests {
		err := Claimable(tt.host, tt.admin)
		if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("Claimable(%q, admin %v) = %v; want %v", tt.host, tt.admin, err, tt.want)
		}
	}
}
