// Package localstore is the store of embedded mode: it writes through the
// in-process PocketBase app (core.App) in one SQLite transaction per Apply,
// with no HTTP in between. It links PocketBase's engine, so only the
// server side (package plugin, `skopos serve`) imports it.
package localstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	validation "github.com/go-ozzo/ozzo-validation/v4"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
	"github.com/skopos-go/skopos/internal/store"
	"github.com/skopos-go/skopos/schema"
)

// localMaxOps bounds one transaction in embedded mode, where there is no
// HTTP batch limit: a backlog flush of 10 000 events (about 2.3 ops per
// event with this traffic) fits in one. Bigger transactions write each
// session row once for more of its events and commit less often; one of
// 25 000 ops holds PocketBase's single writer for about half a second.
const localMaxOps = 25000

// Store is the Store of embedded mode: writes go through the in-process
// PocketBase app (validation and record hooks included), without HTTP.
type Store struct {
	app       core.App
	stmts     *stmtCache
	recordAPI bool
}

// New returns a Store that writes through app: creates as prepared
// multi-row INSERTs (no record hooks fire for them), updates and summary
// upserts as single SQL statements.
func New(app core.App) *Store { return &Store{app: app, stmts: newStmtCache()} }

// NewRecordAPI returns a Store that creates rows through PocketBase's
// record API (validation and record hooks included): the reference the
// SQL path is tested against, and what runs when it cannot be used.
func NewRecordAPI(app core.App) *Store {
	return &Store{app: app, stmts: newStmtCache(), recordAPI: true}
}

// Apply saves ops in one transaction.
func (s *Store) Apply(ctx context.Context, ops []store.Op) error {
	err := s.apply(ctx, ops, false)
	if errors.Is(err, errPrecise) {
		err = s.apply(ctx, ops, true)
	}
	return err
}

func (s *Store) apply(ctx context.Context, ops []store.Op, precise bool) error {
	failed := -1
	s.stmts.prepareWanted(ctx, s.app)
	var opErr *store.OpError
	err := s.app.RunInTransaction(func(tx core.App) error {
		t := sqlTx(tx)
		for i := 0; i < len(ops); {
			if err := ctx.Err(); err != nil {
				return err
			}
			if !s.recordAPI && t != nil {
				n, err := s.createRun(ctx, tx, t, ops[i:], precise)
				if errors.Is(err, errPrecise) {
					return err
				}
				if err != nil {
					var oe *store.OpError
					if errors.As(err, &oe) {
						oe.Index += i
						opErr = oe
					}
					failed = i
					return err
				}
				if n > 0 {
					i += n
					continue
				}
			}
			// consecutive upserts of one shape (the summary rows at the
			// end of a chunk) go out as one multi-row statement
			if n, err := s.sqlUpsertRun(ctx, t, ops[i:]); n > 0 || err != nil {
				if err != nil {
					failed = i
					return err
				}
				i += n
				continue
			}
			if err := s.saveOp(ctx, tx, t, ops[i]); err != nil {
				failed = i
				return err
			}
			i++
		}
		return nil
	})
	if err == nil || errors.Is(err, errPrecise) {
		return err
	}
	if opErr != nil {
		return opErr
	}
	oe := &store.OpError{Index: failed, Err: err}
	var verrs validation.Errors
	if errors.As(err, &verrs) {
		oe.Unique = hasValidationCode(verrs, "validation_not_unique")
		oe.Permanent = !oe.Unique
	} else if errors.Is(err, store.ErrNotFound) {
		oe.Permanent = true
	}
	return oe
}

func hasValidationCode(verrs validation.Errors, code string) bool {
	for _, e := range verrs {
		var ve validation.Error
		if errors.As(e, &ve) && ve.Code() == code {
			return true
		}
	}
	return false
}

func (s *Store) saveOp(ctx context.Context, tx core.App, t *sql.Tx, op store.Op) error {
	if handled, err := s.sqlWrite(ctx, t, op); handled {
		return err
	}
	var rec *core.Record
	switch op.Action {
	case store.Create:
		col, err := tx.FindCachedCollectionByNameOrId(op.Collection)
		if err != nil {
			return err
		}
		rec = core.NewRecord(col)
		rec.Id = op.ID
	case store.Update, store.Upsert:
		var err error
		rec, err = tx.FindRecordById(op.Collection, op.ID)
		if errors.Is(err, sql.ErrNoRows) && op.Action == store.Upsert {
			col, cerr := tx.FindCachedCollectionByNameOrId(op.Collection)
			if cerr != nil {
				return cerr
			}
			rec = core.NewRecord(col)
			rec.Id = op.ID
		} else if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		} else if err != nil {
			return err
		}
	}
	for k, v := range op.Data {
		rec.Set(k, v) // handles the "field+" / "field-" modifiers
	}
	return tx.Save(rec)
}

