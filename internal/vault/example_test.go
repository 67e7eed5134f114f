package vault_test

import (
	"fmt"

	"github.com/skopos-go/skopos/internal/vault"
)

func Example() {
	// In a server: key, ok, err := vault.LoadKey(nil, nil), and no vault when !ok.
	key, err := vault.ParseKey("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	if err != nil {
		panic(err)
	}
	v, err := vault.New(key)
	if err != nil {
		panic(err)
	}
	stored, _ := v.Seal("AIzaSyExample-pagespeed-key", "user1", "google_pagespeed")
	apiKey, _ := v.Open(stored, "user1", "google_pagespeed")
	_, err = v.Open(stored, "user2", "google_pagespeed")
	fmt.Println(apiKey, vault.Hint(apiKey))
	fmt.Println(err)
	// Output:
	// AIzaSyExample-pagespeed-key …-key
	// vault: cannot decrypt: wrong key, or the value was altered or belongs to another user or service
}
