package skopos_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/skopos-go/skopos"
	"github.com/skopos-go/skopos/internal/browsertest"
	"github.com/skopos-go/skopos/schema"
)

// TestOrderRevenueCountsOnceFromBrowserAndServer: the browser script and
// the server's own handler both report order A-1; its revenue is stored
// once, whether the second report comes in the same flush or a later one,
// and the duplicates still count as events (their goal conversions).
func TestOrderRevenueCountsOnceFromBrowserAndServer(t *testing.T) {
	t.Parallel()
	srv, site, c := startClient(t)
	app := srv.App()
	other := srv.AddWebsite(t, "shop.example.net")
	ctx := context.Background()

	browser := httptest.NewRequest(http.MethodPost, "/api/event", nil)
	browser.RemoteAddr = "203.0.113.5:1234"
	browsertest.Headers(browser.Header, "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")
	server := httptest.NewRequest(http.MethodPost, "/checkout/done", nil)
	server.RemoteAddr = "203.0.113.5:1234"
	track := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	// the same flush: browser first, then the server
	track(c.TrackAPIEvent(browser, []byte(`{"type":"custom","name":"Purchase","url":"https://example.com/thanks",`+
		`"revenue":{"amount":29.99,"currency":"usd"},"orderId":"A-1"}`)))
	track(c.TrackServerEvent(server, "Purchase", nil, skopos.WithRevenue("29.99", "USD"), skopos.WithOrderID("A-1")))
	// the same order id on another website is another order
	track(c.TrackServerEvent(server, "Purchase", nil, skopos.WithSite(other.GetString("trackingId")),
		skopos.WithRevenue("1500", "JPY"), skopos.WithOrderID("A-1")))
	// revenue without an order id is never a duplicate
	track(c.TrackServerEvent(server, "Tip", nil, skopos.WithRevenue("2", "EUR")))
	track(c.TrackServerEvent(server, "Tip", nil, skopos.WithRevenue("2", "EUR")))
	track(c.FlushEvents(ctx))
	// a later flush: the server reports A-1 again, the browser A-2 after the server did
	track(c.TrackServerEvent(server, "Purchase", nil, skopos.WithRevenue("29.99", "USD"), skopos.WithOrderID("A-1")))
	track(c.TrackServerEvent(server, "Purchase", nil, skopos.WithRevenue("0.125", "KWD"), skopos.WithOrderID("A-2")))
	track(c.FlushEvents(ctx))
	track(c.TrackAPIEvent(browser, []byte(`{"type":"custom","name":"Purchase","url":"https://example.com/thanks",`+
		`"revenue":{"amount":"0.125","currency":"KWD"},"orderId":"A-2"}`)))
	track(c.FlushEvents(ctx))

	type row struct {
		Website  string `db:"website"`
		Name     string `db:"eventName"`
		Amount   int64  `db:"revenueAmount"`
		Currency string `db:"revenueCurrency"`
		Order    string `db:"orderId"`
	}
	var rows []row
	if err := app.DB().Select("website", "eventName", "revenueAmount", "revenueCurrency", "orderId").From(schema.Events).
		OrderBy("timestamp", "id").All(&rows); err != nil {
		t.Fatal(err)
	}
	paid := map[string][]row{} // website/order → rows with revenue
	events := map[string]int{}
	for _, r := range rows {
		k := r.Website + "/" + r.Order
		events[k]++
		if r.Amount != 0 || r.Currency != "" {
			paid[k] = append(paid[k], r)
		}
	}
	check := func(k string, nEvents int, want ...row) {
		t.Helper()
		if events[k] != nEvents || len(paid[k]) != len(want) {
			t.Fatalf("%s: %d events, %d with revenue (%+v); want %d, %d", k, events[k], len(paid[k]), paid[k], nEvents, len(want))
		}
		for i := range want {
			if paid[k][i].Amount != want[i].Amount || paid[k][i].Currency != want[i].Currency {
				t.Errorf("%s: revenue %+v, want %+v", k, paid[k][i], want[i])
			}
		}
	}
	check(site.Id+"/A-1", 3, row{Amount: 2999, Currency: "USD"})
	check(site.Id+"/A-2", 2, row{Amount: 125, Currency: "KWD"})
	check(other.Id+"/A-1", 1, row{Amount: 1500, Currency: "JPY"})
	check(site.Id+"/", 2, row{Amount: 200, Currency: "EUR"}, row{Amount: 200, Currency: "EUR"})
	if st := c.Stats(); st.DuplicateOrders != 3 || st.Stored != 8 {
		t.Errorf("DuplicateOrders = %d, Stored = %d; want 3, 8", st.DuplicateOrders, st.Stored)
	}
}

func TestTrackServerEventRefusesBadRevenue(t *testing.T) {
	t.Parallel()
	_, _, c := startClient(t)
	r := httptest.NewRequest(http.MethodPost, "/checkout", nil)
	for _, tt := range []struct {
		opts  []skopos.TrackOption
		field string
	}{
		{[]skopos.TrackOption{skopos.WithRevenue("29.999", "USD")}, "revenue.amount"},
		{[]skopos.TrackOption{skopos.WithRevenue("0", "USD")}, "revenue.amount"},
		{[]skopos.TrackOption{skopos.WithRevenue("29.99", "")}, "revenue.currency"},
		{[]skopos.TrackOption{skopos.WithRevenue("", "USD")}, "revenue.amount"},
		{[]skopos.TrackOption{skopos.WithRevenue("5", "EUR"), skopos.WithOrderID(strings.Repeat("x", 65))}, "orderId"},
	} {
		err := c.TrackServerEvent(r, "Purchase", nil, tt.opts...)
		if !errors.Is(err, skopos.ErrInvalidPayload) || !strings.Contains(err.Error(), tt.field) {
			t.Errorf("%v; want ErrInvalidPayload naming %s", err, tt.field)
		}
	}
}
