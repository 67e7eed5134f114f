package plugin_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/maxmind/mmdbwriter/mmdbtype"
	"github.com/pocketbase/dbx"
	"github.com/skopos-go/skopos/internal/geo/geotest"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/plugin"
	"github.com/skopos-go/skopos/schema"
)

// countryDB writes a country database that maps each CIDR of nets to
// its country code.
func countryDB(t *testing.T, nets map[string]string) string {
	t.Helper()
	var ns []geotest.Network
	for cidr, code := range nets {
		c := geotest.Country(code, code)
		ns = append(ns, geotest.Network{CIDR: cidr, Value: mmdbtype.Map{"country": c, "registered_country": c}})
	}
	return geotest.Write(t, "GeoLite2-Country", ns)
}

// TestSegments runs on one server with German and American traffic:
// the segments routes' rules and bounds; segment=<id> answers exactly
// what its filters answer (stats, properties, funnel); a shared link and
// an API key pinned to country:DE answer only German traffic whatever
// filters they add, also after the segment is deleted; a pinned key is
// refused by the routes that cannot filter.
func TestSegments(t *testing.T) {
	t.Parallel()
	geoDB := countryDB(t, map[string]string{"198.51.100.0/25": "DE", "203.0.113.0/25": "US"})
	srv := startEmbeddedWith(t, plugin.Config{GeoIPDatabase: geoDB})
	app := srv.App()
	site := srv.AddWebsite(t, "seg.example")
	other := srv.AddWebsite(t, "other-seg.example")
	owner, ownerID := tokenUser(t, app, "owner@seg.example")
	viewer, viewerID := tokenUser(t, app, "viewer@seg.example")
	outsider, outsiderID := tokenUser(t, app, "out@seg.example")
	site.Set("user", ownerID)
	other.Set("user", outsiderID)
	for _, r := range []any{app.Save(site), app.Save(other)} {
		if r != nil {
			t.Fatal(r)
		}
	}
	pbtest.Save(t, app, schema.Members, map[string]any{"website": site.Id, "user": viewerID, "role": "viewer"})
	tid := site.GetString("trackingId")
	funnel := restCreate(t, srv, superuserToken(t, srv), schema.Funnels, map[string]any{"website": site.Id, "name": "Home to pricing",
		"steps": []oStep{{"Home", "page", "/"}, {"Pricing", "page", "/pricing"}}})

	for i, ip := range []string{"198.51.100.1", "198.51.100.2", "198.51.100.3", "203.0.113.1", "203.0.113.2"} {
		h := map[string]string{"X-Forwarded-For": ip}
		post(t, srv, `{"type":"pageView","url":"https://seg.example/"}`, h)
		if i%2 == 0 {
			post(t, srv, `{"type":"pageView","url":"https://seg.example/pricing"}`, h)
			post(t, srv, fmt.Sprintf(`{"type":"custom","name":"signup","url":"https://seg.example/pricing","customData":{"plan":"p%d"}}`, i), h)
		}
	}
	testwait.Until(t, "events stored", func() bool { return countEvents(t, app, dbx.HashExp{"website": site.Id}) == 11 })

	segs := srv.URL + plugin.SegmentsPath
	create := func(auth, body string, want int) string {
		t.Helper()
		code, out := call(t, http.MethodPost, segs, auth, body)
		if code != want {
			t.Fatalf("POST %s: %d %s, want %d", body, code, out, want)
		}
		var s struct{ ID string }
		_ = json.Unmarshal([]byte(out), &s)
		return s.ID
	}
	body := func(name string, shared bool, filters ...string) string {
		return mustJSON(map[string]any{"site": tid, "name": name, "filters": filters, "shared": shared})
	}
	de := create(owner, body("Germany", false, "country:DE"), http.StatusCreated)
	team := create(owner, body("German pricing", true, "country:DE", "page:/pricing"), http.StatusCreated)
	private := create(viewer, body("Mine", false, "country:US"), http.StatusCreated)

	t.Run("rules and bounds", func(t *testing.T) {
		create(viewer, body("Shared", true, "country:DE"), http.StatusForbidden)
		create(outsider, body("X", false, "country:DE"), http.StatusNotFound)
		create("", body("X", false, "country:DE"), http.StatusUnauthorized)
		for _, tc := range []struct{ body, want string }{
			{body("Bad", false, "planet:Mars"), `unknown dimension`},
			{body("Bad", false, "DE"), `bad filter: \"DE\": use`},
			{body("", false, "country:DE"), "name is required (at most 100 bytes)"},
			{body(strings.Repeat("n", 101), false, "country:DE"), "name is required (at most 100 bytes)"},
			{body("None", false), "a segment has 1 to 10 filters, not 0"},
			{body("Many", false, strings.Split(strings.Repeat("country:DE,", 11), ",")[:11]...), "a segment has 1 to 10 filters, not 11"},
		} {
			code, out := call(t, http.MethodPost, segs, owner, tc.body)
			// PocketBase sentenizes the message
			if code != http.StatusBadRequest || !strings.Contains(strings.ToLower(out), strings.ToLower(tc.want)) {
				t.Errorf("POST %s: %d %s, want 400 with %q", tc.body, code, out, tc.want)
			}
		}
		list := func(auth string) (int, string) {
			code, out := call(t, http.MethodGet, segs+"?site="+tid, auth, "")
			var l []struct{ Name string }
			_ = json.Unmarshal([]byte(out), &l)
			var names []string
			for _, s := range l {
				names = append(names, s.Name)
			}
			return code, strings.Join(names, ",")
		}
		if code, names := list(viewer); code != http.StatusOK || names != "German pricing,Mine" {
			t.Errorf("viewer's list: %d %q", code, names)
		}
		if code, names := list(owner); code != http.StatusOK || names != "German pricing,Germany" {
			t.Errorf("owner's list: %d %q", code, names)
		}
		if code, _ := list(outsider); code != http.StatusNotFound {
			t.Errorf("outsider's list: %d, want 404", code)
		}
		// another member's private segment is unknown, in stats too
		if code, _ := call(t, http.MethodGet, srv.URL+plugin.StatsPath+"?site="+tid+"&period=7d&segment="+private, owner, ""); code != http.StatusNotFound {
			t.Errorf("stats with another member's private segment: %d, want 404", code)
		}
		if code, _ := call(t, http.MethodDelete, segs+"/"+private, owner, ""); code != http.StatusNotFound {
			t.Errorf("owner deleting a member's private segment: %d, want 404", code)
		}
		if code, _ := call(t, http.MethodDelete, segs+"/"+team, viewer, ""); code != http.StatusForbidden {
			t.Errorf("viewer deleting a shared segment: %d, want 403", code)
		}
		if code, _ := call(t, http.MethodDelete, segs+"/"+private, viewer, ""); code != http.StatusNoContent {
			t.Errorf("creator deleting: %d, want 204", code)
		}
	})

	t.Run("segment equals its filters", func(t *testing.T) {
		base := "?site=" + tid + "&period=7d"
		for _, tc := range []struct{ path, seg, filters string }{
			{plugin.StatsPath, "&segment=" + de, "&filter=country:DE"},
			{plugin.StatsPath, "&segment=" + team, "&filter=country:DE&filter=page:/pricing"},
			{plugin.StatsPath, "&segment=" + de + "&filter=page:/pricing", "&filter=country:DE&filter=page:/pricing"},
			{plugin.PropertiesPath, "&event=signup&segment=" + de, "&event=signup&filter=country:DE"},
			{plugin.FunnelPath, "&funnel=" + funnel + "&segment=" + de, "&funnel=" + funnel + "&filter=country:DE"},
		} {
			c1, a := call(t, http.MethodGet, srv.URL+tc.path+base+tc.seg, owner, "")
			c2, b := call(t, http.MethodGet, srv.URL+tc.path+base+tc.filters, owner, "")
			if c1 != http.StatusOK || c2 != http.StatusOK || a != b {
				t.Errorf("%s %s: %d %s\nfilters: %d %s", tc.path, tc.seg, c1, a, c2, b)
			}
		}
		_, r := getStats(t, srv.URL, owner, "site="+tid+"&period=7d&segment="+de)
		if r == nil || r.Visitors.Value != 3 {
			t.Fatalf("German visitors: %+v", r)
		}
		// a shared segment reads the same for a viewer
		_, a := call(t, http.MethodGet, srv.URL+plugin.StatsPath+base+"&segment="+team, viewer, "")
		_, b := call(t, http.MethodGet, srv.URL+plugin.StatsPath+base+"&segment="+team, owner, "")
		if a != b {
			t.Errorf("shared segment: viewer reads %s, owner %s", a, b)
		}
	})

	// a link and a key pinned to Germany, then the segment deleted: the
	// pins are copies
	_, shareOut := call(t, http.MethodPost, srv.URL+plugin.SharesPath, owner, mustJSON(map[string]any{"site": tid, "segment": de}))
	var link struct{ Token string }
	if err := json.Unmarshal([]byte(shareOut), &link); err != nil || link.Token == "" {
		t.Fatalf("pinned link: %s", shareOut)
	}
	_, keyOut := call(t, http.MethodPost, srv.URL+plugin.KeysPath, owner, mustJSON(map[string]any{"name": "de", "segment": de}))
	var key struct{ Key string }
	if err := json.Unmarshal([]byte(keyOut), &key); err != nil || key.Key == "" {
		t.Fatalf("pinned key: %s", keyOut)
	}
	if code, out := call(t, http.MethodPost, srv.URL+plugin.SharesPath, outsider, mustJSON(map[string]any{"site": other.GetString("trackingId"), "segment": de})); code != http.StatusBadRequest {
		t.Errorf("link pinned to another website's segment: %d %s, want 400", code, out)
	}
	if code, out := call(t, http.MethodPost, srv.URL+plugin.KeysPath, owner, mustJSON(map[string]any{"name": "x", "segment": de, "sites": []string{other.GetString("trackingId")}})); code != http.StatusBadRequest {
		t.Errorf("key pinned to a segment of another of its sites: %d %s, want 400", code, out)
	}
	if code, _ := call(t, http.MethodDelete, segs+"/"+de, owner, ""); code != http.StatusNoContent {
		t.Fatalf("deleting the pinned segment: %d", code)
	}

	_, german := getStats(t, srv.URL, owner, "site="+tid+"&period=7d&filter=country:DE")
	pinnedCallers := map[string]map[string]string{
		"link": {plugin.ShareHeader: link.Token},
		"key":  {"Authorization": "Bearer " + key.Key},
	}
	for name, hdr := range pinnedCallers {
		t.Run("pinned "+name, func(t *testing.T) {
			read := func(q string) *stats.Report {
				t.Helper()
				code, out := getWith(t, srv.URL+plugin.StatsPath+"?site="+tid+"&period=7d"+q, hdr)
				var r stats.Report
				if code != http.StatusOK || json.Unmarshal([]byte(out), &r) != nil {
					t.Fatalf("%s: %d %s", q, code, out)
				}
				return &r
			}
			for _, q := range []string{"", "&filter=country:DE"} {
				if r := read(q); r.Visitors != german.Visitors || r.PageViews != german.PageViews || r.ActiveUsers != 0 {
					t.Errorf("%q: visitors %+v page views %+v active %d, want Germany's %+v %+v and no active count",
						q, r.Visitors, r.PageViews, r.ActiveUsers, german.Visitors, german.PageViews)
				}
			}
			for _, q := range []string{"&filter=country:!DE", "&filter=country:US"} {
				if r := read(q); r.Visitors.Value != 0 || r.PageViews.Value != 0 || len(r.Top["country"]) != 0 {
					t.Errorf("%q widened the pin: %+v %+v %v", q, r.Visitors, r.PageViews, r.Top["country"])
				}
			}
			code, out := getWith(t, srv.URL+plugin.FunnelPath+"?site="+tid+"&period=7d&funnel="+funnel+"&filter=country:!DE", hdr)
			if code != http.StatusOK || !strings.Contains(out, `"visitors":0`) || strings.Contains(out, `"visitors":1`) {
				t.Errorf("funnel through the pin, negated: %d %s", code, out)
			}
		})
	}
	t.Run("pinned key refused where it cannot filter", func(t *testing.T) {
		hdr := pinnedCallers["key"]
		for _, path := range []string{
			plugin.ExportPath + "?site=" + tid + "&period=7d&kind=events",
			plugin.ExportPath + "?site=" + tid + "&period=7d&kind=sessions",
			plugin.LivePath + "?site=" + tid,
			plugin.VisitorsPath + "?site=" + tid,
		} {
			if code, _ := getWith(t, srv.URL+path, hdr); code != http.StatusForbidden {
				t.Errorf("%s: %d, want 403", path, code)
			}
		}
		code, out := getWith(t, srv.URL+plugin.ExportPath+"?site="+tid+"&kind=summary&period=7d&filter=country:!DE", hdr)
		if code != http.StatusOK {
			t.Fatalf("summary export: %d %s", code, out)
		}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
			if !strings.Contains(line, ",0,0,") {
				t.Errorf("summary export through the pin, negated, counts something: %q", line)
			}
		}
		// the other site is out of the key's scope
		if code, _ := getWith(t, srv.URL+plugin.StatsPath+"?site="+url.QueryEscape(other.GetString("trackingId")), hdr); code != http.StatusNotFound {
			t.Errorf("another site: %d, want 404", code)
		}
	})
}
