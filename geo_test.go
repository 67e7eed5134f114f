package skopos_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/skopos-go/skopos"
	"github.com/skopos-go/skopos/internal/browsertest"
	"github.com/skopos-go/skopos/internal/geo/geotest"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/schema"
)

func TestNewSessionsGetCountryAndStateFromGeoIP(t *testing.T) {
	t.Parallel()
	db := geotest.Write(t, "GeoLite2-City", []geotest.Network{
		{CIDR: "203.0.113.0/24", Value: geotest.City("US", "CA")},
		{CIDR: "2001:db8::/32", Value: geotest.City("DE", "")},
	})
	srv := pbtest.Start(t, pbtest.Options{})
	app := srv.App()
	site := srv.AddWebsite(t, "example.com")
	ctx := context.Background()
	o := options(srv, site.GetString("trackingId"))
	o.GeoIPDatabase = db
	c, err := skopos.Init(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown(ctx)
	for _, ip := range []string{"203.0.113.8", "[2001:db8::5]", "192.0.2.1"} {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.RemoteAddr = ip + ":443"
		browsertest.Headers(r.Header, "")
		if err := c.TrackAPIEvent(r, []byte(`{"type":"pageView","url":"https://example.com/"}`)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.FlushEvents(ctx); err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		Country   string `db:"country"`
		State     string `db:"state"`
		IPAddress string `db:"ipAddress"`
	}
	if err := app.DB().Select("country", "state", "ipAddress").From(schema.Sessions).OrderBy("country").All(&rows); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range rows {
		got[r.Country] = r.State
		if r.IPAddress != "" {
			t.Errorf("ipAddress %q stored without storeRawIp", r.IPAddress)
		}
	}
	if len(rows) != 3 || got["US"] != "US-CA" || got["DE"] != "Unknown" || got["Unknown"] != "Unknown" {
		t.Errorf("sessions' country/state = %+v", rows)
	}

	o.GeoIPDatabase = "/nonexistent.mmdb"
	if _, err := skopos.Init(ctx, o); err == nil {
		t.Error("Init with a missing GeoIP database succeeded")
	}
}
