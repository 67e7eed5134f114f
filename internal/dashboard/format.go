package dashboard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/skopos-go/skopos/internal/worldmap"
)

func count(v float64) string   { return formatInt(v) }
func percent(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) + "%" }

// prettyJSON indents a stored JSON payload for reading; the result is
// still untrusted text and is escaped by the template.
func prettyJSON(raw string) string {
	if raw == "" || raw == "null" || raw == "{}" {
		return "(no data)"
	}
	var b bytes.Buffer
	if json.Indent(&b, []byte(raw), "", "  ") != nil {
		return raw
	}
	return b.String()
}

// place joins a country's and a region's names, leaving out an unknown
// region.
func place(country, state string) string {
	if state == "" || state == "Unknown" || state == country {
		return country
	}
	return worldmap.RegionName(state) + ", " + country
}

// keyCode is keyName read back: a country's or region's name as
// keyName shows it ("Germany", "Bayern, Germany") is its code; anything
// else (a code, another dimension's key) comes back as it is.
func keyCode(dim, v string) string {
	switch dim {
	case "country":
		return worldmap.Code(v)
	case "region":
		if i := strings.LastIndex(v, ", "); i >= 0 {
			if cc := worldmap.Code(v[i+2:]); len(cc) == 2 {
				if code, ok := worldmap.RegionCode(cc, v[:i]); ok {
					return code
				}
			}
		}
	}
	return v
}

// keyName is how the dashboard shows a breakdown key: the name of a
// country or region code (with its country: regions of several countries
// share names), anything else as it is. Filters and links keep the code.
func keyName(dim, key string) string {
	switch dim {
	case "country":
		return worldmap.Name(key)
	case "region":
		if country, _, ok := strings.Cut(key, "-"); ok && worldmap.RegionName(key) != key {
			return worldmap.RegionName(key) + ", " + worldmap.Name(country)
		}
	}
	return key
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "Yes"
	}
	return "No"
}

func formatInt(v any) string {
	var n int64
	switch x := v.(type) {
	case int:
		n = int64(x)
	case int64:
		n = x
	case float64:
		n = int64(math.Round(x))
	default:
		return fmt.Sprint(v)
	}
	neg := n < 0
	if neg {
		n = -n
	}
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func formatDuration(seconds float64) string {
	d := time.Duration(math.Round(seconds)) * time.Second
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm %02ds", int(d.Minutes()), int(d.Seconds())%60)
	default:
		return fmt.Sprintf("%dh %02dm", int(d.Hours()), int(d.Minutes())%60)
	}
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.UTC().Format("2006-01-02 15:04:05") + " UTC"
}

// orNA shows an optional score, "N/A" when it is unknown.
func orNA(v *int) string {
	if v == nil {
		return "N/A"
	}
	return strconv.Itoa(*v)
}

// formatSize shows a byte count in bytes or kB (1000 bytes), as page
// weights are usually quoted.
func formatSize(n int64) string {
	if n < 1000 {
		return strconv.FormatInt(n, 10) + " bytes"
	}
	return strconv.FormatFloat(math.Round(float64(n)/100)/10, 'f', -1, 64) + " kB"
}

// formatThrough names the last day an expiry at t (the midnight after
// that day, in zone) still allows: "valid through 2027-02-07" means until
// the end of Feb 7 in the website's zone (UTC for an API key), which is
// how the expiry pickers read the day chosen.
func formatThrough(t time.Time, zone string) string {
	loc, err := time.LoadLocation(zone)
	if err != nil {
		loc = time.UTC
	}
	return t.In(loc).Add(-time.Nanosecond).Format(time.DateOnly)
}
