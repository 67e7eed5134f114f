package pbrest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

const (
	superusersAuthPath    = "/api/collections/_superusers/auth-with-password"
	superusersRefreshPath = "/api/collections/_superusers/auth-refresh"

	// authTimeout bounds one shared authentication exchange; it runs
	// detached from the context of the caller that started it, since other
	// callers may be waiting for it too.
	authTimeout = 30 * time.Second
	// maxRefreshMargin caps how long before its expiry a token is renewed.
	maxRefreshMargin = time.Minute
	// unknownLifetime is assumed for tokens whose expiry cannot be read.
	unknownLifetime = 10 * time.Minute
)

// token is a cached superuser token with local-clock renewal times.
type token struct {
	value     string
	refreshAt time.Time // renew from here on
	expiresAt time.Time // unusable from here on
}

type authAnswer struct {
	Token string `json:"token"`
}

// Authenticate signs in as the configured superuser with
// POST /api/collections/_superusers/auth-with-password and caches the
// token. Calling it is optional (every request authenticates on demand)
// but it checks the credentials early. It returns [ErrNoCredentials] when
// none are configured.
func (c *Client) Authenticate(ctx context.Context) error {
	if c.email == "" {
		return ErrNoCredentials
	}
	_, err := c.sharedAuth(ctx, true)
	return err
}

// token returns a usable token, authenticating or renewing when due.
func (c *Client) token(ctx context.Context) (string, error) {
	c.mu.Lock()
	t := c.tok
	c.mu.Unlock()
	if t.value != "" && time.Now().Before(t.refreshAt) {
		return t.value, nil
	}
	return c.sharedAuth(ctx, false)
}

// sharedAuth runs one authentication for all concurrent callers. With
// force, it always signs in with the password; otherwise it renews an
// unexpired token with auth-refresh, falling back to the password.
func (c *Client) sharedAuth(ctx context.Context, force bool) (string, error) {
	key := "auto"
	if force {
		key = "password"
	}
	ch := c.authGroup.DoChan(key, func() (any, error) {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), authTimeout)
		defer cancel()
		return c.authenticate(actx, force)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return "", r.Err
		}
		return r.Val.(string), nil
	case <-ctx.Done():
		return "", fmt.Errorf("pbrest: authenticate: %w", ctx.Err())
	}
}

func (c *Client) authenticate(ctx context.Context, force bool) (string, error) {
	c.mu.Lock()
	t := c.tok
	c.mu.Unlock()
	now := time.Now()
	if !force && t.value != "" {
		if now.Before(t.refreshAt) { // renewed by a flight that just ended
			return t.value, nil
		}
		if now.Before(t.expiresAt) {
			var a authAnswer
			err := c.send(ctx, http.MethodPost, superusersRefreshPath, nil, nil, t.value, &a)
			if err == nil && a.Token != "" {
				c.storeToken(a.Token)
				c.log.DebugContext(ctx, "pbrest: superuser token renewed")
				return a.Token, nil
			}
			c.log.DebugContext(ctx, "pbrest: token renewal failed, signing in with password", "error", err)
		}
	}

	var a authAnswer
	body, _ := json.Marshal(map[string]string{"identity": c.email, "password": c.password})
	if err := c.send(ctx, http.MethodPost, superusersAuthPath, body, jsonHeader, "", &a); err != nil {
		if !force && t.value != "" && time.Now().Before(t.expiresAt) {
			c.log.WarnContext(ctx, "pbrest: superuser sign-in failed, using the current token until it expires", "error", err)
			return t.value, nil
		}
		return "", fmt.Errorf("pbrest: authenticate as superuser %q: %w", c.email, err)
	}
	if a.Token == "" {
		return "", fmt.Errorf("pbrest: authenticate as superuser %q: answer has no token", c.email)
	}
	c.storeToken(a.Token)
	c.log.DebugContext(ctx, "pbrest: signed in as superuser", "email", c.email)
	return a.Token, nil
}

func (c *Client) storeToken(value string) {
	now := time.Now()
	life := tokenLifetime(value, now)
	margin := min(life/5, maxRefreshMargin)
	t := token{value: value, expiresAt: now.Add(life), refreshAt: now.Add(life - margin)}
	c.mu.Lock()
	c.tok = t
	c.mu.Unlock()
}

// dropToken forgets tok unless another caller already replaced it.
func (c *Client) dropToken(tok string) {
	c.mu.Lock()
	if c.tok.value == tok {
		c.tok = token{}
	}
	c.mu.Unlock()
}

// tokenRejected reports whether err means the server no longer accepts
// tok. PocketBase answers 401 on endpoints that require authentication,
// but 403 ("Only superusers can perform this action.") on superuser-only
// collections when the token is invalid, so a 403 is confirmed with
// auth-refresh, which answers 401 for an invalid token.
func (c *Client) tokenRejected(ctx context.Context, err error, tok string) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Status {
	case http.StatusUnauthorized:
		return true
	case http.StatusForbidden:
		var a authAnswer
		rerr := c.send(ctx, http.MethodPost, superusersRefreshPath, nil, nil, tok, &a)
		if rerr == nil && a.Token != "" {
			c.storeToken(a.Token)
			return false
		}
		return errors.Is(rerr, ErrUnauthorized)
	}
	return false
}

// verifyToken makes sure the server accepts the cached token right now,
// renewing it with auth-refresh or signing in again. It is for requests
// that PocketBase silently treats as a guest's when the token is invalid,
// such as setting realtime subscriptions.
func (c *Client) verifyToken(ctx context.Context) error {
	if c.email == "" {
		return nil
	}
	tok, err := c.token(ctx)
	if err != nil {
		return err
	}
	var a authAnswer
	err = c.send(ctx, http.MethodPost, superusersRefreshPath, nil, nil, tok, &a)
	switch {
	case err == nil && a.Token != "":
		c.storeToken(a.Token)
		return nil
	case errors.Is(err, ErrUnauthorized):
		c.log.DebugContext(ctx, "pbrest: token rejected, authenticating again")
		c.dropToken(tok)
		_, err = c.token(ctx)
		return err
	case err == nil:
		return fmt.Errorf("pbrest: %s: answer has no token", superusersRefreshPath)
	}
	return err
}

// tokenLifetime returns how long a JWT stays valid from now, read from its
// unverified exp claim (and iat when present: exp-iat is immune to clock
// skew; PocketBase tokens carry no iat).
func tokenLifetime(jwt string, now time.Time) time.Duration {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return unknownLifetime
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return unknownLifetime
	}
	var claims struct {
		Exp float64 `json:"exp"`
		Iat float64 `json:"iat"`
	}
	if json.Unmarshal(raw, &claims) != nil || claims.Exp <= 0 {
		return unknownLifetime
	}
	exp := time.Unix(int64(claims.Exp), 0)
	if claims.Iat > 0 && claims.Iat < claims.Exp {
		return exp.Sub(time.Unix(int64(claims.Iat), 0))
	}
	if d := exp.Sub(now); d > 0 {
		return d
	}
	// A fresh token that looks expired means the clocks disagree; rely on
	// the 401 handling instead of renewing on every call.
	return unknownLifetime
}
