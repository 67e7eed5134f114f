package pagespeed

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skopos-go/skopos/internal/testwait"
)

// testKey looks like a Google API key, so that a leak would be visible.
const testKey = "AIzaSyD-test_KEY0123456789abcdefghijklm"

func fixture(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/runpagespeed.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// stub starts a stand-in for the API that answers with h, counting the
// requests, and a Client for it that does not wait long between retries.
func stub(t *testing.T, h http.HandlerFunc) (*Client, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return &Client{BaseURL: srv.URL, Timeout: testwait.Timeout(), Backoff: time.Millisecond}, &n
}

func answerWith(body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.Write(body)
	}
}

// failThenAnswer answers the first failures requests with fail, the next
// ones with the fixture.
func failThenAnswer(t *testing.T, failures int64, fail http.HandlerFunc) http.HandlerFunc {
	var calls atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= failures {
			fail(w, r)
			return
		}
		answerWith(fixture(t))(w, r)
	}
}

func apiErrorBody(code int, status, message string) []byte {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{
		"code": code, "status": status, "message": message,
		"errors": []any{map[string]any{"message": message, "domain": "global", "reason": "rateLimitExceeded"}},
	}})
	return b
}

func intp(i int) *int { return &i }

func floatp(f float64) *float64 { return &f }

func TestRunReadsScoresAndMetrics(t *testing.T) {
	got := make(chan *url.URL, 1)
	c, _ := stub(t, func(w http.ResponseWriter, r *http.Request) {
		got <- r.URL
		answerWith(fixture(t))(w, r)
	})
	res, err := c.Run(context.Background(), "https://www.example.com/", Desktop, testKey)
	if err != nil {
		t.Fatal(err)
	}
	u := <-got
	if u.Path != "/pagespeedonline/v5/runPagespeed" {
		t.Errorf("path %q", u.Path)
	}
	q := u.Query()
	for name, want := range map[string][]string{
		"url":      {"https://www.example.com/"},
		"strategy": {"desktop"},
		"key":      {testKey},
		"category": {"performance", "accessibility", "best-practices", "seo"},
	} {
		if !reflect.DeepEqual(q[name], want) {
			t.Errorf("stub received %s=%q; want %q", name, q[name], want)
		}
	}
	want := &Result{
		Strategy: Desktop,
		// 0.87, 0.954, 1 and 0.915 rounded.
		Scores: Scores{Performance: intp(87), Accessibility: intp(95), BestPractices: intp(100), SEO: intp(92)},
		Metrics: Metrics{
			LCPms: floatp(2634.25), CLS: floatp(0.0123), TBTms: floatp(90),
			FCPms: floatp(1412.5), SpeedIndexms: floatp(3120.8),
		},
		FinalURL:          "https://www.example.com/",
		LighthouseVersion: "12.2.1",
		FetchTime:         "2025-01-15T10:21:43.512Z",
		Warnings:          []string{"lighthouse: The page loaded too slowly to finish within the time limit. Results may be incomplete."},
	}
	if !reflect.DeepEqual(res, want) {
		g, _ := json.Marshal(res)
		w, _ := json.Marshal(want)
		t.Errorf("got  %s\nwant %s", g, w)
	}
}

func TestRunDefaultsToMobile(t *testing.T) {
	got := make(chan string, 1)
	c, _ := stub(t, func(w http.ResponseWriter, r *http.Request) {
		got <- r.URL.Query().Get("strategy")
		answerWith(fixture(t))(w, r)
	})
	res, err := c.Run(context.Background(), "https://www.example.com/", "", testKey)
	if err != nil {
		t.Fatal(err)
	}
	if strategy := <-got; strategy != Mobile || res.Strategy != Mobile {
		t.Fatalf("stub saw strategy %q, result %q; want mobile", strategy, res.Strategy)
	}
	if _, err := c.Run(context.Background(), "https://www.example.com/", "tablet", testKey); err == nil {
		t.Error("strategy tablet accepted")
	}
}

