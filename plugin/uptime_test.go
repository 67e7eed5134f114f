package plugin_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/skopos-go/skopos/internal/apikey"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/plugin"
	"github.com/skopos-go/skopos/schema"
)

func TestUptimeAPIReadsChecksAndIncidents(t *testing.T) {
	t.Parallel()
	srv := startEmbeddedWith(t, plugin.Config{SEO: plugin.SEOConfig{Off: true}})
	app := srv.App()
	token, uid := tokenUser(t, app, "up@example.com")
	site := pbtest.Save(t, app, schema.Websites, map[string]any{"domain": "up.example", "user": uid, "uptimeMonitoring": true,
		"uptimeCheckInterval": 30, "currentStatus": "up"})
	now := time.Now().UTC()
	for i, up := range []bool{true, true, false, true} {
		pbtest.Save(t, app, schema.UptimeChecks, map[string]any{"website": site.Id, "isUp": up, "statusCode": map[bool]int{true: 200, false: 500}[up],
			"responseTime": 100 + i, "timestamp": now.Add(-time.Duration(4-i) * time.Hour)})
	}
	pbtest.Save(t, app, schema.UptimeIncidents, map[string]any{"website": site.Id, "startTime": now.Add(-2 * time.Hour),
		"endTime": now.Add(-time.Hour), "duration": 3600000, "isResolved": true, "error": "HTTP 500", "statusCode": 500})

	var got struct {
		Monitoring bool                `json:"monitoring"`
		Interval   int                 `json:"interval"`
		Status     string              `json:"status"`
		Uptime     map[string]*float64 `json:"uptime"`
		Points     []json.RawMessage   `json:"points"`
		Incidents  []struct {
			Duration int64  `json:"duration"`
			Error    string `json:"error"`
		} `json:"incidents"`
	}
	code, body := call(t, "GET", srv.URL+plugin.UptimePath+"?site="+site.GetString("trackingId")+"&period=24h", token, "")
	if code != 200 || json.Unmarshal([]byte(body), &got) != nil {
		t.Fatalf("GET uptime: %d %s", code, body)
	}
	if !got.Monitoring || got.Interval != 60 || got.Status != "up" || got.Uptime["24h"] == nil || *got.Uptime["24h"] != 75 ||
		len(got.Points) != 4 || len(got.Incidents) != 1 || got.Incidents[0].Duration != 3600000 {
		t.Fatalf("uptime %s", body)
	}
	// an API key reads it too; another account, a bad period do not
	owner, err := app.FindRecordById(schema.Users, uid)
	if err != nil {
		t.Fatal(err)
	}
	_, key, err := apikey.Create(app, owner, apikey.Input{Name: "k"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if code, body := call(t, "GET", srv.URL+plugin.UptimePath+"?site="+site.GetString("trackingId"), "Bearer "+key, ""); code != 200 {
		t.Fatalf("with an API key: %d %s", code, body)
	}
	other, _ := tokenUser(t, app, "other-up@example.com")
	if code, _ := call(t, "GET", srv.URL+plugin.UptimePath+"?site="+site.GetString("trackingId"), other, ""); code != 404 {
		t.Fatalf("another account: %d", code)
	}
	if code, _ := call(t, "GET", srv.URL+plugin.UptimePath+"?site="+site.GetString("trackingId")+"&period=1y", token, ""); code != 400 {
		t.Fatalf("period 1y: %d", code)
	}
}
