package pbrest_test

import (
	"net/http"
	"testing"

	"github.com/skopos-go/skopos/pbrest"
)

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     pbrest.Config
		wantErr bool
	}{
		{"ok", pbrest.Config{URL: "http://127.0.0.1:8090", Email: "a@b.c", Password: "x"}, false},
		{"ok guest", pbrest.Config{URL: "https://pb.example.com/"}, false},
		{"missing URL", pbrest.Config{}, true},
		{"bad scheme", pbrest.Config{URL: "ftp://host"}, true},
		{"no host", pbrest.Config{URL: "http://"}, true},
		{"query", pbrest.Config{URL: "http://host/?x=1"}, true},
		{"email without password", pbrest.Config{URL: "http://host", Email: "a@b.c"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := pbrest.New(tt.cfg)
			if (err != nil) != tt.wantErr {
				t.Fatalf("New(%+v) error = %v, wantErr %v", tt.cfg, err, tt.wantErr)
			}
		})
	}
}

func TestURLTrimsSlash(t *testing.T) {
	t.Parallel()
	c, err := pbrest.New(pbrest.Config{URL: "http://127.0.0.1:8090/"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.URL(), "http://127.0.0.1:8090"; got != want {
		t.Fatalf("URL() = %q, want %q", got, want)
	}
}

func TestDo(t *testing.T) {
	t.Parallel()
	srv, _ := start(t, nil)
	c := newClient(t, srv)
	ctx := ctxT(t)

	var health struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	if err := c.Do(ctx, http.MethodGet, "/api/health", nil, &health); err != nil {
		t.Fatalf("Do health: %v", err)
	}
	if health.Code != 200 {
		t.Fatalf("health = %+v", health)
	}
	// A query string in path, and a nil out.
	if err := c.Do(ctx, http.MethodGet, "/api/collections/"+itemsCollection+"/records?perPage=1", nil, nil); err != nil {
		t.Fatalf("Do with query: %v", err)
	}
	if err := c.Do(ctx, http.MethodGet, "api/health", nil, nil); err == nil {
		t.Fatal("Do accepted a path without leading slash")
	}
}
