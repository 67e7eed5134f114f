// Package reststore is the store of SDK mode: a remote PocketBase over its
// Store API (through package pbrest), one /api/batch request per Apply.
package reststore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/pocketbase/pocketbase/tools/types"
	"github.com/skopos-go/skopos/internal/store"
	"github.com/skopos-go/skopos/pbrest"
	"github.com/skopos-go/skopos/schema"
)

// Store is the Store of SDK mode: a remote PocketBase over HTTP.
type Store struct {
	pb *pbrest.Client
}

// NewREST returns a Store that uses pb, which must hold superuser
// credentials.
func New(pb *pbrest.Client) *Store { return &Store{pb: pb} }

// Apply sends ops as one /api/batch request (one transaction).
func (s *Store) Apply(ctx context.Context, ops []store.Op) error {
	items := make([]pbrest.BatchItem, len(ops))
	for i, op := range ops {
		items[i] = batchItem(op)
	}
	_, err := s.pb.Batch(ctx, items)
	if err == nil {
		return nil
	}
	var be *pbrest.BatchError
	if errors.As(err, &be) {
		oe := &store.OpError{Index: be.Index, Err: err}
		if be.Err != nil {
			oe.Unique = hasCode(be.Err.Data, "validation_not_unique")
			oe.Permanent = !oe.Unique && errors.Is(be.Err, pbrest.ErrBadRequest)
		}
		return oe
	}
	// Only a refusal of the data (400) is permanent; auth failures, a
	// disabled batch API or an outage wait for the operator or the server.
	// PocketBase names the request whose data it refuses; a 400 "Batch
	// transaction failed." naming none is its batch timeout (the server
	// stalled: the transaction may even commit later) or an interrupted
	// request, never the data: retried, as possibly committed.
	var pe *pbrest.Error
	if errors.As(err, &pe) && pe.Status == http.StatusBadRequest && strings.HasPrefix(pe.Message, "Batch transaction failed") {
		return &store.OpError{Index: -1, Timeout: true, Err: err}
	}
	return &store.OpError{Index: -1, Permanent: errors.Is(err, pbrest.ErrBadRequest) && !errors.Is(err, pbrest.ErrBatchDisabled), Err: err}
}

func hasCode(data map[string]pbrest.FieldError, code string) bool {
	for _, fe := range data {
		if fe.Code == code {
			return true
		}
	}
	return false
}

func batchItem(op store.Op) pbrest.BatchItem {
	base := "/api/collections/" + op.Collection + "/records"
	switch op.Action {
	case store.Create, store.Upsert:
		body := make(map[string]any, len(op.Data)+1)
		for k, v := range op.Data {
			body[k] = v
		}
		body["id"] = op.ID
		method := http.MethodPost
		if op.Action == store.Upsert {
			method = http.MethodPut
		}
		return pbrest.BatchItem{Method: method, URL: base, Body: body}
	default:
		return pbrest.BatchItem{Method: http.MethodPatch, URL: base + "/" + op.ID, Body: op.Data}
	}
}

// MaxOps is the server's batch.maxRequests.
func (s *Store) MaxOps(ctx context.Context) (int, error) {
	n, err := s.pb.BatchMaxRequests(ctx)
	// small batches: a conflict resubmits the whole batch, and PocketBase
	// holds its single writer (and its batch timeout) for all of it
	return min(n, restMaxOps), err
}

// restMaxOps caps one /api/batch request.
const restMaxOps = 500

// maxFilterIDs keeps `id="…" || …` filters under PocketBase's 3500
// character filter limit.
const maxFilterIDs = 100

// Existing lists which ids exist, a filter request per 100 ids.
func (s *Store) Existing(ctx context.Context, collection string, ids []string) (map[string]bool, error) {
	out := make(map[string]bool, len(ids))
	for len(ids) > 0 {
		n := min(len(ids), maxFilterIDs)
		var rows []struct {
			ID string `json:"id"`
		}
		q := pbrest.ListQuery{Filter: idFilter(ids[:n]), PerPage: n, Fields: "id", SkipTotal: true}
		if _, err := s.pb.ListRecords(ctx, collection, q, &rows); err != nil {
			return nil, err
		}
		for _, r := range rows {
			out[r.ID] = true
		}
		ids = ids[n:]
	}
	return out, nil
}

