package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/go-ozzo/ozzo-validation/v4/is"
	"github.com/skopos-go/skopos/internal/store"
	"github.com/skopos-go/skopos/internal/validate"
	"github.com/skopos-go/skopos/schema"
)

// Identify errors.
var (
	// ErrInvalidIdentify wraps every input error of Identify.
	ErrInvalidIdentify = errors.New("skopos: invalid identify data")
	// ErrStore wraps store failures of synchronous calls (Identify).
	ErrStore = errors.New("skopos: store failure")
)

// Identity is what Identify attaches to a visitor. Empty fields leave the
// stored value as it is.
type Identity struct {
	Name     string
	Email    string
	Phone    string
	Metadata map[string]any
}

// Identify limits: each fits the visitors column it is stored in.
const (
	MaxUserID      = 255
	MaxIdentName   = 255
	MaxIdentEmail  = 255
	MaxIdentPhone  = 50
	MaxMetadataLen = schema.MaxMetadata // bytes, serialized
)

// Identify validates userID and id, then creates or updates the
// requesting visitor of site with them, synchronously. It returns an error
// wrapping ErrInvalidIdentify for bad input, ErrStore for store failures,
// and nil without writing when the request is filtered (archived site,
// blacklisted or localhost IP, known crawler).
func (p *Pipeline) Identify(ctx context.Context, r *http.Request, site *Site, userID string, id Identity) error {
	data, err := identityData(userID, id)
	if err != nil {
		return err
	}
	if p.closed.Load() {
		return ErrClosed
	}
	ip := p.cfg.IPs.IP(r)
	reason := admit(site, ip)
	if reason == "" && p.bots.IsBotServer(r.UserAgent()) { // a crawler must not overwrite a real user's identity
		reason = ReasonBot
	}
	if reason != "" { // not an event: logged, not counted in Dropped
		p.debug("identify skipped", "reason", reason, "site", site.TrackingID)
		return nil
	}
	visitor := p.visitorID(site.TrackingID, ip, r.UserAgent())
	data["website"], data["visitorId"] = site.ID, visitor
	rowID := visitorRecordID(site.ID, visitor)
	if vr, ok := p.cfg.Store.(store.VisitorRows); ok { // a row adopted from Skopos Node keeps its id
		key := store.VisitorKey{Website: site.ID, VisitorID: visitor}
		rows, err := vr.VisitorRows(ctx, []store.VisitorKey{key})
		if err != nil {
			return fmt.Errorf("%w: identify: %w", ErrStore, err)
		}
		if row := rows[key]; row != "" {
			rowID = row
		}
	}
	op := store.Op{Action: store.Upsert, Collection: schema.Visitors, ID: rowID, Data: data}
	if err := p.cfg.Store.Apply(ctx, []store.Op{op}); err != nil {
		return fmt.Errorf("%w: identify: %w", ErrStore, err)
	}
	return nil
}

func identityData(userID string, id Identity) (map[string]any, error) {
	bad := func(field, reason string) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalidIdentify, field, reason)
	}
	userID = strings.TrimSpace(validate.StripControl(userID, false))
	if userID == "" || validate.UTF16Len(userID) > MaxUserID {
		return nil, bad("userID", fmt.Sprintf("must be 1..%d characters", MaxUserID))
	}
	data := map[string]any{"userId": userID}
	if name := strings.TrimSpace(validate.StripControl(id.Name, false)); name != "" {
		if validate.UTF16Len(name) > MaxIdentName {
			return nil, bad("name", fmt.Sprintf("longer than %d characters", MaxIdentName))
		}
		data["name"] = name
	}
	if email := strings.ToLower(strings.TrimSpace(id.Email)); email != "" {
		if len(email) > MaxIdentEmail {
			return nil, bad("email", fmt.Sprintf("longer than %d characters", MaxIdentEmail))
		}
		// the validator PocketBase applies to email fields: nothing this
		// accepts can fail at the store
		if err := is.EmailFormat.Validate(email); err != nil {
			return nil, bad("email", "not a valid email address")
		}
		data["email"] = email
	}
	if phone := strings.TrimSpace(validate.StripControl(id.Phone, false)); phone != "" {
		if validate.UTF16Len(phone) > MaxIdentPhone {
			return nil, bad("phone", fmt.Sprintf("longer than %d characters", MaxIdentPhone))
		}
		data["phone"] = phone
	}
	if len(id.Metadata) > 0 {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		if err := enc.Encode(id.Metadata); err != nil {
			return nil, bad("metadata", "not serializable: "+err.Error())
		}
		// measured as PocketBase stores it (encoding/json, HTML escaped)
		if n := buf.Len() - 1; n > MaxMetadataLen {
			return nil, bad("metadata", fmt.Sprintf("%d bytes serialized, limit %d", n, MaxMetadataLen))
		}
		data["metadata"] = json.RawMessage(bytes.TrimSpace(buf.Bytes()))
	}
	return data, nil
}
