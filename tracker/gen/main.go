// Command gen writes skopos.min.js from skopos.js; run it with
// `go generate ./tracker` after editing the script (a test fails while the
// committed minified file is stale).
package main

import (
	"fmt"
	"os"

	"github.com/skopos-go/skopos/tracker/internal/minify"
)

func main() {
	src, err := os.ReadFile("skopos.js")
	if err == nil {
		var out []byte
		if out, err = minify.Script(src); err == nil {
			err = os.WriteFile("skopos.min.js", out, 0o644)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tracker/gen:", err)
		os.Exit(1)
	}
}
