package servicekeys_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/servicekeys"
	"github.com/skopos-go/skopos/internal/vault"
	"github.com/skopos-go/skopos/schema"
)

const (
	hexA = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	hexB = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"
)

func newVault(t *testing.T, hex string, older ...string) *vault.Vault {
	t.Helper()
	k, err := vault.ParseKey(hex)
	if err != nil {
		t.Fatal(err)
	}
	var old []vault.Key
	for _, h := range older {
		o, err := vault.ParseKey(h)
		if err != nil {
			t.Fatal(err)
		}
		old = append(old, o)
	}
	v, err := vault.New(k, old...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func user(t *testing.T, app core.App, email string) *core.Record {
	return pbtest.Save(t, app, schema.Users, map[string]any{"email": email})
}

func TestKeysAreSealedUsedCountedAndNeverShown(t *testing.T) {
	t.Parallel()
	srv := pbtest.Start(t, pbtest.Options{})
	app := srv.App()
	v := newVault(t, hexA)
	alice, bob := user(t, app, "alice@example.com"), user(t, app, "bob@example.com")
	const secret = "AIzaSyD-alice-secret-key-1234"

	if _, err := servicekeys.Add(app, nil, alice, servicekeys.PageSpeed, "main", secret); !errors.Is(err, servicekeys.ErrNoVault) {
		t.Fatalf("no vault: %v", err)
	}
	for _, bad := range []struct{ service, label, key string }{
		{"chapybara", "", secret}, {servicekeys.PageSpeed, "", "  "}, {servicekeys.PageSpeed, "", "two words"},
		{servicekeys.PageSpeed, "", strings.Repeat("k", schema.MaxServiceKey+1)}, {servicekeys.PageSpeed, strings.Repeat("l", schema.MaxServiceKeyLabel+1), secret},
	} {
		if _, err := servicekeys.Add(app, v, alice, bad.service, bad.label, bad.key); !errors.Is(err, servicekeys.ErrBadInput) || strings.Contains(err.Error(), secret) {
			t.Errorf("Add(%q, %d-byte label, %d-byte key): %v", bad.service, len(bad.label), len(bad.key), err)
		}
	}
	if _, err := servicekeys.Add(app, v, alice, servicekeys.PageSpeed, "", strings.Repeat("k", schema.MaxServiceKey)); err != nil {
		t.Fatalf("a key of the largest size: %v", err)
	}
	rec, err := servicekeys.Add(app, v, alice, servicekeys.PageSpeed, " main ", " "+secret+"\n")
	if err != nil {
		t.Fatal(err)
	}
	// the database holds no plaintext
	var rows []struct {
		Enc  string `db:"encryptedKey"`
		Meta string `db:"metadata"`
	}
	if err := app.DB().Select("encryptedKey", "metadata").From(schema.ServiceKeys).All(&rows); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if strings.Contains(r.Enc+r.Meta, secret) || strings.Contains(r.Enc+r.Meta, "alice-secret") {
			t.Fatalf("plaintext in the database: %q %q", r.Enc, r.Meta)
		}
	}
	list, err := servicekeys.List(app, alice)
	if err != nil || len(list) != 2 || list[0].ID != rec.Id || list[0].Label != "main" || list[0].Hint != "…1234" || !list[0].Active {
		t.Fatalf("list %+v %v", list, err)
	}
	if other, _ := servicekeys.List(app, bob); len(other) != 0 {
		t.Fatalf("bob sees %d of alice's keys", len(other))
	}
	// the newest changed active key is used and counted
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	key, ok, err := servicekeys.Use(app, v, alice.Id, false, servicekeys.PageSpeed, now)
	if err != nil || !ok || key != secret {
		t.Fatalf("Use = %v, %v, %v", key != "", ok, err)
	}
	if list, _ = servicekeys.List(app, alice); list[0].UsageCount != 1 || !list[0].LastUsed.Equal(now) {
		t.Fatalf("after use %+v", list[0])
	}
	if _, ok, _ := servicekeys.Use(app, v, bob.Id, false, servicekeys.PageSpeed, now); ok {
		t.Fatal("bob used alice's key")
	}
	// bob cannot touch alice's key by id
	if err := servicekeys.SetActive(app, bob, rec.Id, false); err == nil {
		t.Fatal("bob deactivated alice's key")
	}
	// deactivated: the other (older) key is used; both off: none
	if err := servicekeys.SetActive(app, alice, rec.Id, false); err != nil {
		t.Fatal(err)
	}
	if key, ok, _ = servicekeys.Use(app, v, alice.Id, false, servicekeys.PageSpeed, now); !ok || key == secret {
		t.Fatalf("after deactivating: %v", ok)
	}
	if err := servicekeys.SetActive(app, alice, list[1].ID, false); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ = servicekeys.Use(app, v, alice.Id, false, servicekeys.PageSpeed, now); ok {
		t.Fatal("a deactivated key was used")
	}
	// replaced: the new key opens, the old hint is gone
	if err := servicekeys.SetActive(app, alice, rec.Id, true); err != nil {
		t.Fatal(err)
	}
	if err := servicekeys.Replace(app, v, alice, rec.Id, "AIzaNEWKEY-9876"); err != nil {
		t.Fatal(err)
	}
	if key, _, _ = servicekeys.Use(app, v, alice.Id, false, servicekeys.PageSpeed, now); key != "AIzaNEWKEY-9876" {
		t.Fatalf("after replace: %d bytes", len(key))
	}
	// a row moved to bob does not open for him
	if _, err := app.DB().Update(schema.ServiceKeys, dbx.Params{"user": bob.Id}, dbx.HashExp{"id": rec.Id}).Execute(); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := servicekeys.Use(app, v, bob.Id, false, servicekeys.PageSpeed, now); ok || !errors.Is(err, vault.ErrDecrypt) {
		t.Fatalf("moved row: ok=%v err=%v", ok, err)
	}
	if err := servicekeys.Remove(app, bob, rec.Id); err != nil {
		t.Fatal(err)
	}
	if list, _ = servicekeys.List(app, bob); len(list) != 0 {
		t.Fatal("removed key still listed")
	}
}

func TestRotateMovesEveryKeyToTheNewServerKey(t *testing.T) {
	t.Parallel()
	srv := pbtest.Start(t, pbtest.Options{})
	app := srv.App()
	old := newVault(t, hexA)
	users := []*core.Record{user(t, app, "a@example.com"), user(t, app, "b@example.com"), user(t, app, "c@example.com")}
	for i, u := range users {
		if _, err := servicekeys.Add(app, old, u, servicekeys.PageSpeed, "", "key-number-"+string(rune('a'+i))+"-0000"); err != nil {
			t.Fatal(err)
		}
	}
	rotated := newVault(t, hexB, hexA)
	n, err := servicekeys.Rotate(app, rotated)
	if err != nil || n != 3 {
		t.Fatalf("Rotate = %d, %v", n, err)
	}
	if n, err = servicekeys.Rotate(app, rotated); err != nil || n != 0 {
		t.Fatalf("second Rotate = %d, %v (want 0: nothing left)", n, err)
	}
	onlyNew := newVault(t, hexB)
	for i, u := range users {
		key, ok, err := servicekeys.Use(app, onlyNew, u.Id, false, servicekeys.PageSpeed, time.Now())
		if err != nil || !ok || key != "key-number-"+string(rune('a'+i))+"-0000" {
			t.Fatalf("user %d after rotation: %v %v", i, ok, err)
		}
		if _, _, err := servicekeys.Use(app, old, u.Id, false, servicekeys.PageSpeed, time.Now()); !errors.Is(err, vault.ErrDecrypt) {
			t.Fatalf("the old key still opens user %d's key: %v", i, err)
		}
	}
}

// A key the Skopos dashboard stored (its format, under the same
// ENCRYPTION_KEY) opens, and is sealed anew, bound to its owner, on use.
func TestAReferenceDashboardKeyOpensAndIsBoundOnFirstUse(t *testing.T) {
	t.Parallel()
	const (
		stored = "jc9FBrv/xQCyR+weibEzfE8BFFZiKxhgzPxYqXYukf+FtdOeBGsmSkyIanJUHtzWf4eqVlNU8ASdUIDDGNF4HwyxBvES7VFb1piN2yezlWrMY8zFHtLcvazwlS46CUQbWrr38XbCPw=="
		plain  = "AIzafOotymAxKQ4R8DOBxygoetHhLVCW7AQwKAO"
	)
	srv := pbtest.Start(t, pbtest.Options{})
	app := srv.App()
	v := newVault(t, hexA) // the installation's documented ENCRYPTION_KEY
	u := user(t, app, "node@example.com")
	rec := pbtest.Save(t, app, schema.ServiceKeys, map[string]any{"user": u.Id, "service": servicekeys.PageSpeed, "encryptedKey": stored, "isActive": true})
	key, ok, err := servicekeys.Use(app, v, u.Id, false, servicekeys.PageSpeed, time.Now())
	if err != nil || !ok || key != plain {
		t.Fatalf("Use = %v, %v", ok, err)
	}
	rec, _ = app.FindRecordById(schema.ServiceKeys, rec.Id)
	if now := rec.GetString("encryptedKey"); now == stored || v.NeedsRotation(now) {
		t.Fatalf("not resealed: %q", now)
	}
	if key, _, err = servicekeys.Use(app, v, u.Id, false, servicekeys.PageSpeed, time.Now()); key != plain || err != nil {
		t.Fatalf("after reseal: %v", err)
	}
}
