package importer

import (
	"archive/zip"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// csvName reports whether name is a CSV file (gzipped or not), and its
// name without ".gz".
func csvName(name string) (string, bool) {
	base := strings.TrimSuffix(name, ".gz")
	return base, strings.EqualFold(filepath.Ext(base), ".csv")
}

// eachFile calls fn with every CSV file of path, in name order: path is a
// directory (its CSV files, not its subdirectories), a zip (its CSV
// entries) or a CSV file; ".csv.gz" files are read gunzipped. name is the
// file's name for errors ("export.zip:pages.csv" inside a zip), base the
// file's own name without ".gz".
func eachFile(path string, fn func(name, base string, r io.Reader) error) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	var files []string
	switch {
	case st.IsDir():
		entries, err := os.ReadDir(path)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if _, ok := csvName(e.Name()); ok && e.Type().IsRegular() {
				files = append(files, filepath.Join(path, e.Name()))
			}
		}
		if len(files) == 0 {
			return fmt.Errorf("%s: no CSV file in the directory", path)
		}
	case strings.EqualFold(filepath.Ext(path), ".zip"):
		return eachZipEntry(path, fn)
	default:
		files = []string{path}
	}
	for _, f := range files {
		if err := readFile(f, filepath.Base(f), fn); err != nil {
			return err
		}
	}
	return nil
}

func eachZipEntry(path string, fn func(name, base string, r io.Reader) error) error {
	z, err := zip.OpenReader(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer z.Close()
	entries := slices.Clone(z.File)
	slices.SortFunc(entries, func(a, b *zip.File) int { return strings.Compare(a.Name, b.Name) })
	n := 0
	for _, e := range entries {
		base, ok := csvName(filepath.Base(e.Name))
		if !ok || e.FileInfo().IsDir() {
			continue
		}
		n++
		rc, err := e.Open()
		if err != nil {
			return fmt.Errorf("%s:%s: %w", filepath.Base(path), e.Name, err)
		}
		err = gunzipIf(e.Name, rc, func(r io.Reader) error { return fn(filepath.Base(path)+":"+e.Name, base, r) })
		rc.Close()
		if err != nil {
			return err
		}
	}
	if n == 0 {
		return fmt.Errorf("%s: no CSV file in the zip", path)
	}
	return nil
}

func readFile(path, name string, fn func(name, base string, r io.Reader) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	base, _ := csvName(name)
	return gunzipIf(name, f, func(r io.Reader) error { return fn(name, base, r) })
}

// gunzipIf passes r to fn, gunzipped when name ends in ".gz".
func gunzipIf(name string, r io.Reader, fn func(io.Reader) error) error {
	if !strings.HasSuffix(strings.ToLower(name), ".gz") {
		return fn(r)
	}
	gz, err := gzip.NewReader(r)
	if err != nil {
		return &FormatError{File: name, Msg: err.Error()}
	}
	defer gz.Close()
	return fn(gz)
}

// rows reads a CSV file with a header row, by column name.
type rows struct {
	file string
	r    *csv.Reader
	cols map[string]int
	rec  []string
	line int
}

// newRows reads the header of a CSV file.
func newRows(file string, r io.Reader) (*rows, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, &FormatError{File: file, Line: 1, Msg: "empty file (no header row)"}
	}
	if err != nil {
		return nil, csvError(file, err)
	}
	rs := &rows{file: file, r: cr, cols: map[string]int{}, line: 1}
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff") // a spreadsheet's byte order mark
		}
		rs.cols[strings.TrimSpace(h)] = i
	}
	return rs, nil
}

func csvError(file string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &FormatError{File: file, Line: pe.Line, Msg: pe.Err.Error()}
	}
	return &FormatError{File: file, Msg: err.Error()}
}

// require fails on the header when a column is missing.
func (rs *rows) require(cols ...string) error {
	var missing []string
	for _, c := range cols {
		if _, ok := rs.cols[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return &FormatError{File: rs.file, Line: 1, Msg: "missing column " + strings.Join(missing, ", ")}
	}
	return nil
}

func (rs *rows) has(col string) bool { _, ok := rs.cols[col]; return ok }

// next reads the next row; false at the end.
func (rs *rows) next() (bool, error) {
	rec, err := rs.r.Read()
	if errors.Is(err, io.EOF) {
		return false, nil
	}
	if err != nil {
		return false, csvError(rs.file, err)
	}
	rs.rec = rec
	rs.line, _ = rs.r.FieldPos(0)
	return true, nil
}

func (rs *rows) errorf(format string, args ...any) error {
	return &FormatError{File: rs.file, Line: rs.line, Msg: fmt.Sprintf(format, args...)}
}

// str is a column's value ("" for a column the file has not).
func (rs *rows) str(col string) string {
	i, ok := rs.cols[col]
	if !ok || i >= len(rs.rec) {
		return ""
	}
	return strings.TrimSpace(rs.rec[i])
}

// int is a column's whole number ≥ 0; empty and \N (ClickHouse's NULL)
// are 0.
func (rs *rows) int(col string) (int, error) {
	v := rs.str(col)
	if v == "" || v == `\N` {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, rs.errorf("%s: %q is not a whole number ≥ 0", col, v)
	}
	return n, nil
}

// dateLayouts are the timestamps exports write (always UTC): Umami's
// "2024-03-15 10:00:00" (with or without fractions) and RFC 3339.
var dateLayouts = []string{"2006-01-02 15:04:05.999999999", time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999 MST"}

// time is a column's timestamp, UTC.
func (rs *rows) time(col string) (time.Time, error) {
	v := rs.str(col)
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, rs.errorf("%s: %q is not a date and time", col, v)
}

// date is a column's date (YYYY-MM-DD), as a UTC midnight.
func (rs *rows) date(col string) (time.Time, error) {
	v := rs.str(col)
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, rs.errorf("%s: %q is not a date (YYYY-MM-DD)", col, v)
	}
	return t, nil
}