// MaxOps bounds one transaction.
func (s *Store) MaxOps(context.Context) (int, error) { return localMaxOps, nil }

// Existing returns which ids exist in collection.
func (s *Store) Existing(ctx context.Context, collection string, ids []string) (map[string]bool, error) {
	return found(ids, func(part []any) (out []string, err error) {
		err = s.app.RecordQuery(collection).WithContext(ctx).Select("id").AndWhere(dbx.In("id", part...)).Column(&out)
		return out, err
	})
}

// found collects the values query finds among values, queried
// existingPerQuery at a time: SQLite binds at most 32 766 variables per
// statement, and a backlog flush can bring more new visitors than that.
func found(values []string, query func(part []any) ([]string, error)) (map[string]bool, error) {
	out := make(map[string]bool, len(values))
	for len(values) > 0 {
		n := min(len(values), existingPerQuery)
		got, err := query(toAny(values[:n]))
		if err != nil {
			return out, err
		}
		for _, v := range got {
			out[v] = true
		}
		values = values[n:]
	}
	return out, nil
}

// PageViews reads the page views among ids (store.PageView).
func (s *Store) PageViews(ctx context.Context, ids []string) (map[string]store.PageView, error) {
	out := make(map[string]store.PageView, len(ids))
	for len(ids) > 0 {
		n := min(len(ids), existingPerQuery)
		var rows []struct {
			ID          string `db:"id"`
			Session     string `db:"session"`
			EngagedMs   int    `db:"engagedMs"`
			ScrollDepth int    `db:"scrollDepth"`
		}
		err := s.app.DB().Select("id", "session", "engagedMs", "scrollDepth").From(schema.Events).WithContext(ctx).
			Where(dbx.In("id", toAny(ids[:n])...)).AndWhere(dbx.HashExp{"type": "pageView"}).All(&rows)
		if err != nil {
			return out, err
		}
		for _, r := range rows {
			out[r.ID] = store.PageView{Session: r.Session, EngagedMs: r.EngagedMs, ScrollDepth: r.ScrollDepth}
		}
		ids = ids[n:]
	}
	return out, nil
}

// existingPerQuery bounds the ids of one Existing query.
const existingPerQuery = 10000

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// VisitorRows finds the visitors rows of keys (store.VisitorRows), per
// website, through the (website, visitorId) index.
func (s *Store) VisitorRows(ctx context.Context, keys []store.VisitorKey) (map[store.VisitorKey]string, error) {
	out := map[store.VisitorKey]string{}
	byWebsite := map[string][]any{}
	for _, k := range keys {
		byWebsite[k.Website] = append(byWebsite[k.Website], k.VisitorID)
	}
	for website, hashes := range byWebsite {
		for len(hashes) > 0 {
			n := min(len(hashes), existingPerQuery)
			var rows []struct {
				ID        string `db:"id"`
				VisitorID string `db:"visitorId"`
			}
			err := s.app.RecordQuery(schema.Visitors).WithContext(ctx).Select("id", "visitorId").
				AndWhere(dbx.HashExp{"website": website}).AndWhere(dbx.In("visitorId", hashes[:n]...)).All(&rows)
			if err != nil {
				return out, err
			}
			for _, r := range rows {
				out[store.VisitorKey{Website: website, VisitorID: r.VisitorID}] = r.ID
			}
			hashes = hashes[n:]
		}
	}
	return out, nil
}

// PaidOrders finds the website's orders with revenue (store.Store),
// through the events (website, orderId) index.
func (s *Store) PaidOrders(ctx context.Context, websiteID string, orderIDs []string) (map[string]bool, error) {
	return found(orderIDs, func(part []any) (out []string, err error) {
		err = s.app.DB().Select("orderId").Distinct(true).From(schema.Events).WithContext(ctx).
			Where(dbx.HashExp{"website": websiteID}).AndWhere(dbx.In("orderId", part...)).
			AndWhere(dbx.NewExp("revenueCurrency != ''")).Column(&out)
		return out, err
	})
}

