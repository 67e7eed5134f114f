package dashboard_test

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// TestEveryDestructiveFormAsksFirst: a form that deletes, revokes,
// removes or hands over something carries a data-confirm question (app.js
// asks it; TestBrowserFiltersGoalsFunnelsAndTimezone clicks through one),
// or is itself the confirmation page (the erasure's, the website's).
func TestEveryDestructiveFormAsksFirst(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("templates/*.html")
	if err != nil || len(files) == 0 {
		t.Fatal(files, err)
	}
	// a form, with the {{with .XURL}} that may give its action
	form := regexp.MustCompile(`(\{\{with \.\w+\}\})?<form\b[^>]*>`)
	destructive := regexp.MustCompile(`(action="\{\{|\{\{with )[^}]*\.(Delete|Revoke|Remove|Del|Transfer)[A-Za-z]*URL`)
	confirmPages := map[string]bool{"erase.html": true, "delete.html": true}
	checked := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, tag := range form.FindAllString(string(b), -1) {
			if !destructive.MatchString(tag) || confirmPages[filepath.Base(f)] {
				continue
			}
			checked++
			if !regexp.MustCompile(`\bdata-confirm="[^"]+\?[^"]*"`).MatchString(tag) {
				t.Errorf("%s: %s asks nothing", f, tag)
			}
		}
	}
	if checked < 11 {
		t.Errorf("checked %d forms: the pattern no longer finds them", checked)
	}
}
