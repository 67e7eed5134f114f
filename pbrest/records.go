package pbrest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// ListQuery selects records for [Client.ListRecords]. The zero value lists
// the first page of 30 records in the server's default order.
type ListQuery struct {
	// Filter is a PocketBase filter expression; build it with [Filter] to
	// embed values safely. Empty matches every record.
	Filter string
	// Sort is e.g. "-created,id". Empty uses the server's default order.
	Sort string
	// Page is 1-based. 0 means 1.
	Page int
	// PerPage is the page size, at most 1000 (the server caps it).
	// 0 means the server default, 30.
	PerPage int
	// Fields limits the returned fields, e.g. "id,name". Empty returns all.
	Fields string
	// Expand names relation fields to expand, e.g. "website".
	Expand string
	// SkipTotal skips counting the matches, which is faster; the
	// returned ListPage then has TotalItems and TotalPages -1.
	SkipTotal bool
}

// values encodes q as PocketBase's list query parameters.
func (q ListQuery) values() url.Values {
	v := url.Values{}
	if q.Filter != "" {
		v.Set("filter", q.Filter)
	}
	if q.Sort != "" {
		v.Set("sort", q.Sort)
	}
	if q.Page > 0 {
		v.Set("page", strconv.Itoa(q.Page))
	}
	if q.PerPage > 0 {
		v.Set("perPage", strconv.Itoa(q.PerPage))
	}
	if q.Fields != "" {
		v.Set("fields", q.Fields)
	}
	if q.Expand != "" {
		v.Set("expand", q.Expand)
	}
	if q.SkipTotal {
		v.Set("skipTotal", "1")
	}
	return v
}

// ListPage describes the page returned by [Client.ListRecords].
type ListPage struct {
	Page       int `json:"page"`
	PerPage    int `json:"perPage"`
	TotalItems int `json:"totalItems"` // -1 with ListQuery.SkipTotal
	TotalPages int `json:"totalPages"` // -1 with ListQuery.SkipTotal
}

type listAnswer struct {
	ListPage
	Items json.RawMessage `json:"items"`
}

// GetRecord fetches the record id of collection into out, which is passed
// to [json.Unmarshal]. A missing record gives an error matching
// [ErrNotFound].
func (c *Client) GetRecord(ctx context.Context, collection, id string, out any) error {
	return c.Do(ctx, http.MethodGet, recordsPath(collection, id), nil, out)
}

// ListRecords fetches one page of the records of collection selected by q
// and decodes them into out, a pointer to a slice (e.g. *[]MyRecord or
// *[]map[string]any).
func (c *Client) ListRecords(ctx context.Context, collection string, q ListQuery, out any) (ListPage, error) {
	path := recordsPath(collection)
	if v := q.values(); len(v) > 0 {
		path += "?" + v.Encode()
	}
	var a listAnswer
	if err := c.Do(ctx, http.MethodGet, path, nil, &a); err != nil {
		return ListPage{}, err
	}
	if out != nil && len(a.Items) > 0 {
		if err := json.Unmarshal(a.Items, out); err != nil {
			return a.ListPage, fmt.Errorf("pbrest: list %s records: decode items: %w", collection, err)
		}
	}
	return a.ListPage, nil
}

// FirstRecord decodes into out the first record of collection that
// matches filter (build it with [Filter]), or returns an error matching
// [ErrNotFound] when none does.
func (c *Client) FirstRecord(ctx context.Context, collection, filter string, out any) error {
	var items []json.RawMessage
	_, err := c.ListRecords(ctx, collection, ListQuery{Filter: filter, PerPage: 1, SkipTotal: true}, &items)
	if err != nil {
		return err
	}
	if len(items) == 0 {
		return fmt.Errorf("pbrest: no %s record matches %q: %w", collection, filter, ErrNotFound)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(items[0], out); err != nil {
		return fmt.Errorf("pbrest: first %s record: decode: %w", collection, err)
	}
	return nil
}

// CreateRecord creates a record in collection from body (any value that
// encodes to a JSON object; set "id" to choose the id) and decodes the
// stored record into out (nil discards it). A failed validation gives an
// [*Error] matching [ErrBadRequest] whose Data holds the field errors.
func (c *Client) CreateRecord(ctx context.Context, collection string, body, out any) error {
	return c.Do(ctx, http.MethodPost, recordsPath(collection), body, out)
}

// UpdateRecord updates the fields in body of the record id of collection
// and decodes the stored record into out (nil discards it).
func (c *Client) UpdateRecord(ctx context.Context, collection, id string, body, out any) error {
	return c.Do(ctx, http.MethodPatch, recordsPath(collection, id), body, out)
}

// DeleteRecord deletes the record id of collection. A missing record
// gives an error matching [ErrNotFound].
func (c *Client) DeleteRecord(ctx context.Context, collection, id string) error {
	return c.Do(ctx, http.MethodDelete, recordsPath(collection, id), nil, nil)
}
