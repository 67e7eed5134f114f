package localstore_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/browsertest"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/pipeline"
	"github.com/skopos-go/skopos/internal/store"
	"github.com/skopos-go/skopos/internal/store/localstore"
	"github.com/skopos-go/skopos/schema"
)

// recorder passes Applies to a store and keeps the ops of those that
// committed, in order.
type recorder struct {
	store.Store
	mu  sync.Mutex
	ops [][]store.Op
}

func (r *recorder) Apply(ctx context.Context, ops []store.Op) error {
	err := r.Store.Apply(ctx, ops)
	if err == nil {
		r.mu.Lock()
		r.ops = append(r.ops, append([]store.Op(nil), ops...))
		r.mu.Unlock()
	}
	return err
}

const siteID = "skoposrowtest01"

func server(t *testing.T) *pbtest.Server {
	t.Helper()
	srv := pbtest.Start(t, pbtest.Options{})
	col, err := srv.App().FindCollectionByNameOrId(schema.Websites)
	if err != nil {
		t.Fatal(err)
	}
	rec := core.NewRecord(col)
	rec.Id = siteID
	rec.Set("name", "rows")
	rec.Set("domain", "example.com")
	rec.Set("storeRawIp", true)
	if err := srv.App().Save(rec); err != nil {
		t.Fatal(err)
	}
	return srv
}

