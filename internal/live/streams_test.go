package live

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pocketbase/dbx"
)

// TestAdmitCapsStreamsPerCallerAndInAll: past its own limit a caller is
// refused (429), others are not; past the hub's limit everyone is; a
// released stream frees its place; the counts say so.
func TestAdmitCapsStreamsPerCallerAndInAll(t *testing.T) {
	t.Parallel()
	h := NewHub(func() dbx.Builder { return nil }, Options{MaxStreams: 5, MaxCallerStreams: 2})
	defer h.Close()
	admit := func(caller string, want bool) func() {
		t.Helper()
		w := httptest.NewRecorder()
		release, ok := h.Admit(w, caller)
		if ok != want {
			t.Fatalf("%s: admitted %v, want %v", caller, ok, want)
		}
		if !ok && (w.Code != http.StatusTooManyRequests || !strings.Contains(w.Body.String(), "too many live streams")) {
			t.Fatalf("%s refused with %d %q, want 429", caller, w.Code, w.Body)
		}
		return release
	}
	a1 := admit("a", true)
	admit("a", true)
	admit("a", false) // a's third
	admit("b", true)
	admit("b", true)
	admit("c", true)
	admit("d", false) // the hub's sixth
	if st := h.Streams(); st.Open != 5 || st.Refused != 2 {
		t.Fatalf("streams %+v, want 5 open, 2 refused", st)
	}
	a1()
	a1() // twice counts once
	admit("d", true)
	admit("a", false) // the hub is full again
	if st := h.Streams(); st.Open != 5 || st.Refused != 3 {
		t.Fatalf("streams %+v, want 5 open, 3 refused", st)
	}
}
