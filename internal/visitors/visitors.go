// Package visitors reads what Skopos knows about a website's visitors and
// the users identify() linked them to: the visitors list of a period, one
// user's page across every device, and the JSON export of one visitor's or
// user's data (the right of access).
//
//	page, err := visitors.List(ctx, app, site.Id, visitors.Query{From: p.From, To: p.To, Sort: visitors.SortLastSeen})
//	next, err := visitors.List(ctx, app, site.Id, visitors.Query{After: page.Next})
//	user, err := visitors.User(ctx, app, site.Id, "user-42")
//	err = visitors.Export(ctx, app, w, nil, site.Id, []string{visitorRecordID})
//
// Names, emails and metadata come from identify() calls in browsers: they
// are untrusted text, returned as is for the caller to escape.
package visitors

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/clickhouse"
)

// Errors of the package, for errors.Is.
var (
	// ErrNotFound: no such visitor or user in the website.
	ErrNotFound = errors.New("visitors: not found")
	// ErrBadQuery: an unknown sort or identified value, or a cursor
	// that is not one of List's (or was made for another sort).
	ErrBadQuery = errors.New("visitors: bad query")
)

// Sort is the order of the visitors list, always descending with the
// visitor's record id breaking ties.
type Sort string

// The orders of the visitors list.
const (
	SortLastSeen  Sort = "lastSeen"  // latest session start first (the default)
	SortFirstSeen Sort = "firstSeen" // newest visitors first
	SortSessions  Sort = "sessions"  // most sessions first
)

// Identified filters or orders the list by whether identify() named the
// visitor (a non-empty userId).
type Identified string

// The identified modes.
const (
	AnyVisitor      Identified = ""      // everyone, in the sort's order
	OnlyIdentified  Identified = "yes"   // identified users only
	OnlyAnonymous   Identified = "no"    // anonymous visitors only
	IdentifiedFirst Identified = "first" // everyone, identified users first
)

// ParseSort reads a sort name; "" is SortLastSeen.
func ParseSort(s string) (Sort, error) {
	switch v := Sort(s); v {
	case "":
		return SortLastSeen, nil
	case SortLastSeen, SortFirstSeen, SortSessions:
		return v, nil
	}
	return "", fmt.Errorf("%w: sort must be lastSeen, firstSeen or sessions", ErrBadQuery)
}

// ParseIdentified reads an identified mode ("", yes, no or first).
func ParseIdentified(s string) (Identified, error) {
	switch v := Identified(s); v {
	case AnyVisitor, OnlyIdentified, OnlyAnonymous, IdentifiedFirst:
		return v, nil
	}
	return "", fmt.Errorf("%w: identified must be yes, no or first", ErrBadQuery)
}

// DefaultLimit and MaxLimit bound a page of the list.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// Query selects a page of the visitors list.
type Query struct {
	// From and To bound the sessions counted: those started in
	// [From, To). Ignored with After (the cursor keeps the first page's).
	From, To time.Time
	// Search keeps the visitors whose userId, name or email contains it
	// (case-insensitive for ASCII; % and _ match themselves).
	Search     string
	Identified Identified
	Sort       Sort // "" is SortLastSeen
	// After is the Next of the previous page; "" for the first page.
	After string
	// Limit is the page length: DefaultLimit when 0, at most MaxLimit.
	Limit int
	// ClickHouse, when set, is the events store the sessions are read
	// from (the visitors rows stay in PocketBase); nil reads SQLite.
	ClickHouse *clickhouse.Client
}