// PaidOrders finds the website's orders with revenue, a request per 40
// order ids (the filter travels in the URL).
func (s *Store) PaidOrders(ctx context.Context, websiteID string, orderIDs []string) (map[string]bool, error) {
	out := map[string]bool{}
	for start := 0; start < len(orderIDs); start += openSessionsPerRequest {
		part := orderIDs[start:min(start+openSessionsPerRequest, len(orderIDs))]
		params := pbrest.Params{"website": websiteID}
		or := make([]string, len(part))
		for i, id := range part {
			k := fmt.Sprintf("o%d", i)
			params[k] = id
			or[i] = "orderId = {:" + k + "}"
		}
		q := pbrest.ListQuery{
			Filter:    pbrest.Filter("website = {:website} && revenueCurrency != '' && ("+strings.Join(or, " || ")+")", params),
			PerPage:   500,
			SkipTotal: true,
			Fields:    "orderId",
		}
		var rows []struct {
			OrderID string `json:"orderId"`
		}
		if _, err := s.pb.ListRecords(ctx, schema.Events, q, &rows); err != nil {
			return nil, err
		}
		for _, r := range rows {
			out[r.OrderID] = true
		}
	}
	return out, nil
}

// idFilter selects the records with one of ids (at most maxFilterIDs).
func idFilter(ids []string) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = "id=" + pbrest.Quote(id)
	}
	return strings.Join(parts, "||")
}

// PageViews reads the page views among ids (store.PageView), a filter
// request per 100 ids.
func (s *Store) PageViews(ctx context.Context, ids []string) (map[string]store.PageView, error) {
	out := make(map[string]store.PageView, len(ids))
	for len(ids) > 0 {
		n := min(len(ids), maxFilterIDs)
		var rows []struct {
			ID          string `json:"id"`
			Session     string `json:"session"`
			EngagedMs   int    `json:"engagedMs"`
			ScrollDepth int    `json:"scrollDepth"`
		}
		q := pbrest.ListQuery{Filter: "type='pageView'&&(" + idFilter(ids[:n]) + ")", PerPage: n,
			Fields: "id,session,engagedMs,scrollDepth", SkipTotal: true}
		if _, err := s.pb.ListRecords(ctx, schema.Events, q, &rows); err != nil {
			return nil, err
		}
		for _, r := range rows {
			out[r.ID] = store.PageView{Session: r.Session, EngagedMs: r.EngagedMs, ScrollDepth: r.ScrollDepth}
		}
		ids = ids[n:]
	}
	return out, nil
}

type sessionRow struct {
	ID           string         `json:"id"`
	Visitor      string         `json:"visitor"`
	Seq          int            `json:"seq"`
	StartedAt    types.DateTime `json:"startedAt"`
	LastActivity types.DateTime `json:"lastActivity"`
	EntryPath    string         `json:"entryPath"`
	ExitPath     string         `json:"exitPath"`
	EventCount   int            `json:"eventCount"`
	IsEngaged    bool           `json:"isEngaged"`
}

// openSessionsPerRequest bounds the visitors of one OpenSessions request
// (the filter travels in the URL).
const openSessionsPerRequest = 40

// OpenSessions reads the visitors' open sessions, one request per 40
// visitors.
func (s *Store) OpenSessions(ctx context.Context, visitorRecordIDs []string, since time.Time) (map[string]store.Session, error) {
	out := map[string]store.Session{}
	for start := 0; start < len(visitorRecordIDs); start += openSessionsPerRequest {
		part := visitorRecordIDs[start:min(start+openSessionsPerRequest, len(visitorRecordIDs))]
		params := pbrest.Params{"since": since.UTC()}
		var or []string
		for i, vid := range part {
			k := fmt.Sprintf("v%d", i)
			params[k] = vid
			or = append(or, "visitor = {:"+k+"}")
		}
		q := pbrest.ListQuery{
			Filter:    pbrest.Filter("("+strings.Join(or, " || ")+") && lastActivity >= {:since}", params),
			Sort:      "-seq",
			PerPage:   500,
			SkipTotal: true,
			Fields:    "id,visitor,seq,startedAt,lastActivity,entryPath,exitPath,eventCount,isEngaged",
		}
		var rows []sessionRow
		if _, err := s.pb.ListRecords(ctx, schema.Sessions, q, &rows); err != nil {
			return nil, err
		}
		for _, r := range rows {
			if have, ok := out[r.Visitor]; !ok || r.Seq > have.Seq {
				out[r.Visitor] = r.session()
			}
		}
	}
	return out, nil
}

func (r sessionRow) session() store.Session {
	return store.Session{ID: r.ID, Seq: r.Seq, StartedAt: r.StartedAt.Time(), LastActivity: r.LastActivity.Time(), EntryPath: r.EntryPath, ExitPath: r.ExitPath,
		EventCount: r.EventCount, Engaged: r.IsEngaged}
}

