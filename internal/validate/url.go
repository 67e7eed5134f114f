package validate

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/skopos-go/skopos/internal/domain"
)

// The page URL, the referrer and the campaign parameters: what Decode
// keeps of the addresses a payload names.

// setURL validates the "url" field and fills Host, Path and UTM.
func (p *Payload) setURL(m object) error {
	raw, present, err := stringField(m, "url")
	switch {
	case err != nil:
		return err
	case !present || raw == "":
		return fieldErr("url", "required")
	case tooLong(raw, MaxURLIn):
		return fieldErr("url", fmt.Sprintf("longer than %d characters", MaxURLIn))
	}
	u, ok := parseHTTPURL(raw)
	if !ok {
		return fieldErr("url", "must be an absolute http(s) URL")
	}
	if p.Host, err = domain.Host(u.Hostname()); err != nil {
		return fieldErr("url", "has an invalid host")
	}
	p.Path = u.EscapedPath()
	if p.Path == "" {
		p.Path = "/"
	}
	p.Path = truncateEscaped(p.Path, MaxPath)
	p.UTM = extractUTM(u.RawQuery)
	return nil
}

// parseHTTPURL parses an absolute http or https URL with a host and, when
// present, a port in 1..65535.
func parseHTTPURL(raw string) (*url.URL, bool) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		return nil, false
	}
	if port := u.Port(); port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return nil, false
		}
	}
	return u, true
}

// cleanReferrer reduces an http(s) referrer to scheme://host[:port]/path and
// returns "" for anything else.
func cleanReferrer(raw string) string {
	if raw == "" {
		return ""
	}
	if pkg, ok := androidApp(raw); ok {
		return "android-app://" + pkg
	}
	u, ok := parseHTTPURL(raw)
	if !ok {
		return ""
	}
	host, err := domain.Host(u.Hostname())
	if err != nil {
		return ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port := u.Port(); port != "" {
		if n, _ := strconv.Atoi(port); !(u.Scheme == "http" && n == 80 || u.Scheme == "https" && n == 443) {
			host += ":" + strconv.Itoa(n)
		}
	}
	prefix := u.Scheme + "://" + host
	if len(prefix) > maxReferrerOrigin {
		return ""
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	return prefix + truncateEscaped(path, MaxReferrer-len(prefix))
}

// androidApp returns the package of an android-app:// referrer: 1 to 255
// letters, digits, '.' and '_', lower-cased (the channel rules look the
// package up: com.google.android.gm is Gmail).
func androidApp(raw string) (string, bool) {
	const scheme = "android-app://"
	if len(raw) <= len(scheme) || !strings.EqualFold(raw[:len(scheme)], scheme) {
		return "", false
	}
	pkg, _, _ := strings.Cut(raw[len(scheme):], "/")
	if pkg == "" || len(pkg) > 255 {
		return "", false
	}
	for _, r := range pkg {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_') {
			return "", false
		}
	}
	return strings.ToLower(pkg), true
}

// extractUTM collects the utm_* parameters of a raw query string, in order
// of appearance, within the UTM limits.
func extractUTM(q string) map[string]string {
	if !strings.Contains(q, "utm_") && !strings.Contains(q, "%") {
		return nil
	}
	var out map[string]string
	size := 2 // {}
	for q != "" {
		var pair string
		pair, q, _ = strings.Cut(q, "&")
		rawKey, rawVal, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(rawKey)
		if err != nil || !strings.HasPrefix(key, "utm_") {
			continue
		}
		if _, dup := out[key]; dup {
			continue
		}
		if len(out) == MaxUTMKeys {
			break
		}
		if tooLong(key, MaxUTMKey) || StripControl(key, false) != key {
			continue
		}
		val, err := url.QueryUnescape(rawVal)
		if err != nil {
			continue
		}
		val = Truncate(StripControl(val, false), MaxUTMValue)
		if val == "" {
			continue
		}
		cost := jsonStringLen(key, true) + 1 + jsonStringLen(val, true) + 1 // colon, comma
		if size+cost > MaxUTMJSONBytes+1 {                                  // the last entry has no comma
			break
		}
		size += cost
		if out == nil {
			out = make(map[string]string, 4)
		}
		out[key] = val
	}
	return out
}