// TestSQLCreatesWriteTheSameRowsAsTheRecordAPI runs varied traffic
// through the pipeline into a PocketBase whose store creates rows through
// PocketBase's record API, records every committed transaction, replays
// the same transactions through the SQL store into a second PocketBase,
// and compares every column of every row (SQLite's own quote() of each
// value, so storage class and bytes both count). created and updated
// differ in time only: they must have PocketBase's date format.
func TestSQLCreatesWriteTheSameRowsAsTheRecordAPI(t *testing.T) {
	t.Parallel()
	a, b := server(t), server(t)
	rec := &recorder{Store: localstore.NewRecordAPI(a.App())}
	sites := pipeline.NewSites()
	website, err := localstore.New(a.App()).WebsiteByTrackingID(context.Background(), siteTrackingID(t, a))
	if err != nil {
		t.Fatal(err)
	}
	site, err := sites.Put(website)
	if err != nil {
		t.Fatal(err)
	}
	p, err := pipeline.New(pipeline.Config{Store: rec, Sites: sites, Batch: true, BatchInterval: time.Hour, MaxBatchSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	pick := func(string) *pipeline.Site { return site }
	bodies := []string{
		`{"type":"pageView","url":"https://example.com/a?utm_source=news&utm_medium=mail&utm_campaign=x%3Cy","referrer":"https://www.search.example/?q=1","screenWidth":1440,"screenHeight":900,"language":"de-DE"}`,
		`{"type":"custom","name":"signup <pro> & co","url":"https://example.com/b","customData":{"plan":"pro","price":12.5,"n":3,"ok":true,"nested":{"k":["x","<y>"]},"note":"é😀&"}}`,
		`{"type":"pageView","url":"https://example.com/c","customData":{"duration":12}}`,
		`{"type":"jsError","url":"https://example.com/c","errorMessage":"TypeError: a < b & c","stackTrace":"TypeError: a\n    at f (https://example.com/app.js:1:2)"}`,
	}
	for round := range 2 { // the second round updates the sessions the first created
		for v := range 6 {
			r := httptest.NewRequest(http.MethodPost, "/api/event", nil)
			r.RemoteAddr = fmt.Sprintf("203.0.113.%d:1000", v+1)
			browsertest.Headers(r.Header, []string{browsertest.Chrome, "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"}[v%2])
			for _, body := range bodies[:2+(v+round)%3] {
				if err := p.TrackBrowser(r, []byte(body), pick); err != nil {
					t.Fatal(err)
				}
			}
			sr := httptest.NewRequest(http.MethodPost, "/hooks/stripe?token=secret", nil)
			sr.RemoteAddr = r.RemoteAddr
			sr.Header.Set("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
			if err := p.TrackServer(sr, site.TrackingID, site, "payment", map[string]any{"amount": 4200, "currency": "EUR"}, pipeline.Purchase{}); err != nil {
				t.Fatal(err)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := p.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		cancel()
	}

	sqlStore := localstore.New(b.App())
	creates := 0
	for _, ops := range rec.ops {
		for _, op := range ops {
			if op.Action == store.Create {
				creates++
			}
		}
		if err := sqlStore.Apply(context.Background(), ops); err != nil {
			t.Fatalf("replay through SQL: %v", err)
		}
	}
	if creates < 30 {
		t.Fatalf("only %d creates recorded; the traffic should make visitors, sessions and events", creates)
	}
	dateFormat := regexp.MustCompile(`^'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z'$`)
	for _, table := range []string{schema.Visitors, schema.Sessions, schema.Events, schema.JSErrors, schema.DashSum, schema.DashSumItems} {
		want, got := dump(t, a.App(), table), dump(t, b.App(), table)
		if len(want) == 0 || len(want) != len(got) {
			t.Errorf("%s: %d rows through the record API, %d through SQL", table, len(want), len(got))
			continue
		}
		for id, wrow := range want {
			grow := got[id]
			if grow == nil {
				t.Errorf("%s %s: missing through SQL", table, id)
				continue
			}
			for col, wv := range wrow {
				gv := grow[col]
				if col == "created" || col == "updated" {
					if !dateFormat.MatchString(gv) {
						t.Errorf("%s %s.%s = %s, not PocketBase's date format", table, id, col, gv)
					}
					continue
				}
				if gv != wv {
					t.Errorf("%s %s.%s: record API %s, SQL %s", table, id, col, wv, gv)
				}
			}
		}
	}
}

func siteTrackingID(t *testing.T, srv *pbtest.Server) string {
	t.Helper()
	rec, err := srv.App().FindRecordById(schema.Websites, siteID)
	if err != nil {
		t.Fatal(err)
	}
	return rec.GetString("trackingId")
}

// dump returns every row of table as id → column → SQLite's quote() of
// the stored value.
func dump(t *testing.T, app core.App, table string) map[string]map[string]string {
	t.Helper()
	var cols []struct {
		Name string `db:"name"`
	}
	if err := app.DB().NewQuery("SELECT name FROM pragma_table_info({:t})").Bind(map[string]any{"t": table}).All(&cols); err != nil {
		t.Fatal(err)
	}
	var sel []string
	for _, c := range cols {
		sel = append(sel, "quote(`"+c.Name+"`)")
	}
	rows, err := app.DB().NewQuery("SELECT " + strings.Join(sel, ", ") + " FROM `" + table + "`").Rows()
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]map[string]string{}
	for rows.Next() {
		vals := make([]string, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := map[string]string{}
		id := ""
		for i, c := range cols {
			row[c.Name] = vals[i]
			if c.Name == "id" {
				id = vals[i]
			}
		}
		out[id] = row
	}
	return out
}

// A backlog can bring more new ids than SQLite binds in one statement
// (32 766): Existing asks in parts.
func TestExistingTakesMoreIDsThanOneStatementBinds(t *testing.T) {
	t.Parallel()
	app := pbtest.Start(t, pbtest.Options{}).App()
	st := localstore.New(app)
	col, err := app.FindCollectionByNameOrId(schema.Websites)
	if err != nil {
		t.Fatal(err)
	}
	site := core.NewRecord(col)
	site.Load(map[string]any{"name": "many", "domain": "many.example"})
	if err := app.Save(site); err != nil {
		t.Fatal(err)
	}
	// one more than a statement binds: binding is most of the time under
	// the race detector, and any number past the limit proves the parts
	const sqliteMaxVariables = 32766
	ids := make([]string, sqliteMaxVariables+1)
	for i := range ids {
		ids[i] = fmt.Sprintf("x%014d", i)
	}
	ids[len(ids)-1] = site.Id
	got, err := st.Existing(context.Background(), schema.Websites, ids)
	if err != nil || len(got) != 1 || !got[site.Id] {
		t.Fatalf("Existing of %d ids = %v, %v; want only the website", len(ids), got, err)
	}
}
