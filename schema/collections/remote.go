package collections

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/pbrest"
	"github.com/skopos-go/skopos/schema"
)

// RemoteResult reports what ApplyRemote changed.
type RemoteResult struct {
	Changed          []string // collections created or updated
	BatchChanged     bool     // the batch API was enabled
	BatchMaxRequests int      // the server's batch.maxRequests after the apply
}

// ApplyRemote converges the Skopos collections on a remote PocketBase through
// its REST API (pb must hold superuser credentials), with the same
// definitions and merge rules as Apply. It also enables the batch API with
// maxRequests when it is disabled; an operator's enabled settings are kept.
// A second call changes nothing.
func ApplyRemote(ctx context.Context, pb *pbrest.Client, maxRequests int) (RemoteResult, error) {
	var res RemoteResult
	var list struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := pb.Do(ctx, http.MethodGet, "/api/collections?perPage=1000&skipTotal=1", nil, &list); err != nil {
		return res, fmt.Errorf("schema: list collections: %w", err)
	}
	existing := map[string]*core.Collection{}
	for _, raw := range list.Items {
		c := &core.Collection{}
		if err := json.Unmarshal(raw, c); err != nil {
			return res, fmt.Errorf("schema: decode collection: %w", err)
		}
		existing[strings.ToLower(c.Name)] = c
	}
	resolve := func(name string) (string, error) {
		if c, ok := existing[strings.ToLower(name)]; ok {
			return c.Id, nil
		}
		return "", fmt.Errorf("collection %q does not exist", name)
	}
	for _, name := range schema.All() {
		desired, err := Definition(name, resolve)
		if err != nil {
			return res, err
		}
		cur, ok := existing[name]
		if !ok {
			var created core.Collection
			if err := pb.Do(ctx, http.MethodPost, "/api/collections", desired, &created); err != nil {
				return res, fmt.Errorf("schema: create %s: %w", name, err)
			}
			existing[name] = &created
			res.Changed = append(res.Changed, name)
			continue
		}
		diff, err := Merge(cur, desired)
		if err != nil {
			return res, err
		}
		if !diff {
			continue
		}
		if err := pb.Do(ctx, http.MethodPatch, "/api/collections/"+cur.Id, cur, nil); err != nil {
			return res, fmt.Errorf("schema: update %s: %w", name, err)
		}
		res.Changed = append(res.Changed, name)
	}

	var settings struct {
		Batch struct {
			Enabled     bool `json:"enabled"`
			MaxRequests int  `json:"maxRequests"`
		} `json:"batch"`
	}
	if err := pb.Do(ctx, http.MethodGet, "/api/settings", nil, &settings); err != nil {
		return res, fmt.Errorf("schema: read settings: %w", err)
	}
	res.BatchMaxRequests = settings.Batch.MaxRequests
	if !settings.Batch.Enabled {
		body := map[string]any{"batch": map[string]any{"enabled": true, "maxRequests": maxRequests, "timeout": 10}}
		if err := pb.Do(ctx, http.MethodPatch, "/api/settings", body, nil); err != nil {
			return res, fmt.Errorf("schema: enable batch API: %w", err)
		}
		res.BatchChanged, res.BatchMaxRequests = true, maxRequests
	}
	return res, nil
}
