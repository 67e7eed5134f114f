package vault

// Hint returns what may be shown of a saved key so its owner can tell keys apart: "…" and at most
// its last 4 characters, fewer for short keys so that at least 8 always stay hidden (a key of 8
// characters or fewer shows none). It returns "" for an empty key.
func Hint(plaintext string) string {
	r := []rune(plaintext)
	if len(r) == 0 {
		return ""
	}
	show := min(4, max(0, len(r)-8))
	return "…" + string(r[len(r)-show:])
}
