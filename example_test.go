package skopos_test

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/skopos-go/skopos"
)

// A net/http app that serves the browser endpoint and shuts Skopos down
// cleanly, so that no accepted event is lost on deploys.
func Example() {
	ctx := context.Background()
	client, err := skopos.Init(ctx, skopos.Options{
		SiteID:        os.Getenv("SKOPOS_SITE_ID"),
		PocketBaseURL: os.Getenv("POCKETBASE_URL"),
		AdminEmail:    os.Getenv("POCKETBASE_ADMIN_EMAIL"),
		AdminPassword: os.Getenv("POCKETBASE_ADMIN_PASSWORD"),
		Batch:         true,
	})
	if err != nil {
		log.Fatal(err) // errors.Is(err, skopos.ErrWebsiteNotFound), ErrAuthFailed, ...
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := client.Shutdown(ctx); err != nil {
			log.Print(err) // says how many events could not be written
		}
	}()

	http.Handle("/api/event", client.Handler())
	log.Fatal(http.ListenAndServe("127.0.0.1:3000", nil))
}

// Record a signup from your own handler and link the visitor to the user.
func ExampleClient_TrackServerEvent() {
	var client *skopos.Client // from skopos.Init
	http.HandleFunc("POST /signup", func(w http.ResponseWriter, r *http.Request) {
		// ... create the account ...
		if err := client.TrackServerEvent(r, "user_signup", map[string]any{"plan": "free"}); err != nil {
			log.Print(err) // ErrInvalidPayload (bad name/data), ErrQueueFull or ErrClosed
		}
		err := client.Identify(r.Context(), r, "user-42", skopos.IdentifyData{Name: "Ada", Email: "ada@example.com"})
		if errors.Is(err, skopos.ErrInvalidIdentify) {
			log.Print(err)
		}
		w.WriteHeader(http.StatusCreated)
	})
}

// Record a purchase with its revenue. The order id makes it count once even
// if the browser script reported the same order.
func ExampleWithRevenue() {
	var client *skopos.Client // from skopos.Init
	http.HandleFunc("POST /checkout/complete", func(w http.ResponseWriter, r *http.Request) {
		// ... charge the card for order A-1001, 29.99 EUR ...
		err := client.TrackServerEvent(r, "Purchase", map[string]any{"plan": "pro"},
			skopos.WithRevenue("29.99", "EUR"), skopos.WithOrderID("A-1001"))
		if errors.Is(err, skopos.ErrInvalidPayload) {
			log.Print(err) // e.g. "revenue.amount: has more than 2 decimals, the minor unit of EUR"
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// Feed the SDK from your own handler instead of Handler().
func ExampleClient_TrackAPIEvent() {
	var client *skopos.Client // from skopos.Init
	http.HandleFunc("POST /collect", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		switch err := client.TrackAPIEvent(r, body); {
		case errors.Is(err, skopos.ErrInvalidPayload):
			http.Error(w, err.Error(), http.StatusBadRequest)
		case err != nil:
			http.Error(w, "busy", http.StatusServiceUnavailable)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	})
}
