package pipeline

import (
	"encoding/json"
	"math"
	"net/netip"
	"reflect"
	"testing"
	"time"
)

func decodeRecord(t testing.TB, data []byte) Event {
	t.Helper()
	var ev Event
	if err := json.Unmarshal(data, &ev); err != nil {
		t.Fatalf("%v in %s", err, data)
	}
	return ev
}

// checkRecord: what the feeder reads back from AppendRecord's bytes is
// what it would read from encoding/json's.
func checkRecord(t testing.TB, ev Event) {
	t.Helper()
	want, err := json.Marshal(ev)
	got, gerr := AppendRecord(nil, &ev)
	if (err == nil) != (gerr == nil) {
		t.Fatalf("encoding/json error %v, AppendRecord error %v", err, gerr)
	}
	if err != nil {
		return
	}
	if !json.Valid(got) {
		t.Fatalf("not JSON: %s", got)
	}
	if w, g := decodeRecord(t, want), decodeRecord(t, got); !reflect.DeepEqual(w, g) {
		t.Fatalf("read back differently:\nencoding/json %+v\nAppendRecord  %+v\n%s", w, g, got)
	}
}

func TestRecordEncodingMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 29, 23, 59, 59, 123_000_000, time.UTC)
	for _, ev := range []Event{
		{},
		{ID: "abc", Kind: PageView, Time: now, TrackingID: "t", WebsiteID: "w", Visitor: "v", IP: netip.MustParseAddr("203.0.113.9"),
			UA: "Mozilla/5.0", Path: "/a", ScreenWidth: -1, ScreenHeight: 720, Language: "de-DE", Referrer: "https://r.example/"},
		{Kind: Custom, Name: `sign "up" \ <b>&`, Data: map[string]any{"plan": "pro", "n": json.Number("3"), "nested": map[string]any{"k": []any{"x", true, nil}}},
			Duration: 12.5, UTM: map[string]string{"utm_source": "news\n", "utm_medium": "\u2028mail\x00"}},
		{Kind: JSError, ErrorMessage: "TypeError: a\tb\r\n\x01\x1f\x7f", StackTrace: "at f (app.js:1:2)\n", IP: netip.MustParseAddr("2001:db8::1"), StoreIP: true},
		{UA: "bad \xff\xfe utf8 \xe2\x82 cut", Path: "/é😀", Duration: 1e-9},
		{Data: map[string]any{}, UTM: map[string]string{}, Duration: 1e21, Forwarded: true},
		{Kind: Server, Name: "buy", RevenueAmount: 2999, RevenueCurrency: "USD", OrderID: `A-1 "x" \ 😀`},
		{Kind: Custom, OrderID: "A-2"},
		{RevenueAmount: -1 << 63, RevenueCurrency: "\xff"},
		{Duration: math.Inf(1)},
		{Duration: math.NaN()},
		{Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("x", 3600))},
		{Kind: PageView, PID: "0a1b2c3d4e5f6g7h"},
		{Kind: Engagement, PID: "0a1b2c3d", EngagedMs: 86_400_000, Scroll: 100},
		{Kind: Engagement, PID: "0a1b2c3d", EngagedMs: 0, Scroll: 7},
		{Kind: Engagement, PID: "0a1b2c3d", EngagedMs: 1, Scroll: 0},
	} {
		checkRecord(t, ev)
	}
}

func FuzzRecordEncoding(f *testing.F) {
	f.Add("id", "Mozilla/5.0 \xff", "/p\n\"", "name\\", "ref\x00", "en", "msg\u2028", "stack", 1.5, 3, -1, "203.0.113.1")
	f.Fuzz(func(t *testing.T, id, ua, path, name, ref, lang, msg, stack string, dur float64, kind, w int, ip string) {
		// the revenue fields reuse w and the strings: the fuzz signature stays
		// that of the stored corpus
		addr, _ := netip.ParseAddr(ip)
		ev := Event{ID: id, Kind: Kind(uint8(kind)), Time: time.UnixMilli(int64(w) * 7919).UTC(), TrackingID: name, Visitor: id,
			IP: addr, UA: ua, Path: path, Name: name, Data: map[string]any{name: ua, "n": dur},
			Duration: dur, Referrer: ref, Language: lang, ScreenWidth: w, ScreenHeight: -w,
			UTM: map[string]string{"utm_source": path, lang: msg}, ErrorMessage: msg, StackTrace: stack,
			RevenueAmount: int64(w) * 7919, RevenueCurrency: lang, OrderID: stack,
			PID: stack, EngagedMs: kind, Scroll: -w}
		if math.IsNaN(dur) || math.IsInf(dur, 0) {
			ev.Data = nil // encoding/json refuses them inside Data as well
		}
		checkRecord(t, ev)
	})
}

// BenchmarkRecordEncoding: one intake log record, by hand and by
// encoding/json (what the intake did before).
func BenchmarkRecordEncoding(b *testing.B) {
	ev := Event{ID: "abcdefghijklmno", Kind: PageView, Time: time.Now().UTC().Truncate(time.Millisecond), TrackingID: "sk_0123456789", WebsiteID: "w1",
		Visitor: "0123456789abcdef0123456789abcdef", IP: netip.MustParseAddr("203.0.113.9"),
		UA:   "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		Path: "/pricing", Referrer: "https://news.example.org/item?id=1", Language: "en-GB", ScreenWidth: 1536, ScreenHeight: 864,
		UTM: map[string]string{"utm_source": "news"}}
	b.Run("AppendRecord", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 512)
		for b.Loop() {
			if _, err := AppendRecord(buf[:0], &ev); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(ev); err != nil {
				b.Fatal(err)
			}
		}
	})
}
