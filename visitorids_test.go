package skopos_test

import (
	"context"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pocketbase/dbx"
	"github.com/skopos-go/skopos"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/internal/visitorid"
	"github.com/skopos-go/skopos/schema"
)

// storedVisitor sends one server event from ip through c and returns the
// visitorId stored for it.
func storedVisitor(t *testing.T, srv *pbtest.Server, c *skopos.Client, websiteID, ip string) string {
	t.Helper()
	ctx := context.Background()
	req := httptest.NewRequest(http.MethodPost, "/signup", nil)
	req.RemoteAddr = ip + ":1234"
	req.Header.Set("User-Agent", "visitor-id-test/1.0")
	if err := c.TrackServerEvent(req, "signup", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.FlushEvents(ctx); err != nil {
		t.Fatal(err)
	}
	// through the ingest route the server's writer stores it a moment later
	var id string
	testwait.Until(t, "the event stored", func() bool {
		return srv.App().DB().Select("v.visitorId").From(schema.Visitors+" v").
			InnerJoin(schema.Sessions+" s", dbx.NewExp("s.visitor = v.id")).
			InnerJoin(schema.Events+" e", dbx.NewExp("e.session = s.id")).
			Where(dbx.HashExp{"e.website": websiteID, "e.eventName": "signup"}).
			Limit(1).Row(&id) == nil
	})
	return id
}

func installationSalt(t *testing.T, srv *pbtest.Server) []byte {
	t.Helper()
	var v string
	if err := srv.App().DB().Select("value").From(schema.Secrets).
		Where(dbx.HashExp{"name": visitorid.SaltName}).Row(&v); err != nil {
		t.Fatalf("no installation salt stored: %v", err)
	}
	b, err := hex.DecodeString(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestVisitorIDsAreKeyedByTheInstallationSalt: by default every route
// (through a Skopos server, or PocketBase's batch API, where the first
// SDK instance creates the salt) stores ids keyed by the one installation
// salt, not the reversible unsalted hash; VisitorIDsCompatible stores the
// Node SDK's hash.
func TestVisitorIDsAreKeyedByTheInstallationSalt(t *testing.T) {
	t.Parallel()
	skoposSrv := startSkoposServer(t)
	plainSrv := pbtest.Start(t, pbtest.Options{}) // schema applied, no salt yet
	const ip, ua = "198.51.100.7", "visitor-id-test/1.0"
	for _, tc := range []struct {
		name  string
		srv   *pbtest.Server
		route string
		mode  string
		salt  bool // keyed by the stored salt, else the unsalted hash
	}{
		{"through the Skopos server", skoposSrv, skopos.RouteAuto, "", true},
		{"batch API of the Skopos server", skoposSrv, skopos.RouteBatch, "", true},
		{"plain PocketBase, salt created by the SDK", plainSrv, skopos.RouteAuto, "", true},
		{"plain PocketBase, compatible", plainSrv, skopos.RouteAuto, skopos.VisitorIDsCompatible, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			site := tc.srv.AddWebsite(t, strings.ReplaceAll(strings.ReplaceAll(tc.name, " ", "-"), ",", "")+".example")
			tid := site.GetString("trackingId")
			opts := options(tc.srv, tid)
			opts.Route, opts.VisitorIDs = tc.route, tc.mode
			c, err := skopos.Init(context.Background(), opts)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Shutdown(context.Background())
			got := storedVisitor(t, tc.srv, c, site.Id, ip)
			want := visitorid.Hash(tid, ip, ua, nil)
			if tc.salt {
				want = visitorid.Hash(tid, ip, ua, installationSalt(t, tc.srv))
				if got == visitorid.Hash(tid, ip, ua, nil) {
					t.Fatal("stored the unsalted, reversible id")
				}
			}
			if got != want {
				t.Fatalf("stored visitorId %s, want %s", got, want)
			}
		})
	}
}

// TestSDKFollowsTheServersVisitorIDMode: through the ingest route the SDK
// takes the server's mode; asking for another one is an Init error (the
// server's writer would count one visitor as two), unless the SDK writes
// through the batch API itself.
func TestSDKFollowsTheServersVisitorIDMode(t *testing.T) {
	t.Parallel()
	srv := startSkoposServer(t)
	site := srv.AddWebsite(t, "mode.example")
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		mode  string
		route string
		err   error
	}{
		{"default follows", "", skopos.RouteAuto, nil},
		{"same mode", skopos.VisitorIDsSalted, skopos.RouteAuto, nil},
		{"daily against salted", skopos.VisitorIDsDaily, skopos.RouteAuto, skopos.ErrInvalidOption},
		{"compatible against salted", skopos.VisitorIDsCompatible, skopos.RouteIngest, skopos.ErrInvalidOption},
		{"daily through the batch API", skopos.VisitorIDsDaily, skopos.RouteBatch, nil},
		{"unknown mode", "hourly", skopos.RouteAuto, skopos.ErrInvalidOption},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := options(srv, site.GetString("trackingId"))
			opts.VisitorIDs, opts.Route = tc.mode, tc.route
			c, err := skopos.Init(ctx, opts)
			if c != nil {
				defer c.Shutdown(ctx)
			}
			if !errors.Is(err, tc.err) {
				t.Fatalf("Init: %v, want %v", err, tc.err)
			}
		})
	}
}

// TestSchemaWithoutSecretsIsReported: a PocketBase whose Skopos schema
// predates skopos_secrets fails Init with ErrSchemaMissing (run `skopos
// schema apply`), unless the ids need no stored salt.
func TestSchemaWithoutSecretsIsReported(t *testing.T) {
	t.Parallel()
	srv := pbtest.Start(t, pbtest.Options{})
	col, err := srv.App().FindCollectionByNameOrId(schema.Secrets)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.App().Delete(col); err != nil {
		t.Fatal(err)
	}
	site := srv.AddWebsite(t, "old.example")
	ctx := context.Background()
	opts := options(srv, site.GetString("trackingId"))
	if _, err := skopos.Init(ctx, opts); !errors.Is(err, skopos.ErrSchemaMissing) {
		t.Fatalf("Init: %v, want ErrSchemaMissing", err)
	}
	opts.VisitorIDs = skopos.VisitorIDsCompatible
	c, err := skopos.Init(ctx, opts)
	if err != nil {
		t.Fatalf("compatible ids need no skopos_secrets: %v", err)
	}
	_ = c.Shutdown(ctx)
}