// LatestSession reads the visitor's highest-seq session.
func (s *Store) LatestSession(ctx context.Context, visitorRecordID string) (store.Session, error) {
	var row struct {
		ID           string         `db:"id"`
		Seq          int            `db:"seq"`
		StartedAt    types.DateTime `db:"startedAt"`
		LastActivity types.DateTime `db:"lastActivity"`
		EntryPath    string         `db:"entryPath"`
		ExitPath     string         `db:"exitPath"`
		EventCount   int            `db:"eventCount"`
		IsEngaged    bool           `db:"isEngaged"`
	}
	err := s.app.DB().Select("id", "seq", "startedAt", "lastActivity", "entryPath", "exitPath", "eventCount", "isEngaged").
		From(schema.Sessions).WithContext(ctx).
		Where(dbx.HashExp{"visitor": visitorRecordID}).OrderBy("seq DESC").Limit(1).One(&row)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Session{}, store.ErrNotFound
	}
	if err != nil {
		return store.Session{}, err
	}
	return store.Session{ID: row.ID, Seq: row.Seq, StartedAt: row.StartedAt.Time(), LastActivity: row.LastActivity.Time(), EntryPath: row.EntryPath, ExitPath: row.ExitPath,
		EventCount: row.EventCount, Engaged: row.IsEngaged}, nil
}

// WebsiteByTrackingID looks a website up by its trackingId.
func (s *Store) WebsiteByTrackingID(ctx context.Context, trackingID string) (store.Website, error) {
	rec, err := s.app.FindFirstRecordByData(schema.Websites, "trackingId", trackingID)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Website{}, store.ErrNotFound
	}
	if err != nil {
		return store.Website{}, err
	}
	return WebsiteFromRecord(rec), nil
}

// WebsiteFromRecord reads a websites record.
func WebsiteFromRecord(rec *core.Record) store.Website {
	raw, _ := json.Marshal(rec.Get("ipBlacklist"))
	return store.Website{
		ID: rec.Id, TrackingID: rec.GetString("trackingId"), Name: rec.GetString("name"),
		Domain: rec.GetString("domain"), IsArchived: rec.GetBool("isArchived"),
		StoreRawIP: rec.GetBool("storeRawIp"), DisableLocalhostTracking: rec.GetBool("disableLocalhostTracking"),
		IPBlacklist: store.StringList(raw), DataRetentionDays: rec.GetInt("dataRetentionDays"),
	}
}

// UpdateWebsite sets fields on a website record.
func (s *Store) UpdateWebsite(ctx context.Context, id string, data map[string]any) error {
	rec, err := s.app.FindRecordById(schema.Websites, id)
	if err != nil {
		return err
	}
	for k, v := range data {
		rec.Set(k, v)
	}
	return s.app.SaveWithContext(ctx, rec)
}

// SpoolPosition reads the committed position of the intake log id.
func (s *Store) SpoolPosition(ctx context.Context, id string) (uint64, error) {
	var seq int64
	err := s.app.DB().Select("seq").From(schema.Spools).Where(dbx.HashExp{"id": id}).WithContext(ctx).Row(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return uint64(max(seq, 0)), nil
}

// DimensionKeys lists the distinct dash_sum_items keys of a website's UTC
// day (its hourly rows).
func (s *Store) DimensionKeys(ctx context.Context, websiteID string, day time.Time) (map[string][]string, error) {
	var rows []struct {
		Dimension string `db:"dimension"`
		Key       string `db:"key"`
	}
	err := s.app.DB().Select("dimension", "key").Distinct(true).From(schema.DashSumItems).WithContext(ctx).
		Where(dbx.HashExp{"website": websiteID}).
		AndWhere(dbx.NewExp("date >= {:from} AND date < {:to}", dbx.Params{
			"from": day.UTC().Format(types.DefaultDateLayout), "to": day.UTC().AddDate(0, 0, 1).Format(types.DefaultDateLayout)})).
		All(&rows)
	out := map[string][]string{}
	for _, r := range rows {
		out[r.Dimension] = append(out[r.Dimension], r.Key)
	}
	return out, err
}
