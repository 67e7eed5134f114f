package plugin

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/skopos-go/skopos/internal/importer"
	"github.com/skopos-go/skopos/schema"
	"github.com/spf13/cobra"
)

// importCommand is `skopos import plausible|umami <export> --site ID`:
// another tool's export into the summaries (internal/importer).
func (c *cli) importCommand() *cobra.Command {
	group := c.command(&cobra.Command{Use: "import",
		Short: "Import another analytics tool's export into a website's days before its first own event"})
	for _, f := range []struct {
		name, use, short string
		read             func(string) (*importer.Data, error)
	}{
		{"plausible", "plausible <export.zip | its directory | imported_*.csv> --site TRACKINGID",
			"Import Plausible CE's CSV export (its imported_* files)", importer.ReadPlausible},
		{"umami", "umami <export.csv[.gz] | a directory or zip of them> --site TRACKINGID",
			"Import Umami's data export (its raw events)", importer.ReadUmami},
	} {
		var site string
		cmd := c.command(&cobra.Command{
			Use:   f.use,
			Short: f.short,
			RunE: func(cmd *cobra.Command, args []string) error {
				if len(args) != 1 {
					return c.fail(cmd, 2, errors.New("give one export (a file, directory or zip)"))
				}
				if strings.TrimSpace(site) == "" {
					return c.fail(cmd, 2, errors.New("--site (the website's trackingId) is required"))
				}
				return c.runE(func(cmd *cobra.Command, _ []string) error {
					return c.importExport(cmd.OutOrStdout(), args[0], site, f.read)
				})(cmd, args)
			},
		})
		cmd.Flags().StringVar(&site, "site", "", "the trackingId of the website to import into")
		group.AddCommand(cmd)
	}
	return group
}

// importExport reads the export at path and writes it into the
// website's summaries, saying what it did.
func (c *cli) importExport(out io.Writer, path, trackingID string, read func(string) (*importer.Data, error)) error {
	if err := c.migrate(c.app); err != nil {
		return err
	}
	site, err := c.app.FindFirstRecordByData(schema.Websites, "trackingId", strings.TrimSpace(trackingID))
	if err != nil {
		return fmt.Errorf("no website with trackingId %q", trackingID)
	}
	data, err := read(path)
	if err != nil {
		return err
	}
	res, err := importer.Write(c.app, site.Id, data, 0)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s export: %d days\n", res.Source, res.Days)
	if n := len(res.Imported); n > 0 {
		fmt.Fprintf(out, "imported %d days (%s – %s) into %s: %d summary rows written\n",
			n, res.Imported[0], res.Imported[n-1], site.GetString("domain"), res.Rows)
	} else {
		fmt.Fprintln(out, "imported 0 days")
	}
	if n := len(res.SkippedOwn); n > 0 {
		fmt.Fprintf(out, "skipped %d days at or after the website's first own event (%s)\n",
			n, res.FirstEvent.Format("2006-01-02 15:04 UTC"))
	}
	if n := len(res.SkippedOther); n > 0 {
		fmt.Fprintf(out, "skipped %d days that have summaries of their own (%s – %s)\n",
			n, res.SkippedOther[0], res.SkippedOther[n-1])
	}
	for _, d := range data.Dropped {
		fmt.Fprintf(out, "not imported: %s\n", d)
	}
	return nil
}
