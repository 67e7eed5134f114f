package validate

import (
	"errors"
	"math/big"
	"strings"
	"testing"
)

func TestParseRevenue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		amount, currency string
		want             Revenue
		wantErr          string // field of the FieldError; "" for success
	}{
		{"29.99", "USD", Revenue{2999, "USD"}, ""},
		{"29.99", "usd", Revenue{2999, "USD"}, ""}, // case-insensitive in, upper case out
		{"0.29", "EUR", Revenue{29, "EUR"}, ""},    // a float would give 28.999…
		{"29.990", "USD", Revenue{2999, "USD"}, ""},
		{"29.999", "USD", Revenue{}, "revenue.amount"}, // more decimals than cents
		{"1500", "JPY", Revenue{1500, "JPY"}, ""},
		{"1500.0", "JPY", Revenue{1500, "JPY"}, ""},
		{"1500.5", "JPY", Revenue{}, "revenue.amount"}, // JPY has no minor unit
		{"1.234", "KWD", Revenue{1234, "KWD"}, ""},
		{"1.2345", "KWD", Revenue{}, "revenue.amount"},
		{"0.125", "BHD", Revenue{125, "BHD"}, ""},
		{"1.0001", "CLF", Revenue{10001, "CLF"}, ""},
		{"007.50", "GBP", Revenue{750, "GBP"}, ""},
		// > 0: the lower bound on both sides
		{"0", "USD", Revenue{}, "revenue.amount"},
		{"0.00", "USD", Revenue{}, "revenue.amount"},
		{"0.01", "USD", Revenue{1, "USD"}, ""},
		{"1", "JPY", Revenue{1, "JPY"}, ""},
		{"-1", "USD", Revenue{}, "revenue.amount"},
		// ≤ 10^12 minor units: the upper bound on both sides
		{"10000000000.00", "USD", Revenue{MaxRevenueMinor, "USD"}, ""},
		{"10000000000.01", "USD", Revenue{}, "revenue.amount"},
		{"1000000000000", "JPY", Revenue{MaxRevenueMinor, "JPY"}, ""},
		{"1000000000001", "JPY", Revenue{}, "revenue.amount"},
		{"99999999999999999999999999", "USD", Revenue{}, "revenue.amount"},
		{"0000000000000000000001", "JPY", Revenue{1, "JPY"}, ""}, // leading zeros count for nothing
		// notation
		{"1e3", "USD", Revenue{}, "revenue.amount"},
		{"+5", "USD", Revenue{}, "revenue.amount"},
		{"5.", "USD", Revenue{}, "revenue.amount"},
		{".5", "USD", Revenue{}, "revenue.amount"},
		{"1,000", "USD", Revenue{}, "revenue.amount"},
		{" 5", "USD", Revenue{}, "revenue.amount"},
		{"", "USD", Revenue{}, "revenue.amount"},
		{"٣", "USD", Revenue{}, "revenue.amount"}, // only ASCII digits
		// currency
		{"5", "", Revenue{}, "revenue.currency"},
		{"5", "US", Revenue{}, "revenue.currency"},
		{"5", "USDT", Revenue{}, "revenue.currency"},
		{"5", "XAU", Revenue{}, "revenue.currency"}, // gold has no minor unit
		{"5", "HRK", Revenue{}, "revenue.currency"}, // withdrawn in 2023
		{"5", "BTC", Revenue{}, "revenue.currency"},
	}
	for _, tt := range tests {
		got, err := ParseRevenue(tt.amount, tt.currency)
		if tt.wantErr != "" {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.wantErr || !errors.Is(err, ErrInvalid) {
				t.Errorf("ParseRevenue(%q, %q) = %v, %v; want a FieldError on %s", tt.amount, tt.currency, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseRevenue(%q, %q) = %v, %v; want %v", tt.amount, tt.currency, got, err, tt.want)
		}
	}
}

func TestCurrencyTable(t *testing.T) {
	t.Parallel()
	for code, want := range map[string]int{"JPY": 0, "KRW": 0, "USD": 2, "EUR": 2, "KWD": 3, "BHD": 3, "TND": 3, "CLF": 4} {
		if exp, ok := CurrencyExponent(code); !ok || exp != want {
			t.Errorf("%s: exponent %d, %v; want %d", code, exp, ok, want)
		}
	}
	if n := len(currencyExponents); n < 150 || n > 190 {
		t.Errorf("%d codes: the active ISO 4217 list has about 160", n)
	}
	for code := range currencyExponents {
		if len(code) != 3 || strings.ToUpper(code) != code {
			t.Errorf("code %q", code)
		}
	}
}

func TestFormatMinor(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		minor    int64
		currency string
		want     string
	}{
		{2999, "USD", "29.99"}, {5, "EUR", "0.05"}, {100, "EUR", "1.00"}, {0, "USD", "0.00"}, {-5, "EUR", "-0.05"},
		{1500, "JPY", "1500"}, {1234, "KWD", "1.234"}, {7, "KWD", "0.007"}, {MaxRevenueMinor, "USD", "10000000000.00"},
		{250, "???", "2.50"},
	} {
		if got := FormatMinor(tt.minor, tt.currency); got != tt.want {
			t.Errorf("FormatMinor(%d, %s) = %q, want %q", tt.minor, tt.currency, got, tt.want)
		}
	}
}

