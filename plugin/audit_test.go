package plugin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/skopos-go/skopos/internal/audit"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/plugin"
	"github.com/skopos-go/skopos/schema"
)

// TestAuditThroughTheRESTAPIs: shares and keys through /api/skopos,
// goals and funnels through PocketBase's own records API, each logged
// once as its caller; GET AuditPath by role.
func TestAuditThroughTheRESTAPIs(t *testing.T) {
	t.Parallel()
	srv := startEmbedded(t)
	app := srv.App()
	ownerTok, ownerID, _ := strings.Cut(userToken(t, srv, srv.URL, "owner@rest.test"), " ")
	viewerTok, viewerID, _ := strings.Cut(userToken(t, srv, srv.URL, "viewer@rest.test"), " ")
	strangerTok, _, _ := strings.Cut(userToken(t, srv, srv.URL, "stranger@rest.test"), " ")
	site := srv.AddWebsite(t, "rest.example")
	site.Set("user", ownerID)
	if err := app.Save(site); err != nil {
		t.Fatal(err)
	}
	pbtest.Save(t, app, schema.Members, map[string]any{"website": site.Id, "user": viewerID, "role": "viewer"})
	tid := site.GetString("trackingId")

	must := func(want int, method, path, body string) map[string]any {
		t.Helper()
		code, out := call(t, method, srv.URL+path, ownerTok, body)
		if code != want {
			t.Fatalf("%s %s: %d, want %d\n%s", method, path, code, want, out)
		}
		var m map[string]any
		_ = json.Unmarshal([]byte(out), &m)
		return m
	}
	sh := must(201, "POST", plugin.SharesPath, fmt.Sprintf(`{"site":%q,"name":"Board","password":"rest-secret-pw"}`, tid))
	must(204, "DELETE", plugin.SharesPath+"/"+sh["token"].(string), "")
	key := must(201, "POST", plugin.KeysPath, fmt.Sprintf(`{"name":"Job","sites":[%q]}`, tid))
	must(204, "DELETE", plugin.KeysPath+"/"+key["id"].(string), "")
	records := "/api/collections/" + schema.Goals + "/records"
	g := must(200, "POST", records, fmt.Sprintf(`{"website":%q,"name":"Paid","type":"event","match":"paid"}`, site.Id))
	must(200, "PATCH", records+"/"+g["id"].(string), `{"match":"purchase"}`)
	must(204, "DELETE", records+"/"+g["id"].(string), "")
	fr := "/api/collections/" + schema.Funnels + "/records"
	f := must(200, "POST", fr, fmt.Sprintf(`{"website":%q,"name":"Flow","steps":[{"name":"a","type":"page","match":"/a"},{"name":"b","type":"page","match":"/b"}]}`, site.Id))
	must(204, "DELETE", fr+"/"+f["id"].(string), "")

	rows, err := audit.List(context.Background(), app, site.Id, time.Time{}, audit.MaxList)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := len(rows) - 1; i >= 0; i-- {
		r := rows[i]
		got = append(got, r.Action+" "+r.Target)
		if r.ActorEmail != "owner@rest.test" || strings.Contains(string(r.Details), "rest-secret-pw") {
			t.Errorf("%s: actor %q, details %s", r.Action, r.ActorEmail, r.Details)
		}
	}
	want := "share.create Board,share.revoke Board,key.create Job,key.revoke Job,goal.create Paid,goal.update Paid,goal.delete Paid,funnel.create Flow,funnel.delete Flow"
	if strings.Join(got, ",") != want {
		t.Fatalf("rows %s\nwant %s", strings.Join(got, ","), want)
	}
	if d := rows[3].DetailsMap(); d["match"] == nil || len(d) != 1 {
		t.Errorf("goal.update details %s: want match only", rows[3].Details)
	}

	path := srv.URL + plugin.AuditPath + "?limit=5&site=" + tid
	for _, c := range []struct {
		who, tok string
		want     int
	}{{"owner", ownerTok, 200}, {"viewer", viewerTok, 403}, {"stranger", strangerTok, 404}, {"nobody", "", 401}} {
		code, body := call(t, "GET", path, c.tok, "")
		if code != c.want {
			t.Errorf("%s: %d, want %d\n%s", c.who, code, c.want, body)
		}
		if c.want != 200 {
			continue
		}
		var page struct {
			Items []audit.Row `json:"items"`
			Next  string      `json:"next"`
		}
		if err := json.Unmarshal([]byte(body), &page); err != nil || len(page.Items) != 5 || page.Next == "" ||
			page.Items[0].Action != audit.FunnelDelete {
			t.Errorf("first page: %v %s", err, body)
		}
		code, body = call(t, "GET", path+"&before="+page.Next, c.tok, "")
		if err := json.Unmarshal([]byte(body), &page); code != 200 || err != nil || len(page.Items) != 4 || page.Next != "" {
			t.Errorf("second page: %d %s", code, body)
		}
	}
}