// LatestSession reads the visitor's highest-seq session.
func (s *Store) LatestSession(ctx context.Context, visitorRecordID string) (store.Session, error) {
	var rows []sessionRow
	q := pbrest.ListQuery{
		Filter:    pbrest.Filter("visitor = {:v}", pbrest.Params{"v": visitorRecordID}),
		Sort:      "-seq",
		PerPage:   1,
		SkipTotal: true,
		Fields:    "id,seq,startedAt,lastActivity,entryPath,exitPath,eventCount,isEngaged",
	}
	if _, err := s.pb.ListRecords(ctx, schema.Sessions, q, &rows); err != nil {
		return store.Session{}, err
	}
	if len(rows) == 0 {
		return store.Session{}, store.ErrNotFound
	}
	return rows[0].session(), nil
}

type websiteRow struct {
	ID                       string          `json:"id"`
	TrackingID               string          `json:"trackingId"`
	Name                     string          `json:"name"`
	Domain                   string          `json:"domain"`
	IsArchived               bool            `json:"isArchived"`
	StoreRawIP               bool            `json:"storeRawIp"`
	DisableLocalhostTracking bool            `json:"disableLocalhostTracking"`
	IPBlacklist              json.RawMessage `json:"ipBlacklist"`
	DataRetentionDays        int             `json:"dataRetentionDays"`
}

// WebsiteByTrackingID looks a website up by its trackingId.
func (s *Store) WebsiteByTrackingID(ctx context.Context, trackingID string) (store.Website, error) {
	var row websiteRow
	err := s.pb.FirstRecord(ctx, schema.Websites, pbrest.Filter("trackingId = {:t}", pbrest.Params{"t": trackingID}), &row)
	if errors.Is(err, pbrest.ErrNotFound) {
		return store.Website{}, store.ErrNotFound
	}
	if err != nil {
		return store.Website{}, err
	}
	return row.website(), nil
}

// DecodeWebsite reads a websites record as PocketBase serializes it
// (Store answers, realtime messages).
func DecodeWebsite(raw json.RawMessage) (store.Website, error) {
	var row websiteRow
	if err := json.Unmarshal(raw, &row); err != nil {
		return store.Website{}, err
	}
	return row.website(), nil
}

func (r websiteRow) website() store.Website {
	return store.Website{
		ID: r.ID, TrackingID: r.TrackingID, Name: r.Name, Domain: r.Domain,
		IsArchived: r.IsArchived, StoreRawIP: r.StoreRawIP, DisableLocalhostTracking: r.DisableLocalhostTracking,
		IPBlacklist: store.StringList(r.IPBlacklist), DataRetentionDays: r.DataRetentionDays,
	}
}

// UpdateWebsite patches a website record.
func (s *Store) UpdateWebsite(ctx context.Context, id string, data map[string]any) error {
	return s.pb.UpdateRecord(ctx, schema.Websites, id, data, nil)
}

// SpoolPosition reads the committed position of the intake log id.
func (s *Store) SpoolPosition(ctx context.Context, id string) (uint64, error) {
	var row struct {
		Seq float64 `json:"seq"`
	}
	err := s.pb.GetRecord(ctx, schema.Spools, id, &row)
	if errors.Is(err, pbrest.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return uint64(max(row.Seq, 0)), nil
}

// DimensionKeys lists the distinct dash_sum_items keys of a website's UTC
// day (its hourly rows), a page of at most 500 rows per request.
func (s *Store) DimensionKeys(ctx context.Context, websiteID string, day time.Time) (map[string][]string, error) {
	out := map[string][]string{}
	seen := map[[2]string]bool{}
	filter := pbrest.Filter("website = {:w} && date >= {:d} && date < {:e}",
		pbrest.Params{"w": websiteID, "d": day.UTC(), "e": day.UTC().AddDate(0, 0, 1)})
	for page := 1; ; page++ {
		var rows []struct {
			Dimension string `json:"dimension"`
			Key       string `json:"key"`
		}
		_, err := s.pb.ListRecords(ctx, schema.DashSumItems, pbrest.ListQuery{
			Filter: filter, Page: page, PerPage: 500, Fields: "dimension,key", SkipTotal: true}, &rows)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			if k := [2]string{r.Dimension, r.Key}; !seen[k] {
				seen[k] = true
				out[r.Dimension] = append(out[r.Dimension], r.Key)
			}
		}
		if len(rows) < 500 {
			return out, nil
		}
	}
}
