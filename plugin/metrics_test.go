package plugin_test

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/skopos-go/skopos/internal/plugintest"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/plugin"
)

func TestMetricsEndpointRequiresTheTokenAndCounts(t *testing.T) {
	t.Parallel()
	srv := plugintest.Start(t, plugin.Config{MetricsToken: "s3cret"})
	srv.AddWebsite(t, "metrics.example")
	scrape := func(token string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+plugin.MetricsPath, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	for _, tok := range []string{"", "wrong"} {
		if code, _ := scrape(tok); code != http.StatusUnauthorized {
			t.Errorf("token %q: status %d, want 401", tok, code)
		}
	}
	value := func(body, metric string) float64 {
		m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(metric) + ` (\S+)$`).FindStringSubmatch(body)
		if m == nil {
			return -1
		}
		v, _ := strconv.ParseFloat(m[1], 64)
		return v
	}
	for range 3 {
		post(t, srv, `{"type":"pageView","url":"https://metrics.example/"}`, nil)
	}
	post(t, srv, `{"type":"nope"}`, nil)
	post(t, srv, `{"type":"pageView","url":"https://metrics.example/"}`, map[string]string{"User-Agent": "curl/8.0"})
	deadline := time.Now().Add(testwait.Timeout())
	for {
		code, body := scrape("s3cret")
		if code != http.StatusOK {
			t.Fatalf("status %d with the token", code)
		}
		if value(body, "skopos_events_stored_total") == 3 {
			for metric, want := range map[string]float64{
				"skopos_events_received_total":                   5,
				`skopos_events_rejected_total{reason="invalid"}`: 1,
				`skopos_events_dropped_total{reason="bot"}`:      1,
				"skopos_queue_depth":                             0,
			} {
				if got := value(body, metric); got != want {
					t.Errorf("%s = %v, want %v", metric, got, want)
				}
			}
			if value(body, "skopos_flush_duration_seconds_count") < 1 {
				t.Error("no flush observed in skopos_flush_duration_seconds")
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("stored counter did not reach 3:\n%s", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
