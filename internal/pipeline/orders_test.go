package pipeline

import (
	"strings"
	"testing"
	"time"
)

// TestForwardedRevenueIsChecked: a server does not take an SDK's word for
// revenue: the currency, the bounds and the order id are checked again.
func TestForwardedRevenueIsChecked(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC()
	base := Event{ID: "abcdefghijklmno", Kind: Custom, Time: now, TrackingID: "t", Visitor: "v", Name: "buy", ScreenWidth: -1, ScreenHeight: -1}
	for _, tt := range []struct {
		amount   int64
		currency string
		order    string
		kind     Kind
		ok       bool
	}{
		{0, "", "", Custom, true},
		{2999, "USD", "A-1", Custom, true},
		{2999, "USD", "", Server, true},
		{0, "", "A-1", Custom, true}, // an order id alone
		{1, "JPY", "", Custom, true},
		{1_000_000_000_000, "KWD", "", Custom, true},
		{1_000_000_000_001, "KWD", "", Custom, false},
		{0, "USD", "", Custom, false},
		{-5, "USD", "", Custom, false},
		{5, "", "", Custom, false},
		{5, "usd", "", Custom, false}, // stored upper case only
		{5, "XAU", "", Custom, false},
		{5, "USD", strings.Repeat("x", 65), Custom, false},
		{5, "USD", "a\nb", Custom, false},
		{5, "USD", "", PageView, false},
		{0, "", "A-1", PageView, false},
	} {
		ev := base
		ev.Kind, ev.RevenueAmount, ev.RevenueCurrency, ev.OrderID = tt.kind, tt.amount, tt.currency, tt.order
		if why := checkForwarded(&ev, now); (why == "") != tt.ok {
			t.Errorf("%v %d %q order %q: %q, want ok=%v", tt.kind, tt.amount, tt.currency, tt.order, why, tt.ok)
		}
	}
}
