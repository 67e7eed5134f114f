// Package clickhouse is a small client of ClickHouse's HTTP interface, and
// the DDL of the Skopos events store in ClickHouse.
//
//	c := clickhouse.New(clickhouse.Options{URL: "http://127.0.0.1:8123", Database: "skopos"})
//	for _, stmt := range clickhouse.Schema(clickhouse.SchemaOptions{Database: "skopos"}) {
//		if err := c.Exec(ctx, stmt); err != nil { ... }
//	}
//	err := c.Insert(ctx, "events", []map[string]any{{"id": "e1", "website": "w1", "timestamp": time.Now()}})
//	type row struct{ Path string; N uint64 }
//	top, err := clickhouse.Select[row](ctx, c,
//		"SELECT path AS Path, count() AS N FROM events WHERE website = ? GROUP BY path", "w1")
//
// It speaks HTTP with net/http rather than using the official clickhouse-go:
// that driver (v2.51) fails against ClickHouse 18.16, the only release
// Debian installs (its native batch inserts find no column metadata, and
// its HTTP mode sends a setting 18.16 refuses). Queries are sent as the
// POST body, results read as JSONEachRow, inserts streamed as
// JSONEachRow. 18.16 has no server-side query parameters ({p:String}), so
// values are bound on the client, by Bind alone.
package clickhouse

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Options configure a Client. The zero value talks to a server on
// localhost's default HTTP port as the default user.
type Options struct {
	// URL is the server's HTTP interface; "" is http://127.0.0.1:8123.
	URL string
	// Database is the database unqualified names resolve in; "" is the
	// user's default database (usually "default").
	Database string
	// User and Password authenticate every request (HTTP basic auth);
	// User "" is the server's default user, without a password.
	User, Password string
	// HTTPClient sends the requests; nil is http.DefaultClient. Its
	// Timeout, if any, bounds every query; a context bounds one.
	HTTPClient *http.Client
}

// Client runs queries on one ClickHouse server. It is safe for concurrent
// use.
type Client struct {
	opts Options
	base string // URL with the parameters of every request
}

// New returns a Client for opts. It does not connect: Ping does.
func New(opts Options) *Client {
	if opts.URL == "" {
		opts.URL = "http://127.0.0.1:8123"
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = http.DefaultClient
	}
	params := url.Values{}
	if opts.Database != "" {
		params.Set("database", opts.Database)
	}
	// JSON output quotes 64-bit integers by default, as strings: numbers
	// decode into Go's integers as they are, precisely (UseNumber)
	params.Set("output_format_json_quote_64bit_integers", "0")
	return &Client{opts: opts, base: strings.TrimRight(opts.URL, "/") + "/?" + params.Encode()}
}

// Target names the server and database the client talks to
// ("http://host:8123/skopos"), for records of what was written where.
func (c *Client) Target() string { return strings.TrimRight(c.opts.URL, "/") + "/" + c.opts.Database }

// Database returns the database of the client's options ("" for the
// user's default).
func (c *Client) Database() string { return c.opts.Database }

// Exec runs a statement that returns no rows (DDL, INSERT … VALUES,
// ALTER), its ? placeholders bound to args by Bind.
func (c *Client) Exec(ctx context.Context, query string, args ...any) error {
	body, err := c.query(ctx, query, args)
	if err != nil {
		return err
	}
	defer body.Close()
	_, err = io.Copy(io.Discard, body)
	return err
}

// Ping checks that the server answers.
func (c *Client) Ping(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(c.opts.URL, "/")+"/ping", nil)
	if err != nil {
		return err
	}
	body, err := c.do(req)
	if err != nil {
		return err
	}
	defer body.Close()
	b, err := io.ReadAll(io.LimitReader(body, 64))
	if err != nil {
		return err
	}
	if string(b) != "Ok.\n" {
		return fmt.Errorf("clickhouse: ping answered %q", b)
	}
	return nil
}

// ServerVersion returns the server's version, e.g. "18.16.1".
func (c *Client) ServerVersion(ctx context.Context) (string, error) {
	rows, err := Select[struct{ V string }](ctx, c, "SELECT version() AS V")
	if err != nil {
		return "", err
	}
	if len(rows) != 1 {
		return "", fmt.Errorf("clickhouse: version(): %d rows", len(rows))
	}
	return rows[0].V, nil
}

// query binds args into query, sends it and returns the response body.
func (c *Client) query(ctx context.Context, query string, args []any) (io.ReadCloser, error) {
	q, err := Bind(query, args...)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base, strings.NewReader(q))
	if err != nil {
		return nil, err
	}
	return c.do(req)
}

// do sends req and returns the body of a 200 response; any other status
// is the server's error.
func (c *Client) do(req *http.Request) (io.ReadCloser, error) {
	if c.opts.User != "" {
		req.SetBasicAuth(c.opts.User, c.opts.Password)
	}
	resp, err := c.opts.HTTPClient.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, responseError(resp)
	}
	return resp.Body, nil
}

// ParseURL reads a server address as Skopos is given it
// (SKOPOS_CLICKHOUSE_URL): http[s]://[user[:password]@]host[:port][/database].
// The database defaults to "skopos".
func ParseURL(s string) (Options, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return Options{}, fmt.Errorf("clickhouse: URL %q: %w", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return Options{}, fmt.Errorf("clickhouse: URL %q: use http[s]://[user[:password]@]host[:port][/database]", s)
	}
	o := Options{Database: strings.Trim(u.Path, "/")}
	if o.Database == "" {
		o.Database = "skopos"
	}
	if strings.Contains(o.Database, "/") {
		return Options{}, fmt.Errorf("clickhouse: URL %q: the path is one database name", s)
	}
	if u.User != nil {
		o.User = u.User.Username()
		o.Password, _ = u.User.Password()
	}
	o.URL = u.Scheme + "://" + u.Host
	return o, nil
}
