// Package minify builds tracker/skopos.min.js from tracker/skopos.js with
// esbuild. It is shared by the go:generate program and the staleness test,
// so both minify exactly alike; the tracker package itself does not import
// it, which keeps esbuild out of every binary.
package minify

import (
	"errors"
	"fmt"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

// Script minifies the readable source of skopos.js.
func Script(src []byte) ([]byte, error) {
	res := api.Transform(string(src), api.TransformOptions{
		Sourcefile:        "skopos.js",
		Loader:            api.LoaderJS,
		MinifyWhitespace:  true,
		MinifyIdentifiers: true,
		MinifySyntax:      true,
		// ES2019 (optional catch binding) saves bytes; every browser with
		// sendBeacon, fetch keepalive and WeakSet has it.
		Target:        api.ES2019,
		Charset:       api.CharsetASCII,
		LegalComments: api.LegalCommentsNone,
		LogLevel:      api.LogLevelSilent,
	})
	if len(res.Errors) > 0 {
		var msgs []string
		for _, m := range res.Errors {
			loc := ""
			if m.Location != nil {
				loc = fmt.Sprintf("%d:%d: ", m.Location.Line, m.Location.Column)
			}
			msgs = append(msgs, loc+m.Text)
		}
		return nil, errors.New("esbuild: " + strings.Join(msgs, "; "))
	}
	return res.Code, nil
}
