package stats

import (
	"context"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/tools/types"
	"github.com/skopos-go/skopos/schema"
)

// Payload is one distinct payload of a custom event and how many times it
// was sent. Data is the stored JSON, "" when the event had none.
type Payload struct {
	Data  string `db:"eventData"`
	Count int    `db:"n"`
}

// EventPayloads lists the distinct payloads of the custom event name sent
// to the website in p, most frequent first, at most limit of them.
func EventPayloads(ctx context.Context, db dbx.Builder, websiteID, name string, p Period, limit int) ([]Payload, error) {
	var rows []Payload
	// eventData is NULL when an event had none (JSON columns default to NULL)
	err := db.Select("COALESCE(eventData, '') AS eventData", "COUNT(*) AS n").From(schema.Events).
		Where(dbx.HashExp{"website": websiteID, "type": "custom", "eventName": name}).
		AndWhere(dbx.NewExp("timestamp >= {:from} AND timestamp < {:to}", dbx.Params{"from": ts(p.From), "to": ts(p.To)})).
		GroupBy("eventData").OrderBy("n DESC", "eventData").Limit(int64(limit)).
		WithContext(ctx).All(&rows)
	return rows, err
}

// JSErrorGroup is one stored JS error: a message with one stack trace, its
// lifetime count and when it was last seen.
type JSErrorGroup struct {
	Message  string         `db:"errorMessage"`
	Stack    string         `db:"stackTrace"`
	URL      string         `db:"url"`
	Count    int            `db:"count"`
	LastSeen types.DateTime `db:"lastSeen"`
	Hash     string         `db:"errorHash"`
}

// JSErrorGroups lists the website's stored JS errors with the message,
// most recently seen first, at most limit of them. The summaries key JS
// errors by message, and one message can have several groups (different
// stacks).
func JSErrorGroups(ctx context.Context, db dbx.Builder, websiteID, message string, limit int) ([]JSErrorGroup, error) {
	var rows []JSErrorGroup
	err := db.Select("errorMessage", "stackTrace", "url", "count", "lastSeen", "errorHash").From(schema.JSErrors).
		Where(dbx.HashExp{"website": websiteID, "errorMessage": message}).OrderBy("lastSeen DESC").Limit(int64(limit)).
		WithContext(ctx).All(&rows)
	return rows, err
}
