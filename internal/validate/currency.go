package validate

import "strings"

// currencyExponents maps the active ISO 4217 codes to their minor unit
// exponent (the digits after the decimal point). The table is ISO 4217
// "List One" (current currency & funds), as published by the maintenance
// agency SIX Financial Information (six-group.com, list_one.xml) in its
// 2025 amendments: funds and precious metals without minor units (XAU,
// XDR, XSU, XTS, XXX, …) are left out, since revenue in them makes no
// sense; ANG stays beside its successor XCG while both circulate.
var currencyExponents = buildCurrencies(map[int]string{
	0: "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF",
	2: "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN BZD " +
		"CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP " +
		"GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL " +
		"MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN " +
		"QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY " +
		"TTD TWD TZS UAH USD USN UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG",
	3: "BHD IQD JOD KWD LYD OMR TND",
	4: "CLF UYW",
})

func buildCurrencies(byExp map[int]string) map[string]int {
	m := map[string]int{}
	for exp, codes := range byExp {
		for _, c := range strings.Fields(codes) {
			m[c] = exp
		}
	}
	return m
}

// CurrencyExponent returns the number of decimals of an active ISO 4217
// currency (JPY 0, EUR 2, KWD 3); code is matched case-insensitively.
// ok is false for an unknown or inactive code.
func CurrencyExponent(code string) (exp int, ok bool) {
	if len(code) != 3 {
		return 0, false
	}
	exp, ok = currencyExponents[strings.ToUpper(code)]
	return exp, ok
}
