package validate

import (
	"fmt"
	"math"
	"strconv"
)

// TypeEngagement is a page view's engagement beacon: the time the page was
// engaged and how far it was scrolled, sent when it is hidden or left. It
// updates its page view (by PID) and is never an event of its own.
const TypeEngagement = "engagement"

// Limits of the engagement fields.
const (
	MinPID       = 8          // Payload.PID, characters [0-9a-z]
	MaxPID       = 32         //
	MaxEngagedMs = 86_400_000 // Payload.EngagedMs: a day
	MaxScroll    = 100        // Payload.Scroll, percent
)

// engagement reads pid (optional on page views, required on engagement
// beacons), engagedMs and scroll (required on engagement beacons, ignored
// otherwise).
func (p *Payload) engagement(m object) error {
	pid, present, err := stringField(m, "pid")
	if err != nil {
		return err
	}
	switch {
	case !present && p.Type == TypeEngagement:
		return fieldErr("pid", "required for engagement events")
	case present && !PID(pid):
		return fieldErr("pid", fmt.Sprintf("must be %d to %d characters 0-9 a-z", MinPID, MaxPID))
	case p.Type == TypePageView || p.Type == TypeEngagement:
		p.PID = pid
	}
	if p.Type != TypeEngagement {
		return nil
	}
	if p.EngagedMs, err = intField(m, "engagedMs", MaxEngagedMs); err != nil {
		return err
	}
	p.Scroll, err = intField(m, "scroll", MaxScroll)
	return err
}

// PID reports whether s is a valid page view id (Payload.PID).
func PID(s string) bool {
	if len(s) < MinPID || len(s) > MaxPID {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

// intField reads a required JSON number that is a whole number in
// [0, max] (1e3 and 5.0 are whole numbers).
func intField(m object, key string, max int) (int, error) {
	raw := m.field(key)
	if raw == nil {
		return 0, fieldErr(key, "required for engagement events")
	}
	if raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') {
		return 0, fieldErr(key, "must be a number, got "+rawKind(raw))
	}
	f, _ := strconv.ParseFloat(string(raw), 64) // a valid JSON number; out of range is ±Inf
	if f != math.Trunc(f) || f < 0 || f > float64(max) {
		return 0, fieldErr(key, fmt.Sprintf("must be a whole number from 0 to %d", max))
	}
	return int(f), nil
}
