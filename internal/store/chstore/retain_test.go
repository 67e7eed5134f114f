package chstore_test

import (
	"testing"
	"time"

	"github.com/skopos-go/skopos/internal/clickhouse"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/store"
	"github.com/skopos-go/skopos/internal/store/chstore"
	"github.com/skopos-go/skopos/internal/store/localstore"
	"github.com/skopos-go/skopos/schema"
)

// TestRetainDeletesWhatSQLiteRetentionDeletes: before the cutoff go the
// events and engagement, the sessions last active before it (a session
// whose first version is older but whose latest is not stays), and the JS
// error groups last seen before it (a group seen since keeps its whole
// count); another website keeps everything.
func TestRetainDeletesWhatSQLiteRetentionDeletes(t *testing.T) {
	t.Parallel()
	srv := pbtest.Start(t, pbtest.Options{})
	app := srv.App()
	db := server.StoreDatabase(t)
	st := chstore.New(app, localstore.New(app), db, chstore.Options{})
	cutoff := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	old, recent := cutoff.Add(-48*time.Hour), cutoff.Add(48*time.Hour)
	for _, w := range []string{"a", "b"} {
		ops := []store.Op{
			{Action: store.Create, Collection: schema.Sessions, ID: w + "old", Data: map[string]any{"website": w, "visitor": "v1", "seq": 1,
				"startedAt": old, "lastActivity": old, "eventCount": 1}},
			{Action: store.Create, Collection: schema.Sessions, ID: w + "long", Data: map[string]any{"website": w, "visitor": "v2", "seq": 1,
				"startedAt": old, "lastActivity": old, "eventCount": 1}},
			{Action: store.Create, Collection: schema.Events, ID: w + "e1", Data: map[string]any{"website": w, "session": w + "old", "type": "pageView", "path": "/", "timestamp": old}},
			{Action: store.Create, Collection: schema.Events, ID: w + "e2", Data: map[string]any{"website": w, "session": w + "long", "type": "pageView", "path": "/", "timestamp": recent}},
			{Action: store.Upsert, Collection: schema.JSErrors, ID: w + "j1", Data: map[string]any{"website": w, "errorHash": "gone", "count+": 3, "lastSeen": old}},
			{Action: store.Upsert, Collection: schema.JSErrors, ID: w + "j2", Data: map[string]any{"website": w, "errorHash": "kept", "count+": 2, "lastSeen": old}},
		}
		if err := st.Apply(timeout(t), ops); err != nil {
			t.Fatal(err)
		}
		later := []store.Op{
			{Action: store.Update, Collection: schema.Sessions, ID: w + "long", Data: map[string]any{"lastActivity": recent, "eventCount+": 1}},
			{Action: store.Update, Collection: schema.Events, ID: w + "e1", Data: map[string]any{"engagedMs": 4000, "scrollDepth": 30}},
			{Action: store.Update, Collection: schema.Events, ID: w + "e2", Data: map[string]any{"engagedMs": 5000, "scrollDepth": 60}},
			{Action: store.Upsert, Collection: schema.JSErrors, ID: w + "j2", Data: map[string]any{"website": w, "errorHash": "kept", "count+": 1, "lastSeen": recent}},
		}
		if err := st.Apply(timeout(t), later); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Retain(timeout(t), "a", cutoff); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		website, q string
		want       string
	}{
		{"a", "SELECT arrayStringConcat(groupArray(id), ',') AS r FROM (SELECT id FROM events WHERE website = ? ORDER BY id)", "ae2"},
		{"a", "SELECT arrayStringConcat(groupArray(event), ',') AS r FROM (SELECT event FROM engagement FINAL WHERE website = ? ORDER BY event)", "ae2"},
		{"a", "SELECT arrayStringConcat(groupArray(concat(id, ':', toString(eventCount))), ',') AS r FROM (SELECT id, eventCount FROM sessions FINAL WHERE website = ? ORDER BY id)", "along:2"},
		{"a", "SELECT arrayStringConcat(groupArray(concat(errorHash, ':', toString(n))), ',') AS r FROM (SELECT errorHash, sum(count) AS n FROM js_errors WHERE website = ? GROUP BY errorHash ORDER BY errorHash)", "kept:3"},
		{"b", "SELECT arrayStringConcat(groupArray(id), ',') AS r FROM (SELECT id FROM events WHERE website = ? ORDER BY id)", "be1,be2"},
		{"b", "SELECT arrayStringConcat(groupArray(concat(id, ':', toString(eventCount))), ',') AS r FROM (SELECT id, eventCount FROM sessions FINAL WHERE website = ? ORDER BY id)", "blong:2,bold:1"},
		{"b", "SELECT arrayStringConcat(groupArray(concat(errorHash, ':', toString(n))), ',') AS r FROM (SELECT errorHash, sum(count) AS n FROM js_errors WHERE website = ? GROUP BY errorHash ORDER BY errorHash)", "gone:3,kept:3"},
	} {
		got, err := clickhouse.Select[struct {
			R string `json:"r"`
		}](timeout(t), db, tc.q, tc.website)
		if err != nil {
			t.Fatal(err)
		}
		if got[0].R != tc.want {
			t.Errorf("website %s: %s\n= %q, want %q", tc.website, tc.q, got[0].R, tc.want)
		}
	}
}
