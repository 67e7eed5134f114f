// Package token is the bearer secrets Skopos hands out: stats API keys
// and shared links. A token is 256 random bits, shown once when it is
// made; only its SHA-256 is stored (a "hash" field), so neither a reader
// of the database nor a backup can use it. Its record may expire
// ("expires") and keeps its last use ("lastUsed").
package token

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// bytes is a token's randomness: with 256 bits a plain hash (no salt, no
// slow KDF) cannot be reversed and guessing is hopeless.
const bytes = 32

// maxLen bounds what Find hashes: longer input is no token of ours.
const maxLen = 100

// TouchEvery is how often a token's lastUsed is written at most: a
// script polling every second must not turn each read into a write.
const TouchEvery = time.Minute

// New returns a new token, prefix followed by 32 random bytes in
// unpadded base64url, and the hash to store for it.
func New(prefix string) (tok, hash string, err error) {
	raw := make([]byte, bytes)
	if _, err := rand.Read(raw); err != nil {
		return "", "", fmt.Errorf("token: %w", err)
	}
	tok = prefix + base64.RawURLEncoding.EncodeToString(raw)
	return tok, Hash(tok), nil
}

// Hash is the stored form of a token: hex SHA-256.
func Hash(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

// Find returns the record of collection whose hash is tok's and that has
// not expired at now; false for every refusal alike.
func Find(app core.App, collection, tok string, now time.Time) (*core.Record, bool) {
	if tok == "" || len(tok) > maxLen {
		return nil, false
	}
	h := Hash(tok)
	rec, err := app.FindFirstRecordByData(collection, "hash", h)
	// the lookup is by hash, so its timing says nothing about the token;
	// the comparison is constant-time all the same
	if err != nil || subtle.ConstantTimeCompare([]byte(rec.GetString("hash")), []byte(h)) != 1 {
		return nil, false
	}
	if exp := rec.GetDateTime("expires"); !exp.IsZero() && !now.Before(exp.Time()) {
		return nil, false
	}
	return rec, true
}

// Touch records rec's use at now in lastUsed, unless it was recorded
// less than TouchEvery before. It is a plain UPDATE: no record hooks
// run, and "updated" keeps meaning a change of the record's settings. A
// failure is logged: a use must not fail for its bookkeeping.
func Touch(app core.App, rec *core.Record, now time.Time) {
	if last := rec.GetDateTime("lastUsed"); !last.IsZero() && now.Sub(last.Time()) < TouchEvery {
		return
	}
	stamp, _ := types.ParseDateTime(now)
	if _, err := app.DB().Update(rec.Collection().Name, dbx.Params{"lastUsed": stamp.String()}, dbx.HashExp{"id": rec.Id}).Execute(); err != nil {
		app.Logger().Warn("skopos: lastUsed", "collection", rec.Collection().Name, "error", err)
	}
}
