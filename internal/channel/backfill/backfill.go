// Package backfill gives the sessions stored before sources and channels
// existed theirs: the sessions columns, and the breakdowns of the
// acquisition dimensions (channel, source, utm_term, utm_content) for the
// days whose raw sessions are still stored. Schema v12's migration runs
// it, and so does adopting a Node-era data dir; schema v18's runs
// ItemsOf for the region breakdown.
package backfill

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/tools/types"
	"github.com/skopos-go/skopos/internal/channel"
	"github.com/skopos-go/skopos/internal/pipeline"
	"github.com/skopos-go/skopos/internal/validate"
	"github.com/skopos-go/skopos/schema"
)

// Dimensions are the breakdowns Items rebuilds: the ones sessions of
// earlier versions were never counted under.
var Dimensions = []string{"channel", "source", "utm_term", "utm_content"}

// batch is how many sessions one statement reads: a bounded amount of
// memory at any size of table.
const batch = 5000

// Sessions sets source and channel on every session without a channel,
// from its referrer and utm parameters as the pipeline would have when it
// opened. It returns how many it set.
func Sessions(db dbx.Builder) (int, error) {
	type row struct {
		RowID    int64  `db:"rowid"`
		Referrer string `db:"referrer"`
		UTM      string `db:"utm"`
	}
	done, after := 0, int64(0)
	update := db.NewQuery(`UPDATE sessions SET source = {:source}, channel = {:channel} WHERE rowid = {:rowid}`).Prepare()
	defer update.Close()
	for {
		var rows []row
		err := db.NewQuery(`SELECT rowid, COALESCE(referrer, '') AS referrer, COALESCE(utm, '') AS utm FROM sessions
			WHERE rowid > {:after} AND COALESCE(channel, '') = '' ORDER BY rowid LIMIT {:n}`).
			Bind(dbx.Params{"after": after, "n": batch}).All(&rows)
		if err != nil {
			return done, fmt.Errorf("backfill: sessions: %w", err)
		}
		for _, r := range rows {
			var utm map[string]any
			_ = json.Unmarshal([]byte(r.UTM), &utm) // absent or not an object: no utm
			str := func(k string) string { s, _ := utm[k].(string); return s }
			acq := channel.Classify(channel.Visit{Referrer: r.Referrer,
				UTMSource: str("utm_source"), UTMMedium: str("utm_medium"), UTMCampaign: str("utm_campaign")})
			if _, err := update.Bind(dbx.Params{"source": validate.Truncate(acq.Source, schema.MaxSource),
				"channel": acq.Channel, "rowid": r.RowID}).Execute(); err != nil {
				return done, fmt.Errorf("backfill: session %d: %w", r.RowID, err)
			}
			after = r.RowID
		}
		done += len(rows)
		if len(rows) < batch {
			return done, nil
		}
	}
}

// Items replaces the breakdowns of Dimensions with counts of the stored
// sessions, each on its start's UTC day as the pipeline counts them; a
// day's keys beyond maxKeys (the pipeline's cap) go to "(other)", the
// least counted first. It returns how many rows it wrote.
func Items(db dbx.Builder, maxKeys int) (int, error) { return ItemsOf(db, maxKeys, Dimensions...) }

// backfillExprs read each dimension ItemsOf can rebuild from a session.
var backfillExprs = map[string]string{
	"channel": "COALESCE(channel, '')", "source": "COALESCE(source, '')",
	"utm_term": "COALESCE(json_extract(utm, '$.utm_term'), '')", "utm_content": "COALESCE(json_extract(utm, '$.utm_content'), '')",
	"region": "COALESCE(state, '')",
}

// ItemsOf is Items for dims: Dimensions, or "region" (a breakdown since
// schema v18, from the sessions' state).
func ItemsOf(db dbx.Builder, maxKeys int, dims ...string) (int, error) {
	if maxKeys <= 0 {
		maxKeys = pipeline.DefaultMaxDimensionKeys
	}
	for _, dim := range dims {
		if backfillExprs[dim] == "" {
			return 0, fmt.Errorf("backfill: no rebuild of the %q breakdown", dim)
		}
		if _, err := db.NewQuery(`DELETE FROM dash_sum_items WHERE dimension = {:dim}`).Bind(dbx.Params{"dim": dim}).Execute(); err != nil {
			return 0, fmt.Errorf("backfill: %w", err)
		}
	}
	exprs := backfillExprs
	now := types.NowDateTime().String()
	insert := db.NewQuery(`INSERT INTO dash_sum_items (id, created, updated, website, date, dimension, key, count)
		VALUES ({:id}, {:now}, {:now}, {:w}, {:date}, {:dim}, {:key}, {:n})`).Prepare()
	defer insert.Close()
	written := 0
	for _, dim := range dims {
		type group struct {
			Website string `db:"website"`
			Day     string `db:"day"`
			Value   string `db:"value"`
			N       int    `db:"n"`
		}
		var groups []group
		err := db.NewQuery(`SELECT website, substr(startedAt, 1, 10) AS day, ` + exprs[dim] + ` AS value, COUNT(*) AS n
			FROM sessions WHERE COALESCE(startedAt, '') != '' GROUP BY website, day, value`).All(&groups)
		if err != nil {
			return written, fmt.Errorf("backfill: %s: %w", dim, err)
		}
		type dayKey struct{ website, day string }
		days := map[dayKey]map[string]int{}
		for _, g := range groups {
			key := pipeline.SessionValue(dim, g.Value)
			if dim == "utm_term" || dim == "utm_content" {
				if g.Value == "" {
					continue // campaigns list the sessions that came with one
				}
				key = g.Value
			}
			k := dayKey{g.Website, g.Day}
			if days[k] == nil {
				days[k] = map[string]int{}
			}
			days[k][pipeline.SummaryKey(key)] += g.N
		}
		for k, counts := range days {
			day, err := time.Parse(time.DateOnly, k.day)
			if err != nil {
				return written, fmt.Errorf("backfill: %s: day %q: %w", dim, k.day, err)
			}
			for key, n := range capKeys(counts, maxKeys) {
				if _, err := insert.Bind(dbx.Params{"id": pipeline.SumItemID(k.website, day, dim, key), "now": now,
					"w": k.website, "date": day.Format(types.DefaultDateLayout), "dim": dim, "key": key, "n": n}).Execute(); err != nil {
					return written, fmt.Errorf("backfill: %s %s %s: %w", k.website, k.day, dim, err)
				}
				written++
			}
		}
	}
	return written, nil
}

// capKeys keeps the max most counted keys (ties by key) and sums the
// rest under pipeline.OtherKey.
func capKeys(counts map[string]int, max int) map[string]int {
	if len(counts) <= max {
		return counts
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if counts[keys[i]] != counts[keys[j]] {
			return counts[keys[i]] > counts[keys[j]]
		}
		return keys[i] < keys[j]
	})
	out := map[string]int{}
	for i, k := range keys {
		if i < max && k != pipeline.OtherKey {
			out[k] = counts[k]
		} else {
			out[pipeline.OtherKey] += counts[k]
		}
	}
	return out
}