// Row is one visitor of the list: the figures are of their sessions
// started in the period.
type Row struct {
	ID           string    `json:"id"` // the visitors record id
	VisitorID    string    `json:"visitorId"`
	UserID       string    `json:"userId"`
	Name         string    `json:"name"`
	Email        string    `json:"email"`
	MetadataKeys []string  `json:"metadataKeys"`
	Sessions     int       `json:"sessions"`
	FirstSeen    time.Time `json:"firstSeen"` // the start of their first session in the period
	// LastSeen is the start of their latest session in the period:
	// session starts never move, so the order holds while the visitor
	// keeps browsing (a last-activity order would reshuffle pages).
	LastSeen time.Time `json:"lastSeen"`
	Country  string    `json:"country"` // of the latest session
	Device   string    `json:"device"`  // of the latest session
}

// Page is one page of the list; Next is "" on the last.
type Page struct {
	Rows []Row  `json:"rows"`
	Next string `json:"next,omitempty"`
}

const pbLayout = "2006-01-02 15:04:05.000Z"

func dbTime(t time.Time) string { return t.UTC().Format(pbLayout) }

func parseTime(s string) time.Time {
	t, _ := time.Parse(pbLayout, s)
	return t
}

// likeEscaper makes a search text match itself in LIKE ... ESCAPE '\'.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// List returns a page of the visitors of the website (record id site)
// with sessions started in the query's period.
//
// Paging is keyset: the cursor holds the last row's (identified rank,
// sort key, id) and a snapshot (the period and the highest sessions rowid
// of the first page), so that every page reads the same sessions: a
// visitor shows exactly once across the pages, in a stable order, while
// new sessions arrive.
func List(ctx context.Context, app core.App, site string, q Query) (Page, error) {
	c, err := q.cursor(ctx, app, site)
	if err != nil {
		return Page{}, err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	key := map[Sort]string{SortLastSeen: "a.last", SortFirstSeen: "a.first", SortSessions: "a.n"}[c.Sort]
	// rank orders identified users first when asked; a constant
	// otherwise (left out of ORDER BY, where SQLite would read a number
	// as a column's)
	rank, order := "0", ""
	if c.Mode == IdentifiedFirst {
		rank = "(v.userId != '')"
		order = rank + " DESC, "
	}
	params := dbx.Params{"w": site, "from": dbTime(time.Unix(0, c.From)), "to": dbTime(time.Unix(0, c.To)),
		"snap": c.Snapshot, "n": limit + 1}
	var where []string
	switch c.Mode {
	case OnlyIdentified:
		where = append(where, "v.userId != ''")
	case OnlyAnonymous:
		where = append(where, "v.userId = ''")
	}
	if s := strings.TrimSpace(q.Search); s != "" {
		params["q"] = "%" + likeEscaper.Replace(s) + "%"
		where = append(where, `(v.userId LIKE {:q} ESCAPE '\' OR v.name LIKE {:q} ESCAPE '\' OR v.email LIKE {:q} ESCAPE '\')`)
	}
	if c.ID != "" {
		params["cr"], params["ci"] = c.Rank, c.ID
		if c.Sort == SortSessions {
			params["ck"] = c.N
		} else {
			params["ck"] = c.Key
		}
		where = append(where, "("+rank+", "+key+", v.id) < ({:cr}, {:ck}, {:ci})")
	}
	cond := ""
	if len(where) > 0 {
		cond = "WHERE " + strings.Join(where, " AND ")
	}
	// the aggregate reads the period's sessions once per page (the index
	// website_startedAt); rowid <= snap leaves out what arrived since the
	// first page
	agg := `SELECT visitor, COUNT(*) AS n, MIN(startedAt) AS first, MAX(startedAt) AS last
			FROM sessions
			WHERE website = {:w} AND startedAt >= {:from} AND startedAt < {:to} AND rowid <= {:snap}
			GROUP BY visitor`
	if q.ClickHouse != nil {
		if agg, err = chAggregate(ctx, q.ClickHouse, site, c, params); err != nil {
			return Page{}, err
		}
	}
	sqlText := `SELECT v.id, v.visitorId, v.userId, v.name, v.email, COALESCE(v.metadata, ''), a.n, a.first, a.last, ` + rank + `
		FROM (` + agg + `) a
		JOIN visitors v ON v.id = a.visitor AND v.website = {:w}
		` + cond + `
		ORDER BY ` + order + key + ` DESC, v.id DESC LIMIT {:n}`
	rows, err := app.DB().NewQuery(sqlText).Bind(params).WithContext(ctx).Rows()
	if err != nil {
		return Page{}, fmt.Errorf("visitors: list: %w", err)
	}
	defer rows.Close()
	var out Page
	ranks := make([]int, 0, limit+1)
	for rows.Next() {
		var r Row
		var meta, first, last string
		var rk int
		if err := rows.Scan(&r.ID, &r.VisitorID, &r.UserID, &r.Name, &r.Email, &meta, &r.Sessions, &first, &last, &rk); err != nil {
			return Page{}, fmt.Errorf("visitors: scan: %w", err)
		}
		r.FirstSeen, r.LastSeen = parseTime(first), parseTime(last)
		r.MetadataKeys = keys(meta)
		out.Rows = append(out.Rows, r)
		ranks = append(ranks, rk)
	}
	if err := rows.Err(); err != nil {
		return Page{}, fmt.Errorf("visitors: list: %w", err)
	}
	rows.Close()
	if len(out.Rows) > limit {
		out.Rows = out.Rows[:limit]
		last := out.Rows[limit-1]
		next := c
		next.Rank, next.ID = ranks[limit-1], last.ID
		switch c.Sort {
		case SortSessions:
			next.N = last.Sessions
		case SortFirstSeen:
			next.Key = dbTime(last.FirstSeen)
		default:
			next.Key = dbTime(last.LastSeen)
		}
		out.Next = next.encode()
	}
	if q.ClickHouse != nil {
		err = chLatestSessions(ctx, q.ClickHouse, site, c, out.Rows)
	} else {
		err = latestSessions(ctx, app, params, out.Rows)
	}
	if err != nil {
		return Page{}, err
	}
	return out, nil
}

// latestSessions fills the country and device of each row's latest
// session of the snapshot.
func latestSessions(ctx context.Context, app core.App, params dbx.Params, rows []Row) error {
	if len(rows) == 0 {
		return nil
	}
	ids, at := rowIDs(rows)
	b, _ := json.Marshal(ids)
	p := dbx.Params{"ids": string(b), "w": params["w"], "from": params["from"], "to": params["to"], "snap": params["snap"]}
	res, err := app.DB().NewQuery(`SELECT visitor, country, device FROM (
			SELECT visitor, country, device, ROW_NUMBER() OVER (PARTITION BY visitor ORDER BY startedAt DESC, id DESC) AS rn
			FROM sessions
			WHERE visitor IN (SELECT value FROM json_each({:ids})) AND website = {:w}
				AND startedAt >= {:from} AND startedAt < {:to} AND rowid <= {:snap})
		WHERE rn = 1`).Bind(p).WithContext(ctx).Rows()
	if err != nil {
		return fmt.Errorf("visitors: latest sessions: %w", err)
	}
	defer res.Close()
	for res.Next() {
		var v string
		var country, device sql.NullString
		if err := res.Scan(&v, &country, &device); err != nil {
			return fmt.Errorf("visitors: latest sessions: %w", err)
		}
		if i, ok := at[v]; ok {
			rows[i].Country, rows[i].Device = country.String, device.String
		}
	}
	return res.Err()
}

// rowIDs returns the rows' record ids, and the index of each.
func rowIDs(rows []Row) ([]string, map[string]int) {
	ids := make([]string, len(rows))
	at := make(map[string]int, len(rows))
	for i, r := range rows {
		ids[i], at[r.ID] = r.ID, i
	}
	return ids, at
}

// keys returns the sorted keys of a metadata JSON object (none for
// anything else).
func keys(meta string) []string {
	var m map[string]json.RawMessage
	if json.Unmarshal([]byte(meta), &m) != nil || len(m) == 0 {
		return nil
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