func TestOrderID(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		id string
		ok bool
	}{
		{"A-1001", true}, {"x", true}, {"order 7", true}, {"😀", true},
		{strings.Repeat("a", MaxOrderID), true}, {strings.Repeat("a", MaxOrderID+1), false},
		{strings.Repeat("😀", MaxOrderID/2), true}, {strings.Repeat("😀", MaxOrderID/2) + "a", false}, // UTF-16 units
		{"", false}, {"   ", false}, {"a\nb", false}, {"a\x00", false}, {"a\u0085", false}, {"a\u2028b", false}, {"a\xff", false},
	} {
		got, err := OrderID(tt.id)
		if tt.ok != (err == nil) || tt.ok && got != tt.id {
			t.Errorf("OrderID(%q) = %q, %v; want ok=%v", tt.id, got, err, tt.ok)
		}
		var fe *FieldError
		if err != nil && (!errors.As(err, &fe) || fe.Field != "orderId") {
			t.Errorf("OrderID(%q): error %v does not name orderId", tt.id, err)
		}
	}
}

func TestDecodeRevenue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		f       fields
		want    Revenue
		orderID string
		wantErr string
	}{
		{name: "number", f: custom(fields{"revenue": fields{"amount": rawNumber("29.99"), "currency": "usd"}}), want: Revenue{2999, "USD"}},
		{name: "string", f: custom(fields{"revenue": fields{"amount": "29.99", "currency": "EUR"}}), want: Revenue{2999, "EUR"}},
		{name: "with order", f: custom(fields{"revenue": fields{"amount": 5, "currency": "JPY"}, "orderId": "A-1"}), want: Revenue{5, "JPY"}, orderID: "A-1"},
		{name: "order alone", f: custom(fields{"orderId": "A-1"}), orderID: "A-1"},
		{name: "null revenue", f: custom(fields{"revenue": nil, "orderId": nil})},
		{name: "float noise", f: custom(fields{"revenue": fields{"amount": rawNumber("0.30000000000000004"), "currency": "USD"}}), wantErr: "revenue.amount"},
		{name: "exponent", f: custom(fields{"revenue": fields{"amount": rawNumber("1e2"), "currency": "USD"}}), wantErr: "revenue.amount"},
		{name: "negative", f: custom(fields{"revenue": fields{"amount": rawNumber("-5"), "currency": "USD"}}), wantErr: "revenue.amount"},
		{name: "zero", f: custom(fields{"revenue": fields{"amount": 0, "currency": "USD"}}), wantErr: "revenue.amount"},
		{name: "boolean amount", f: custom(fields{"revenue": fields{"amount": true, "currency": "USD"}}), wantErr: "revenue.amount"},
		{name: "no amount", f: custom(fields{"revenue": fields{"currency": "USD"}}), wantErr: "revenue.amount"},
		{name: "no currency", f: custom(fields{"revenue": fields{"amount": 5}}), wantErr: "revenue.currency"},
		{name: "numeric currency", f: custom(fields{"revenue": fields{"amount": 5, "currency": 840}}), wantErr: "revenue.currency"},
		{name: "unknown currency", f: custom(fields{"revenue": fields{"amount": 5, "currency": "ABC"}}), wantErr: "revenue.currency"},
		{name: "not an object", f: custom(fields{"revenue": 5}), wantErr: "revenue"},
		{name: "order id a number", f: custom(fields{"orderId": 7}), wantErr: "orderId"},
		{name: "order id 65", f: custom(fields{"orderId": rep("a", 65)}), wantErr: "orderId"},
		{name: "order id 64", f: custom(fields{"orderId": rep("a", 64)}), orderID: rep("a", 64)},
		{name: "page view with revenue", f: fields{"revenue": fields{"amount": 5, "currency": "USD"}}, wantErr: "revenue"},
		{name: "page view with order", f: fields{"orderId": "A-1"}, wantErr: "orderId"},
		{name: "js error with revenue", f: jsErr(fields{"revenue": fields{"amount": 5, "currency": "USD"}}), wantErr: "revenue"},
	}
	for _, tt := range tests {
		p, err := Decode(build(t, tt.f))
		if tt.wantErr != "" {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.wantErr {
				t.Errorf("%s: %v, want a FieldError on %s", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil || p.Revenue != tt.want || p.OrderID != tt.orderID {
			t.Errorf("%s: %+v %q, %v; want %+v %q", tt.name, p.Revenue, p.OrderID, err, tt.want, tt.orderID)
		}
	}
}

// FuzzParseRevenue checks the conversion against exact rational
// arithmetic: whatever is accepted is amount × 10^exponent exactly.
func FuzzParseRevenue(f *testing.F) {
	for _, s := range []string{"29.99", "0.01", "1e3", "10000000000.00", "-1", "007.50", "1.2345"} {
		f.Add(s, "USD")
		f.Add(s, "kwd")
		f.Add(s, "JPY")
	}
	f.Fuzz(func(t *testing.T, amount, currency string) {
		r, err := ParseRevenue(amount, currency)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || !strings.HasPrefix(fe.Field, "revenue.") {
				t.Fatalf("error %v", err)
			}
			return
		}
		exp, _ := CurrencyExponent(currency)
		want, ok := new(big.Rat).SetString(amount)
		if !ok {
			t.Fatalf("accepted %q, which is not a number", amount)
		}
		want.Mul(want, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exp)), nil)))
		if !want.IsInt() || want.Num().Int64() != r.Amount || r.Amount < 1 || r.Amount > MaxRevenueMinor {
			t.Fatalf("ParseRevenue(%q, %q) = %d; exactly %s", amount, currency, r.Amount, want.FloatString(4))
		}
		back, err := ParseRevenue(FormatMinor(r.Amount, r.Currency), r.Currency)
		if err != nil || back != r {
			t.Fatalf("round trip of %v: %v, %v", r, back, err)
		}
	})
}
