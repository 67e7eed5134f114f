// Package pbrest is a small client for the REST and realtime APIs of
// PocketBase 0.23 and later, authenticated as a superuser.
//
//	pb, err := pbrest.New(pbrest.Config{
//		URL:      "http://127.0.0.1:8090",
//		Email:    "admin@example.com",
//		Password: "secret",
//	})
//	if err != nil {
//		return err
//	}
//	ctx := context.Background()
//
//	// Create and read records.
//	var rec struct {
//		ID   string `json:"id"`
//		Name string `json:"name"`
//	}
//	err = pb.CreateRecord(ctx, "items", map[string]any{"name": "first"}, &rec)
//	err = pb.GetRecord(ctx, "items", rec.ID, &rec)
//
//	// List with a filter; values are quoted safely, never spliced raw.
//	var items []map[string]any
//	page, err := pb.ListRecords(ctx, "items", pbrest.ListQuery{
//		Filter:  pbrest.Filter("name = {:name}", pbrest.Params{"name": userInput}),
//		Sort:    "-created",
//		PerPage: 100,
//	}, &items)
//	if errors.Is(err, pbrest.ErrNotFound) { ... }
//
//	// Many writes in transactions, chunked to the server's limit.
//	results, err := pb.Batch(ctx, []pbrest.BatchItem{
//		{Method: "POST", URL: "/api/collections/items/records", Body: map[string]any{"name": "a"}},
//		{Method: "POST", URL: "/api/collections/items/records", Body: map[string]any{"name": "b"}},
//	})
//
//	// Realtime events, reconnecting on its own.
//	sub, err := pb.Subscribe(ctx, []string{"items"}, func(m pbrest.Message) {
//		fmt.Println(m.Action, string(m.Record))
//	}, pbrest.WithOnConnect(func() { /* re-fetch what may have been missed */ }))
//	defer sub.Close()
//
// # Errors
//
// Error answers are returned as [*Error], which carries the HTTP status,
// the request and PocketBase's message and field errors, and matches
// [ErrBadRequest], [ErrUnauthorized], [ErrForbidden] or [ErrNotFound] with
// [errors.Is]. Network failures are wrapped with %w. The client retries
// nothing except one request whose token the server rejected; [IsTransient]
// tells which errors are worth retrying.
//
// # Authentication
//
// The superuser token is obtained on first use, cached, and renewed with
// auth-refresh shortly before it expires: when a fifth of its lifetime
// remains, but no earlier than one minute before expiry. Concurrent callers
// share one authentication request. A request whose token the server
// rejects (after a password change, for instance) is retried once after
// signing in again.
package pbrest
