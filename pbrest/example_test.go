package pbrest_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/skopos-go/skopos/pbrest"
)

func ExampleFilter() {
	f := pbrest.Filter("name = {:name} && created >= {:since} && visits > {:min}", pbrest.Params{
		"name":  `Bobby" || id != "`,
		"since": time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
		"min":   10,
	})
	fmt.Println(f)
	// Output: name = "Bobby\" || id != \"" && created >= "2024-01-02 03:04:05.000Z" && visits > 10
}

func ExampleClient_ListRecords() {
	pb, err := pbrest.New(pbrest.Config{URL: "http://127.0.0.1:8090", Email: "admin@example.com", Password: "secret"})
	if err != nil {
		log.Fatal(err)
	}
	var events []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	page, err := pb.ListRecords(context.Background(), "events", pbrest.ListQuery{
		Filter:  pbrest.Filter("name = {:name}", pbrest.Params{"name": "signup"}),
		Sort:    "-created",
		PerPage: 100,
	}, &events)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(page.TotalItems, len(events))
}

func ExampleClient_GetRecord() {
	pb, _ := pbrest.New(pbrest.Config{URL: "http://127.0.0.1:8090", Email: "admin@example.com", Password: "secret"})
	var site map[string]any
	err := pb.GetRecord(context.Background(), "websites", "abc123", &site)
	switch {
	case errors.Is(err, pbrest.ErrNotFound):
		fmt.Println("no such website")
	case pbrest.IsTransient(err):
		fmt.Println("try again later:", err)
	case err != nil:
		log.Fatal(err)
	}
}

func ExampleClient_Batch() {
	pb, _ := pbrest.New(pbrest.Config{URL: "http://127.0.0.1:8090", Email: "admin@example.com", Password: "secret"})
	items := []pbrest.BatchItem{
		{Method: http.MethodPost, URL: "/api/collections/events/records", Body: map[string]any{"name": "a"}},
		{Method: http.MethodPost, URL: "/api/collections/events/records", Body: map[string]any{"name": "b"}},
	}
	results, err := pb.Batch(context.Background(), items)
	var be *pbrest.BatchError
	switch {
	case errors.As(err, &be):
		fmt.Printf("item %d failed: %v; %d items committed\n", be.Index, be.Err, be.Committed)
	case errors.Is(err, pbrest.ErrBatchDisabled):
		fmt.Println("enable the batch API in the PocketBase settings")
	case err != nil:
		log.Fatal(err)
	}
	fmt.Println(len(results))
}

func ExampleClient_Subscribe() {
	pb, _ := pbrest.New(pbrest.Config{URL: "http://127.0.0.1:8090", Email: "admin@example.com", Password: "secret"})
	sub, err := pb.Subscribe(context.Background(), []string{"events"}, func(m pbrest.Message) {
		fmt.Println(m.Action, string(m.Record))
	}, pbrest.WithOnConnect(func() {
		// (Re)connected: re-read state that may have changed meanwhile.
	}))
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Close()
	time.Sleep(time.Minute)
}
