package pbtest_test

import (
	"net/http"
	"testing"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/schema"
)

func TestServerRestartKeepsDataAndPort(t *testing.T) {
	t.Parallel()
	srv := pbtest.Start(t, pbtest.Options{})
	col, err := srv.App().FindCollectionByNameOrId(schema.Websites)
	if err != nil {
		t.Fatal(err)
	}
	rec := core.NewRecord(col)
	rec.Set("name", "Example")
	rec.Set("domain", "example.com")
	if err := srv.App().Save(rec); err != nil {
		t.Fatal(err)
	}
	url := srv.URL
	srv.Stop()
	if _, err := http.Get(url + "/api/health"); err == nil {
		t.Fatal("server still answers after Stop")
	}
	srv.Restart()
	if srv.URL != url {
		t.Fatalf("restart moved the server from %s to %s", url, srv.URL)
	}
	got, err := srv.App().FindRecordById(schema.Websites, rec.Id)
	if err != nil {
		t.Fatalf("record lost across restart: %v", err)
	}
	if got.GetString("trackingId") != rec.GetString("trackingId") {
		t.Fatalf("trackingId changed across restart")
	}
}

func TestPlainServerHasNoSkoposSchema(t *testing.T) {
	t.Parallel()
	srv := pbtest.Start(t, pbtest.Options{Plain: true})
	if _, err := srv.App().FindCollectionByNameOrId(schema.Websites); err == nil {
		t.Fatal("plain server has the websites collection")
	}
	if srv.App().Settings().Batch.Enabled {
		t.Fatal("plain server has the batch API enabled")
	}
}
