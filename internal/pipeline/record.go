package pipeline

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// An intake log record is an Event as JSON (the field names of the Go
// struct, read back with encoding/json). Encoding it with reflection cost
// ~5 µs of every accepted request's ~70, so the intake writes it by hand;
// TestRecordEncodingMatchesEncodingJSON and FuzzRecordEncoding prove that
// json.Unmarshal reads back exactly what json.Marshal would have given.

// AppendRecord appends ev as JSON to b: the intake log's record, and an
// event of a forwarded batch (package wire).
func AppendRecord(b []byte, ev *Event) ([]byte, error) {
	b = append(b, `{"ID":`...)
	b = appendString(b, ev.ID)
	b = append(b, `,"Kind":`...)
	b = strconv.AppendUint(b, uint64(ev.Kind), 10)
	if y := ev.Time.Year(); y < 0 || y > 9999 {
		return nil, fmt.Errorf("pipeline: time %v cannot be written", ev.Time)
	}
	b = append(b, `,"Time":"`...)
	b = ev.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","TrackingID":`...)
	b = appendString(b, ev.TrackingID)
	b = append(b, `,"WebsiteID":`...)
	b = appendString(b, ev.WebsiteID)
	b = append(b, `,"Visitor":`...)
	b = appendString(b, ev.Visitor)
	b = append(b, `,"IP":"`...)
	if ev.IP.IsValid() {
		b = ev.IP.AppendTo(b)
	}
	b = append(b, `","StoreIP":`...)
	b = strconv.AppendBool(b, ev.StoreIP)
	b = append(b, `,"UA":`...)
	b = appendString(b, ev.UA)
	b = append(b, `,"Path":`...)
	b = appendString(b, ev.Path)
	b = append(b, `,"Name":`...)
	b = appendString(b, ev.Name)
	if ev.Data != nil {
		data, err := json.Marshal(ev.Data)
		if err != nil {
			return nil, err
		}
		b = append(b, `,"Data":`...)
		b = append(b, data...)
	}
	if math.IsNaN(ev.Duration) || math.IsInf(ev.Duration, 0) {
		return nil, fmt.Errorf("pipeline: duration %v cannot be written", ev.Duration)
	}
	b = append(b, `,"Duration":`...)
	b = strconv.AppendFloat(b, ev.Duration, 'g', -1, 64)
	if ev.RevenueAmount != 0 || ev.RevenueCurrency != "" || ev.OrderID != "" {
		b = append(b, `,"RevenueAmount":`...)
		b = strconv.AppendInt(b, ev.RevenueAmount, 10)
		b = append(b, `,"RevenueCurrency":`...)
		b = appendString(b, ev.RevenueCurrency)
		b = append(b, `,"OrderID":`...)
		b = appendString(b, ev.OrderID)
	}
	b = append(b, `,"Referrer":`...)
	b = appendString(b, ev.Referrer)
	b = append(b, `,"Language":`...)
	b = appendString(b, ev.Language)
	b = append(b, `,"ScreenWidth":`...)
	b = strconv.AppendInt(b, int64(ev.ScreenWidth), 10)
	b = append(b, `,"ScreenHeight":`...)
	b = strconv.AppendInt(b, int64(ev.ScreenHeight), 10)
	if ev.UTM != nil {
		b = append(b, `,"UTM":{`...)
		first := true
		for k, v := range ev.UTM {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendString(b, k)
			b = append(b, ':')
			b = appendString(b, v)
		}
		b = append(b, '}')
	}
	b = append(b, `,"ErrorMessage":`...)
	b = appendString(b, ev.ErrorMessage)
	b = append(b, `,"StackTrace":`...)
	b = appendString(b, ev.StackTrace)
	if ev.Forwarded {
		b = append(b, `,"Forwarded":true`...)
	}
	if ev.PID != "" {
		b = append(b, `,"PID":`...)
		b = appendString(b, ev.PID)
	}
	if ev.EngagedMs != 0 || ev.Scroll != 0 {
		b = append(b, `,"EngagedMs":`...)
		b = strconv.AppendInt(b, int64(ev.EngagedMs), 10)
		b = append(b, `,"Scroll":`...)
		b = strconv.AppendInt(b, int64(ev.Scroll), 10)
	}
	return append(b, '}'), nil
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string. Like encoding/json, invalid
// UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
