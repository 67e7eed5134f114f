package main_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/skopos-go/skopos/schema"
)

// TestServeAPIKeyReadsStatsUntilRevoked: with `skopos serve`, a key
// created by the superuser reads the stats API without a PocketBase
// token, and once revoked it is refused.
func TestServeAPIKeyReadsStatsUntilRevoked(t *testing.T) {
	t.Parallel()
	s := serve(t, t.TempDir(), "SKOPOS_ADMIN_EMAIL="+adminEmail, "SKOPOS_ADMIN_PASSWORD="+adminPassword)
	pb := client(t, s.URL)
	ctx := context.Background()
	var site struct {
		TrackingID string `json:"trackingId"`
	}
	if err := pb.CreateRecord(ctx, schema.Websites, map[string]any{"name": "Keyed", "domain": "keyed.example"}, &site); err != nil {
		t.Fatal(err)
	}
	var key struct{ ID, Key string }
	if err := pb.Do(ctx, http.MethodPost, "/api/skopos/keys",
		map[string]any{"name": "ci", "sites": []string{site.TrackingID}}, &key); err != nil {
		t.Fatal(err)
	}
	read := func() int {
		t.Helper()
		q := url.Values{"site": {site.TrackingID}, "period": {"7d"}}
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/api/skopos/stats?"+q.Encode(), nil)
		req.Header.Set("Authorization", "Bearer "+key.Key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := read(); code != http.StatusOK {
		t.Fatalf("stats with the key: %d, want 200", code)
	}
	if err := pb.Do(ctx, http.MethodDelete, "/api/skopos/keys/"+key.ID, nil, nil); err != nil {
		t.Fatal(err)
	}
	if code := read(); code != http.StatusUnauthorized {
		t.Errorf("stats with the revoked key: %d, want 401", code)
	}
}