func TestRunWithoutKeySendsNothing(t *testing.T) {
	c, n := stub(t, answerWith(fixture(t)))
	if _, err := c.Run(context.Background(), "https://www.example.com/", Mobile, ""); !errors.Is(err, ErrNoKey) {
		t.Errorf("err = %v; want ErrNoKey", err)
	}
	if n.Load() != 0 {
		t.Errorf("stub got %d requests; want 0", n.Load())
	}
}

func TestRunRetriesAfter429(t *testing.T) {
	c, n := stub(t, failThenAnswer(t, 1, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write(apiErrorBody(429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Queries'"))
	}))
	res, err := c.Run(context.Background(), "https://www.example.com/", Mobile, testKey)
	if err != nil || res.Scores.Performance == nil {
		t.Fatalf("got %v, %v; want the second answer's scores", res, err)
	}
	if n.Load() != 2 {
		t.Errorf("stub got %d requests; want 2", n.Load())
	}
}

func TestRunHonoursRetryAfterUpToItsCap(t *testing.T) {
	c, _ := stub(t, failThenAnswer(t, 1, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	c.MaxRetryAfter = 200 * time.Millisecond
	start := time.Now()
	if _, err := c.Run(context.Background(), "https://www.example.com/", Mobile, testKey); err != nil {
		t.Fatal(err)
	}
	// Backoff is 1 ms: only Retry-After, capped, explains this wait.
	if waited := time.Since(start); waited < c.MaxRetryAfter {
		t.Errorf("retried after %v; want at least the capped Retry-After %v", waited, c.MaxRetryAfter)
	}
}

func TestRunQuotaAfterEveryRetry(t *testing.T) {
	c, n := stub(t, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write(apiErrorBody(429, "RESOURCE_EXHAUSTED", "Quota exceeded"))
	})
	_, err := c.Run(context.Background(), "https://www.example.com/", Mobile, testKey)
	if !errors.Is(err, ErrQuota) || !strings.Contains(err.Error(), "Quota exceeded") {
		t.Errorf("err = %v; want ErrQuota with the API's message", err)
	}
	if n.Load() != 3 {
		t.Errorf("stub got %d requests; want 1 + 2 retries", n.Load())
	}
	n.Store(0)
	c.Retries = -1
	c.Run(context.Background(), "https://www.example.com/", Mobile, testKey)
	if n.Load() != 1 {
		t.Errorf("Retries -1: stub got %d requests; want 1", n.Load())
	}
}

func TestRunRetriesServerErrors(t *testing.T) {
	c, n := stub(t, failThenAnswer(t, 2, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	if _, err := c.Run(context.Background(), "https://www.example.com/", Mobile, testKey); err != nil {
		t.Fatalf("after two 503: %v", err)
	}
	if n.Load() != 3 {
		t.Errorf("stub got %d requests; want 3", n.Load())
	}
}

func TestRunTimesOutAfterEveryRetry(t *testing.T) {
	release := make(chan struct{})
	c, n := stub(t, func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) }) // before the stub's Close, which waits for it
	c.Timeout = 250 * time.Millisecond
	_, err := c.Run(context.Background(), "https://www.example.com/", Mobile, testKey)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no answer within 250ms") {
		t.Errorf("err = %v; want a timeout", err)
	}
	if strings.Contains(err.Error(), testKey) || !strings.Contains(err.Error(), "key=REDACTED") {
		t.Errorf("err = %v; want the URL with its key redacted", err)
	}
	testwait.Until(t, "three attempts reach the stub", func() bool { return n.Load() == 3 })
}

func TestRunRejectsMalformedAnswers(t *testing.T) {
	for _, body := range []string{`<html>Service Unavailable</html>`, `{"kind":"pagespeedonline#result"}`, `{"lighthouseResult":`} {
		c, n := stub(t, answerWith([]byte(body)))
		if _, err := c.Run(context.Background(), "https://www.example.com/", Mobile, testKey); !errors.Is(err, ErrBadAnswer) {
			t.Errorf("answer %s: err = %v; want ErrBadAnswer", body, err)
		}
		if n.Load() != 1 {
			t.Errorf("answer %s: %d requests; want no retry", body, n.Load())
		}
	}
}

func TestRunPartialAnswerBecomesWarnings(t *testing.T) {
	var a map[string]any
	if err := json.Unmarshal(fixture(t), &a); err != nil {
		t.Fatal(err)
	}
	lr := a["lighthouseResult"].(map[string]any)
	categories := lr["categories"].(map[string]any)
	delete(categories, "accessibility")
	categories["seo"].(map[string]any)["score"] = nil
	audits := lr["audits"].(map[string]any)
	delete(audits, "speed-index")
	lcp := audits["largest-contentful-paint"].(map[string]any)
	delete(lcp, "numericValue")
	lcp["errorMessage"] = "NO_LCP"
	lr["runWarnings"] = []any{}
	lr["runtimeError"] = map[string]any{"code": "NO_FCP", "message": "The page did not paint any content."}
	body, _ := json.Marshal(a)

	c, _ := stub(t, answerWith(body))
	res, err := c.Run(context.Background(), "https://www.example.com/", Mobile, testKey)
	if err != nil {
		t.Fatal(err)
	}
	if res.Scores.Accessibility != nil || res.Scores.SEO != nil || res.Metrics.SpeedIndexms != nil || res.Metrics.LCPms != nil {
		t.Errorf("missing values filled: %+v %+v", res.Scores, res.Metrics)
	}
	if res.Scores.Performance == nil || *res.Scores.Performance != 87 || res.Metrics.CLS == nil {
		t.Errorf("present values lost: %+v %+v", res.Scores, res.Metrics)
	}
	want := []string{
		"category accessibility missing from the answer",
		"category seo has no score",
		"metric largest-contentful-paint has no value: NO_LCP",
		"metric speed-index missing from the answer",
		"lighthouse: runtime error NO_FCP: The page did not paint any content.",
	}
	if !reflect.DeepEqual(res.Warnings, want) {
		t.Errorf("warnings\n%q\nwant\n%q", res.Warnings, want)
	}
}

func TestRunRefusedKeyIsNamedButNotShown(t *testing.T) {
	for _, tc := range []struct {
		code int
		body []byte
	}{
		// The message echoes the key, so that a leak through the API's
		// own words shows too.
		{http.StatusForbidden, apiErrorBody(403, "PERMISSION_DENIED", "Requests from this key "+testKey+" are blocked.")},
		{http.StatusBadRequest, []byte(`{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT",` +
			`"details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}}`)},
	} {
		c, n := stub(t, func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(tc.code)
			w.Write(tc.body)
		})
		_, err := c.Run(context.Background(), "https://www.example.com/", Mobile, testKey)
		if !errors.Is(err, ErrKeyRefused) || !strings.Contains(err.Error(), "key was refused") {
			t.Errorf("%d: err = %v; want ErrKeyRefused", tc.code, err)
		}
		if strings.Contains(err.Error(), testKey) {
			t.Errorf("%d: err shows the key: %v", tc.code, err)
		}
		if n.Load() != 1 {
			t.Errorf("%d: %d requests; want no retry", tc.code, n.Load())
		}
	}
}

func TestRunOtherBadRequestIsNotAboutTheKey(t *testing.T) {
	c, _ := stub(t, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		w.Write(apiErrorBody(400, "INVALID_ARGUMENT", "Invalid value at 'url'"))
	})
	_, err := c.Run(context.Background(), "not a url", Mobile, testKey)
	if err == nil || errors.Is(err, ErrKeyRefused) || !strings.Contains(err.Error(), "Invalid value at 'url'") {
		t.Errorf("err = %v; want the API's refusal, not about the key", err)
	}
}

func TestRunUnreachableAPIHidesTheKey(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close() // nothing listens there any more
	c := &Client{BaseURL: srv.URL, Backoff: time.Millisecond}
	_, err := c.Run(context.Background(), "https://www.example.com/", Mobile, testKey)
	if err == nil || strings.Contains(err.Error(), testKey) || !strings.Contains(err.Error(), "key=REDACTED") {
		t.Errorf("err = %v; want a connection error with the key redacted", err)
	}
}
