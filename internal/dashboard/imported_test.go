package dashboard

import (
	"testing"

	"github.com/skopos-go/skopos/internal/stats"
)

func TestImportedNoteNamesTheSourcesAndTheDays(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   *stats.Imported
		want string
	}{
		{nil, ""},
		{&stats.Imported{Sources: []string{"Plausible"}, Days: []string{"2024-01-01", "2024-01-02", "2024-01-31"}},
			"Includes imported data (Plausible) for 2024-01-01 – 2024-01-31 (UTC days)."},
		{&stats.Imported{Sources: []string{"Plausible", "Umami"}, Days: []string{"2024-02-01"}},
			"Includes imported data (Plausible, Umami) for 2024-02-01 (UTC days)."},
	} {
		if got := importedNote(tt.in); got != tt.want {
			t.Errorf("importedNote(%+v) = %q; want %q", tt.in, got, tt.want)
		}
	}
}
