package vault

import "testing"

func TestHintShowsAtMostFourCharactersAndHidesAtLeastEight(t *testing.T) {
	for in, want := range map[string]string{
		"":                 "",
		"a":                "…",
		"12345678":         "…",
		"123456789":        "…9",
		"1234567890":       "…90",
		"12345678901":      "…901",
		"123456789012":     "…9012",
		plaintext:          "…6789",
		"ключ-ключ-ключ-ю": "…юч-ю", // characters, not bytes
	} {
		if got := Hint(in); got != want {
			t.Errorf("Hint(%q) = %q, want %q", in, got, want)
		}
	}
}
