package pbrest_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/skopos-go/skopos/pbrest"
)

func TestRecordsCRUD(t *testing.T) {
	t.Parallel()
	srv, _ := start(t, nil)
	c := newClient(t, srv)
	ctx := ctxT(t)

	var created item
	if err := c.CreateRecord(ctx, itemsCollection, map[string]any{"id": "abcdefghijklmno", "name": "one", "n": 1}, &created); err != nil {
		t.Fatalf("CreateRecord: %v", err)
	}
	if created.ID != "abcdefghijklmno" || created.Name != "one" || created.N != 1 {
		t.Fatalf("created = %+v", created)
	}

	var got item
	if err := c.GetRecord(ctx, itemsCollection, created.ID, &got); err != nil || got != created {
		t.Fatalf("GetRecord = %+v, %v; want %+v", got, err, created)
	}

	var updated item
	if err := c.UpdateRecord(ctx, itemsCollection, created.ID, map[string]any{"n": 2}, &updated); err != nil {
		t.Fatalf("UpdateRecord: %v", err)
	}
	if updated.N != 2 || updated.Name != "one" {
		t.Fatalf("updated = %+v", updated)
	}
	rec, err := srv.App().FindRecordById(itemsCollection, created.ID)
	if err != nil || rec.GetFloat("n") != 2 {
		t.Fatalf("stored record = %v, %v", rec, err)
	}

	if err := c.DeleteRecord(ctx, itemsCollection, created.ID); err != nil {
		t.Fatalf("DeleteRecord: %v", err)
	}
	if err := c.GetRecord(ctx, itemsCollection, created.ID, nil); !errors.Is(err, pbrest.ErrNotFound) {
		t.Fatalf("GetRecord after delete = %v, want ErrNotFound", err)
	}
	if err := c.DeleteRecord(ctx, itemsCollection, created.ID); !errors.Is(err, pbrest.ErrNotFound) {
		t.Fatalf("second DeleteRecord = %v, want ErrNotFound", err)
	}
}

func TestListAndFirstRecord(t *testing.T) {
	t.Parallel()
	srv, _ := start(t, nil)
	c := newClient(t, srv)
	ctx := ctxT(t)
	for i := range 5 {
		if err := c.CreateRecord(ctx, itemsCollection, map[string]any{"name": fmt.Sprintf("item%d", i), "n": i}, nil); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		name      string
		q         pbrest.ListQuery
		wantNames []string
		wantPage  pbrest.ListPage
	}{
		{"all sorted", pbrest.ListQuery{Sort: "-n"}, []string{"item4", "item3", "item2", "item1", "item0"},
			pbrest.ListPage{Page: 1, PerPage: 30, TotalItems: 5, TotalPages: 1}},
		{"page 2", pbrest.ListQuery{Sort: "n", Page: 2, PerPage: 2}, []string{"item2", "item3"},
			pbrest.ListPage{Page: 2, PerPage: 2, TotalItems: 5, TotalPages: 3}},
		{"filter skip total", pbrest.ListQuery{Filter: pbrest.Filter("n >= {:min}", pbrest.Params{"min": 3}), Sort: "n", SkipTotal: true},
			[]string{"item3", "item4"}, pbrest.ListPage{Page: 1, PerPage: 30, TotalItems: -1, TotalPages: -1}},
		{"fields", pbrest.ListQuery{Filter: `name = "item1"`, Fields: "name"}, []string{"item1"},
			pbrest.ListPage{Page: 1, PerPage: 30, TotalItems: 1, TotalPages: 1}},
		{"no match", pbrest.ListQuery{Filter: `n > 100`}, nil,
			pbrest.ListPage{Page: 1, PerPage: 30, TotalItems: 0, TotalPages: 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var items []item
			page, err := c.ListRecords(ctx, itemsCollection, tt.q, &items)
			if err != nil {
				t.Fatalf("ListRecords: %v", err)
			}
			if page != tt.wantPage {
				t.Errorf("page = %+v, want %+v", page, tt.wantPage)
			}
			var names []string
			for _, it := range items {
				names = append(names, it.Name)
				if tt.q.Fields == "name" && it.ID != "" {
					t.Errorf("Fields=name returned id %q", it.ID)
				}
			}
			if fmt.Sprint(names) != fmt.Sprint(tt.wantNames) {
				t.Errorf("names = %v, want %v", names, tt.wantNames)
			}
		})
	}

	t.Run("first", func(t *testing.T) {
		var it item
		if err := c.FirstRecord(ctx, itemsCollection, pbrest.Filter("name = {:n}", pbrest.Params{"n": "item2"}), &it); err != nil || it.N != 2 {
			t.Fatalf("FirstRecord = %+v, %v", it, err)
		}
		err := c.FirstRecord(ctx, itemsCollection, pbrest.Filter("name = {:n}", pbrest.Params{"n": "nope"}), &it)
		if !errors.Is(err, pbrest.ErrNotFound) {
			t.Fatalf("FirstRecord no match = %v, want ErrNotFound", err)
		}
	})

	t.Run("invalid filter", func(t *testing.T) {
		_, err := c.ListRecords(ctx, itemsCollection, pbrest.ListQuery{Filter: "name = {:missing}"}, nil)
		if !errors.Is(err, pbrest.ErrBadRequest) {
			t.Fatalf("ListRecords with a bad filter = %v, want ErrBadRequest", err)
		}
	})
}
