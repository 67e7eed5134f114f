// Command build-asn-db writes the table internal/ipinfo embeds from
// ip-location-db's ASN CSV files: build-asn-db OUT.gz CSV... It is what
// scripts/update-asn-db.sh runs.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/skopos-go/skopos/internal/ipinfo"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "build-asn-db:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) < 2 {
		return errors.New("usage: build-asn-db OUT.gz CSV [CSV]")
	}
	var in []io.Reader
	for _, name := range args[1:] {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		in = append(in, f)
	}
	out, err := os.Create(args[0])
	if err != nil {
		return err
	}
	if err := ipinfo.Build(out, in...); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
