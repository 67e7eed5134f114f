package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/skopos-go/skopos/pbrest"
	"github.com/skopos-go/skopos/schema/collections"
)

func applyRemote(ctx context.Context, out io.Writer, url, email, password string, maxRequests int) error {
	if url == "" || email == "" || password == "" {
		return errors.New("--url, --email and --password are required")
	}
	pb, err := pbrest.New(pbrest.Config{URL: url, Email: email, Password: password})
	if err != nil {
		return err
	}
	res, err := collections.ApplyRemote(ctx, pb, maxRequests)
	if err != nil {
		return err
	}
	if len(res.Changed) == 0 && !res.BatchChanged {
		fmt.Fprintln(out, "schema apply: no changes")
		return nil
	}
	if len(res.Changed) > 0 {
		fmt.Fprintf(out, "schema apply: created or updated %s\n", strings.Join(res.Changed, ", "))
	}
	if res.BatchChanged {
		fmt.Fprintf(out, "schema apply: batch API enabled (maxRequests %d)\n", res.BatchMaxRequests)
	}
	return nil
}
