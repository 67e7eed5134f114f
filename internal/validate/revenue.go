package validate

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/skopos-go/skopos/schema"
)

// Revenue limits: what events.revenueAmount and events.orderId hold.
const (
	// MaxRevenueMinor bounds an amount in minor units (10^12: ten
	// billion dollars), far above any order and far below int64's range.
	MaxRevenueMinor = schema.MaxRevenueAmount
	// MaxOrderID bounds an order id, in UTF-16 units.
	MaxOrderID = schema.MaxOrderID
)

// Revenue is an amount of money: Amount in the minor units of Currency
// (cents for USD, yen for JPY, fils for KWD). The zero value is no
// revenue.
type Revenue struct {
	Amount   int64  // 1..MaxRevenueMinor
	Currency string // active ISO 4217 code, upper case
}

// ParseRevenue checks a decimal amount ("29.99", "1500", "0.125") in
// currency and converts it to minor units by the currency's ISO 4217
// exponent. The text is converted digit by digit, never through a float,
// so "0.29" is 29 cents exactly. The amount must be greater than 0 (a
// refund is not revenue), in plain decimal notation (no sign, exponent or
// grouping), with no more non-zero decimals than the currency has ("1.5"
// JPY and "29.999" USD are refused; "29.990" USD is 2999), and at most
// MaxRevenueMinor minor units. Errors are *FieldError values naming
// "revenue.amount" or "revenue.currency".
func ParseRevenue(amount, currency string) (Revenue, error) {
	exp, ok := CurrencyExponent(currency)
	if !ok {
		return Revenue{}, fieldErr("revenue.currency", "must be an active ISO 4217 currency code such as USD, EUR or JPY")
	}
	intPart, frac, hasDot := strings.Cut(amount, ".")
	if intPart == "" || !allDigits(intPart) || hasDot && (frac == "" || !allDigits(frac)) {
		return Revenue{}, fieldErr("revenue.amount", `must be a positive decimal number such as 29.99 or "29.99"`)
	}
	frac = strings.TrimRight(frac, "0") // exact: trailing zeros change nothing
	if len(frac) > exp {
		return Revenue{}, fieldErr("revenue.amount", fmt.Sprintf("has more than %d decimals, the minor unit of %s", exp, strings.ToUpper(currency)))
	}
	intPart = strings.TrimLeft(intPart, "0")
	digits := intPart + frac + strings.Repeat("0", exp-len(frac))
	if len(digits) > 13 { // more than 10^13-1 minor units: over the bound, and no overflow below
		return Revenue{}, fieldErr("revenue.amount", fmt.Sprintf("larger than %d minor units", MaxRevenueMinor))
	}
	var n int64
	if digits != "" {
		n, _ = strconv.ParseInt(digits, 10, 64) // ≤ 13 digits: cannot fail
	}
	switch {
	case n == 0:
		return Revenue{}, fieldErr("revenue.amount", "must be greater than 0")
	case n > MaxRevenueMinor:
		return Revenue{}, fieldErr("revenue.amount", fmt.Sprintf("larger than %d minor units", MaxRevenueMinor))
	}
	return Revenue{Amount: n, Currency: strings.ToUpper(currency)}, nil
}

// FormatMinor writes minor units of currency as a decimal string in major
// units with the currency's exponent: 2999 USD is "29.99", 1500 JPY
// "1500", -5 EUR "-0.05". An unknown currency is taken to have 2 decimals.
func FormatMinor(minor int64, currency string) string {
	exp, ok := CurrencyExponent(currency)
	if !ok {
		exp = 2
	}
	neg := minor < 0
	s := strconv.FormatUint(uint64(minor), 10)
	if neg {
		s = strconv.FormatUint(-uint64(minor), 10)
	}
	if exp > 0 {
		if len(s) <= exp {
			s = strings.Repeat("0", exp-len(s)+1) + s
		}
		s = s[:len(s)-exp] + "." + s[len(s)-exp:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// OrderID checks an order id: 1..MaxOrderID UTF-16 units of printable
// characters (the ASCII space included), not blank. It is refused rather
// than cleaned, because a cleaned id would no longer match the same order
// sent by another source. Errors are *FieldError values naming "orderId".
func OrderID(id string) (string, error) {
	switch {
	case strings.TrimSpace(id) == "":
		return "", fieldErr("orderId", "must not be empty")
	case tooLong(id, MaxOrderID):
		return "", fieldErr("orderId", fmt.Sprintf("longer than %d characters", MaxOrderID))
	case !utf8.ValidString(id):
		return "", fieldErr("orderId", "must be valid UTF-8")
	}
	for _, r := range id {
		if !unicode.IsPrint(r) {
			return "", fieldErr("orderId", "must contain only printable characters")
		}
	}
	return id, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// revenueField decodes the payload's "revenue" object: {"amount": 29.99
// or "29.99", "currency": "USD"}. Absent or null yields the zero Revenue.
func revenueField(m object) (Revenue, error) {
	raw := m.field("revenue")
	if raw == nil {
		return Revenue{}, nil
	}
	if raw[0] != '{' {
		return Revenue{}, fieldErr("revenue", "must be an object {amount, currency}, got "+rawKind(raw))
	}
	obj := splitObject(raw)
	amount := obj.field("amount")
	var text string
	switch {
	case amount == nil:
		return Revenue{}, fieldErr("revenue.amount", "required")
	case amount[0] == '"':
		s, _, err := stringField(obj, "amount")
		if err != nil {
			return Revenue{}, err
		}
		text = s
	case amount[0] == '-' || amount[0] >= '0' && amount[0] <= '9':
		// the JSON number's own text: no float ever holds it
		text = string(amount)
	default:
		return Revenue{}, fieldErr("revenue.amount", "must be a number or a decimal string, got "+rawKind(amount))
	}
	currency, present, err := stringField(obj, "currency")
	switch {
	case err != nil:
		return Revenue{}, fieldErr("revenue.currency", "must be a string")
	case !present:
		return Revenue{}, fieldErr("revenue.currency", "required")
	}
	return ParseRevenue(text, currency)
}
