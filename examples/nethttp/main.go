// Command nethttp is a minimal net/http app that uses the Skopos SDK with a
// remote PocketBase (SDK mode): it serves the browser event endpoint and
// tracks a server-side signup and identifies the visitor.
//
//	SKOPOS_SITE_ID=<trackingId> POCKETBASE_URL=http://127.0.0.1:8090 \
//	POCKETBASE_ADMIN_EMAIL=admin@example.com POCKETBASE_ADMIN_PASSWORD=... \
//	go run ./examples/nethttp
//
// Environment: SKOPOS_SITE_ID, POCKETBASE_URL, POCKETBASE_ADMIN_EMAIL,
// POCKETBASE_ADMIN_PASSWORD (required); HOST (default 127.0.0.1), PORT
// (default 3000).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/skopos-go/skopos"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "nethttp:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	initCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	client, err := skopos.Init(initCtx, skopos.Options{
		SiteID:        os.Getenv("SKOPOS_SITE_ID"),
		PocketBaseURL: os.Getenv("POCKETBASE_URL"),
		AdminEmail:    os.Getenv("POCKETBASE_ADMIN_EMAIL"),
		AdminPassword: os.Getenv("POCKETBASE_ADMIN_PASSWORD"),
		// with a spool, events accepted while PocketBase is down or still
		// held at shutdown are sent after the next start
		SpoolDir: os.Getenv("SKOPOS_SPOOL_DIR"),
		// empty: the Skopos server's ingest route when POCKETBASE_URL is
		// a Skopos server, else PocketBase's batch API
		Route: os.Getenv("SKOPOS_ROUTE"),
	})
	cancel()
	if err != nil {
		return fmt.Errorf("skopos init: %w", err)
	}

	mux := http.NewServeMux()
	mux.Handle("/api/event", client.Handler())
	mux.HandleFunc("POST /auth/register", func(w http.ResponseWriter, r *http.Request) {
		register(w, r, client)
	})

	addr := net.JoinHostPort(env("HOST", "127.0.0.1"), env("PORT", "3000"))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		_ = client.Shutdown(context.Background())
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	slog.Info("listening", "addr", ln.Addr().String())

	select {
	case err := <-errc:
		_ = client.Shutdown(context.Background())
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx)
	var unwritten *skopos.UnwrittenError
	switch err := client.Shutdown(shutdownCtx); {
	case errors.As(err, &unwritten) && unwritten.Spooled:
		slog.Info("skopos: events kept in the spool for the next start", "events", unwritten.Events)
	case err != nil:
		slog.Error("skopos shutdown", "error", err)
	}
	return nil
}

type registration struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

// register stands for a real signup handler: it validates the body and
// records a server-side "user_signup" event.
func register(w http.ResponseWriter, r *http.Request, client *skopos.Client) {
	var in registration
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&in); err != nil ||
		strings.TrimSpace(in.ID) == "" || !strings.Contains(in.Email, "@") {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "id, name and a valid email are required"})
		return
	}
	err := client.TrackServerEvent(r, "user_signup", map[string]any{"userId": in.ID})
	if err != nil && !errors.Is(err, skopos.ErrQueueFull) && !errors.Is(err, skopos.ErrSpoolFull) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	if err := client.Identify(r.Context(), r, in.ID, skopos.IdentifyData{Name: in.Name, Email: in.Email}); err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, skopos.ErrInvalidIdentify) {
			status = http.StatusBadRequest
		}
		writeJSON(w, status, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"id": in.ID, "name": in.Name, "email": in.Email})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
