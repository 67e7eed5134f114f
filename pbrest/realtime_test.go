package pbrest_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/pbrest"
)

// recorder collects realtime messages.
type recorder struct {
	mu       sync.Mutex
	msgs     []pbrest.Message
	connects atomic.Int64
}

func (r *recorder) add(m pbrest.Message) {
	r.mu.Lock()
	r.msgs = append(r.msgs, m)
	r.mu.Unlock()
}

// has reports whether a message with action for a record named name arrived.
func (r *recorder) has(t *testing.T, action, name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.msgs {
		var it item
		if err := m.Decode(&it); err != nil {
			t.Errorf("Decode: %v", err)
			continue
		}
		if m.Action == action && it.Name == name && m.Topic == itemsCollection {
			return true
		}
	}
	return false
}

func TestRealtimeResubscribes(t *testing.T) {
	t.Parallel()
	srv, _ := start(t, nil)
	c := newClient(t, srv)
	it := createItem(t, c, "v0")

	var rec recorder
	sub, err := c.Subscribe(ctxT(t), []string{itemsCollection}, rec.add,
		pbrest.WithOnConnect(func() { rec.connects.Add(1) }),
		pbrest.WithBackoff(10*time.Millisecond, 200*time.Millisecond))
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	defer sub.Close()
	if n := rec.connects.Load(); n != 1 {
		t.Fatalf("OnConnect called %d times after Subscribe, want 1", n)
	}

	update := func(name string) {
		t.Helper()
		if err := c.UpdateRecord(ctxT(t), itemsCollection, it.ID, map[string]any{"name": name}, nil); err != nil {
			t.Fatalf("UpdateRecord: %v", err)
		}
	}
	update("v1")
	testwait.Until(t, "update v1", func() bool { return rec.has(t, "update", "v1") })
	createItem(t, c, "new")
	testwait.Until(t, "create", func() bool { return rec.has(t, "create", "new") })

	// Drop the connection server-side.
	broker := srv.App().SubscriptionsBroker()
	for id := range broker.Clients() {
		broker.Unregister(id)
	}
	testwait.Until(t, "reconnect after unregister", func() bool { return rec.connects.Load() >= 2 })
	update("v2")
	testwait.Until(t, "update v2 after reconnect", func() bool { return rec.has(t, "update", "v2") })

	// Revoke the token, then drop the connection: the client must not
	// resubscribe as a guest (PocketBase accepts an invalid token there).
	su, err := srv.App().FindAuthRecordByEmail(core.CollectionNameSuperusers, srv.Email)
	if err != nil {
		t.Fatal(err)
	}
	su.RefreshTokenKey()
	if err := srv.App().Save(su); err != nil {
		t.Fatal(err)
	}
	for id := range broker.Clients() {
		broker.Unregister(id)
	}
	testwait.Until(t, "reconnect after revocation", func() bool { return rec.connects.Load() >= 3 })
	update("v2b")
	testwait.Until(t, "update v2b after revocation", func() bool { return rec.has(t, "update", "v2b") })

	// Survive a PocketBase restart.
	srv.Restart()
	testwait.Until(t, "reconnect after restart", func() bool { return rec.connects.Load() >= 4 })
	update("v3")
	testwait.Until(t, "update v3 after restart", func() bool { return rec.has(t, "update", "v3") })

	if err := c.DeleteRecord(ctxT(t), itemsCollection, it.ID); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, "delete", func() bool { return rec.has(t, "delete", "v3") })

	if err := sub.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	testwait.Until(t, "server to see the client leave", func() bool {
		return len(srv.App().SubscriptionsBroker().Clients()) == 0
	})
	if err := sub.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestRealtimeStopsWithContext(t *testing.T) {
	t.Parallel()
	srv, _ := start(t, nil)
	c := newClient(t, srv)
	ctx, cancel := context.WithCancel(context.Background())
	sub, err := c.Subscribe(ctx, []string{itemsCollection}, func(pbrest.Message) {})
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	cancel()
	testwait.Until(t, "server to see the client leave", func() bool {
		return len(srv.App().SubscriptionsBroker().Clients()) == 0
	})
	done := make(chan struct{})
	go func() { sub.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(testwait.Timeout()):
		t.Fatal("Close blocked after the context was cancelled")
	}
}

func TestSubscribeFails(t *testing.T) {
	t.Parallel()
	srv, _ := start(t, nil)
	bad, err := pbrest.New(pbrest.Config{URL: srv.URL, Email: srv.Email, Password: "wrong"})
	if err != nil {
		t.Fatal(err)
	}
	if sub, err := bad.Subscribe(ctxT(t), []string{itemsCollection}, func(pbrest.Message) {}); err == nil {
		sub.Close()
		t.Fatal("Subscribe with a wrong password succeeded")
	}
	testwait.Until(t, "server to see the client leave", func() bool {
		return len(srv.App().SubscriptionsBroker().Clients()) == 0
	})
	if _, err := newClient(t, srv).Subscribe(ctxT(t), nil, nil); err == nil {
		t.Fatal("Subscribe with nil fn succeeded")
	}
}
