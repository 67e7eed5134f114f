// Command plainpb is a bare PocketBase, as a user who has never heard of
// Skopos runs it: the target of the `skopos schema apply` tests. It runs
// as its own process because changing settings over REST while the
// server runs is a data race inside PocketBase, which -race would report
// against the test binary.
package main

import (
	"log"

	"github.com/pocketbase/pocketbase"
)

func main() {
	app := pocketbase.NewWithConfig(pocketbase.Config{DefaultDev: false})
	if err := app.Start(); err != nil {
		log.Fatal(err)
	}
}
