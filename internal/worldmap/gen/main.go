// Command gen writes internal/worldmap/world.tsv, the country names and
// shapes the worldmap package embeds, from world-atlas' countries-110m.json
// (TopoJSON of Natural Earth's 1:110m countries, ISC; numeric ISO 3166
// ids) and i18n-iso-countries' codes.json and langs/en.json (MIT: the
// numeric → alpha-2 table and the English names).
// scripts/update-worldmap.sh fetches both packages with npm and runs it:
//
//	go run ./internal/worldmap/gen -atlas countries-110m.json -codes codes.json \
//	    -names en.json -version "world-atlas 2.0.2, i18n-iso-countries 7.14.0"
//
// The shapes are projected once (Natural Earth I, Antarctica left out),
// rounded to whole units of a 1000-wide view box and written as SVG path
// data with relative steps, so the page draws them without any script.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// width is the view box's width; its height follows from the projection.
const width = 1000

// minCountries guards against a truncated or reshaped input replacing a
// good file (the 1:110m file has 177 shapes, 175 once the unnamed ones
// joined their country and Antarctica is left out).
const minCountries = 170

// shortNames pick, for the codes the name list gives several names, the
// one a dashboard reads best (the first is the official form, "Russian
// Federation"); each must be one of the list's names, so an update that
// drops it fails instead of silently renaming.
var shortNames = map[string]string{
	"CN": "China", "CZ": "Czechia", "GM": "Gambia", "IR": "Iran", "MK": "North Macedonia",
	"PS": "Palestine", "RU": "Russia", "TW": "Taiwan", "TZ": "Tanzania", "US": "United States",
}

// unnamed maps the atlas' shapes without an ISO number, by name: Kosovo
// has the user-assigned XK the geo databases use; the other two are
// drawn as part of the country ISO 3166 (and so a geo database) puts
// them in.
var unnamed = map[string]string{"Kosovo": "XK", "N. Cyprus": "CY", "Somaliland": "SO"}

// dropped are left off the map: Antarctica would take a fifth of its
// height for no visitors.
var dropped = map[string]bool{"AQ": true}

var alpha2 = regexp.MustCompile(`^[A-Z]{2}$`)

func main() {
	atlas := flag.String("atlas", "", "world-atlas' countries-110m.json")
	codes := flag.String("codes", "", "i18n-iso-countries' codes.json")
	names := flag.String("names", "", "i18n-iso-countries' langs/en.json")
	out := flag.String("out", "internal/worldmap/world.tsv", "the file to write")
	version := flag.String("version", "", "the packages' versions (recorded in the header)")
	flag.Parse()
	if err := run(*atlas, *codes, *names, *out, *version); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(atlasPath, codesPath, namesPath, outPath, version string) error {
	var in [3]io.Reader
	for i, p := range []string{atlasPath, codesPath, namesPath} {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		in[i] = f
	}
	var b strings.Builder
	n, err := convert(&b, in[0], in[1], in[2], version)
	if err != nil {
		return err
	}
	if n < minCountries {
		return fmt.Errorf("only %d country shapes: is %s the right file?", n, atlasPath)
	}
	return os.WriteFile(outPath, []byte(b.String()), 0o644)
}

type topology struct {
	Type      string `json:"type"`
	Transform *struct {
		Scale     [2]float64 `json:"scale"`
		Translate [2]float64 `json:"translate"`
	} `json:"transform"`
	Arcs    [][][2]float64 `json:"arcs"`
	Objects struct {
		Countries struct {
			Geometries []struct {
				Type       string          `json:"type"`
				ID         string          `json:"id"`
				Arcs       json.RawMessage `json:"arcs"`
				Properties struct {
					Name string `json:"name"`
				} `json:"properties"`
			} `json:"geometries"`
		} `json:"countries"`
	} `json:"objects"`
}

type point struct{ x, y float64 }

// convert writes the header, the view box line and one line per alpha-2
// code of the name list (code TAB name TAB path data, the path empty for
// a country the map does not draw), sorted by code; it returns how many
// countries have a shape.
func convert(w io.Writer, atlas, codes, names io.Reader, version string) (int, error) {
	var rows [][]string
	if err := json.NewDecoder(codes).Decode(&rows); err != nil {
		return 0, fmt.Errorf("codes: %w", err)
	}
	numeric := map[string]string{}
	for _, r := range rows {
		if len(r) < 3 || !alpha2.MatchString(r[0]) {
			return 0, fmt.Errorf("codes: bad row %q", r)
		}
		numeric[r[2]] = r[0]
	}
	var nl struct {
		Countries map[string]json.RawMessage `json:"countries"`
	}
	if err := json.NewDecoder(names).Decode(&nl); err != nil {
		return 0, fmt.Errorf("names: %w", err)
	}
	name := map[string]string{}
	for code, raw := range nl.Countries {
		var all []string
		if err := json.Unmarshal(raw, &all); err != nil {
			var one string
			if err := json.Unmarshal(raw, &one); err != nil {
				return 0, fmt.Errorf("names: %s: neither a name nor a list of names", code)
			}
			all = []string{one}
		}
		if !alpha2.MatchString(code) || len(all) == 0 || all[0] == "" {
			return 0, fmt.Errorf("names: bad entry %q", code)
		}
		n := all[0]
		if s, ok := shortNames[code]; ok {
			if !slices.Contains(all, s) {
				return 0, fmt.Errorf("names: %s no longer has the name %q (%q): update shortNames", code, s, all)
			}
			n = s
		}
		if strings.ContainsAny(n, "\t\n") {
			return 0, fmt.Errorf("names: %s: a tab or newline in %q", code, n)
		}
		name[code] = n
	}
	for _, code := range numeric {
		if name[code] == "" {
			return 0, fmt.Errorf("names: no English name for %s", code)
		}
	}

	var topo topology
	if err := json.NewDecoder(atlas).Decode(&topo); err != nil {
		return 0, fmt.Errorf("atlas: %w", err)
	}
	if topo.Type != "Topology" || topo.Transform == nil || len(topo.Arcs) == 0 {
		return 0, errors.New("atlas: not a quantized TopoJSON topology")
	}
	// the arcs in degrees: delta-encoded quantized positions
	arcs := make([][]point, len(topo.Arcs))
	for i, a := range topo.Arcs {
		var x, y float64
		for _, p := range a {
			x, y = x+p[0], y+p[1]
			arcs[i] = append(arcs[i], point{x*topo.Transform.Scale[0] + topo.Transform.Translate[0], y*topo.Transform.Scale[1] + topo.Transform.Translate[1]})
		}
	}
	ring := func(idx []int) ([]point, error) {
		var out []point
		for _, i := range idx {
			j := i
			if i < 0 {
				j = ^i
			}
			if j >= len(arcs) {
				return nil, fmt.Errorf("atlas: arc %d of %d", j, len(arcs))
			}
			a := slices.Clone(arcs[j])
			if i < 0 {
				slices.Reverse(a)
			}
			if len(out) > 0 {
				a = a[1:] // the previous arc's last point
			}
			out = append(out, a...)
		}
		return out, nil
	}
	shapes := map[string][][]point{} // code → rings, projected
	for _, g := range topo.Objects.Countries.Geometries {
		code := numeric[g.ID]
		if g.ID == "" {
			code = unnamed[g.Properties.Name]
		}
		if code == "" {
			return 0, fmt.Errorf("atlas: no ISO code for %q (id %q)", g.Properties.Name, g.ID)
		}
		if dropped[code] {
			continue
		}
		var polys [][][]int
		switch g.Type {
		case "Polygon":
			var p [][]int
			if err := json.Unmarshal(g.Arcs, &p); err != nil {
				return 0, fmt.Errorf("atlas: %s: %w", code, err)
			}
			polys = [][][]int{p}
		case "MultiPolygon":
			if err := json.Unmarshal(g.Arcs, &polys); err != nil {
				return 0, fmt.Errorf("atlas: %s: %w", code, err)
			}
		default:
			return 0, fmt.Errorf("atlas: %s: geometry %q", code, g.Type)
		}
		for _, poly := range polys {
			for _, idx := range poly {
				r, err := ring(idx)
				if err != nil {
					return 0, err
				}
				for _, r := range splitAntimeridian(r) {
					for i, p := range r {
						r[i] = project(p)
					}
					shapes[code] = append(shapes[code], r)
				}
			}
		}
	}
	// fit the projected shapes into the view box, y pointing down
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, rs := range shapes {
		for _, r := range rs {
			for _, p := range r {
				minX, maxX = min(minX, p.x), max(maxX, p.x)
				minY, maxY = min(minY, p.y), max(maxY, p.y)
			}
		}
	}
	if len(shapes) == 0 {
		return 0, errors.New("atlas: no countries")
	}
	k := width / (maxX - minX)
	height := int(math.Ceil((maxY - minY) * k))
	codeList := make([]string, 0, len(name))
	for c := range name {
		codeList = append(codeList, c)
	}
	for c := range shapes {
		if name[c] == "" {
			return 0, fmt.Errorf("atlas: no English name for %s", c)
		}
	}
	slices.Sort(codeList)
	fmt.Fprintf(w, "# generated by scripts/update-worldmap.sh: %s (LICENSE.world-atlas, LICENSE.i18n-iso-countries; shapes: Natural Earth, public domain)\n", version)
	fmt.Fprintf(w, "viewBox\t0 0 %d %d\n", width, height)
	drawn := 0
	for _, c := range codeList {
		var d strings.Builder
		for _, r := range shapes[c] {
			ringPath(&d, r, func(p point) (int, int) {
				return int(math.Round((p.x - minX) * k)), int(math.Round((maxY - p.y) * k))
			})
		}
		if d.Len() > 0 {
			drawn++
		}
		fmt.Fprintf(w, "%s\t%s\t%s\n", c, name[c], d.String())
	}
	return drawn, nil
}

// project is Natural Earth I (Šavrič et al.), as d3-geo-projection's
// naturalEarth1Raw, from degrees.
func project(p point) point {
	l, f := p.x*math.Pi/180, p.y*math.Pi/180
	f2 := f * f
	f4 := f2 * f2
	return point{
		l * (0.8707 - 0.131979*f2 + f4*(-0.013791+f4*(0.003971*f2-0.001529*f4))),
		f * (1.007226 + f2*(0.015085+f4*(-0.044475+0.028874*f2-0.005916*f4))),
	}
}

// ringPath appends one closed ring: an absolute move, relative lines
// between the rounded points (repeats dropped), a close. A ring that
// rounds to fewer than three points is left out.
func ringPath(d *strings.Builder, r []point, at func(point) (int, int)) {
	var pts [][2]int
	for _, p := range r {
		x, y := at(p)
		if n := len(pts); n > 0 && pts[n-1] == [2]int{x, y} {
			continue
		}
		pts = append(pts, [2]int{x, y})
	}
	if len(pts) > 1 && pts[0] == pts[len(pts)-1] {
		pts = pts[:len(pts)-1]
	}
	if len(pts) < 3 {
		return
	}
	d.WriteString("M" + strconv.Itoa(pts[0][0]) + " " + strconv.Itoa(pts[0][1]) + "l")
	for i := 1; i < len(pts); i++ {
		for j, v := range [2]int{pts[i][0] - pts[i-1][0], pts[i][1] - pts[i-1][1]} {
			if (i > 1 || j > 0) && v >= 0 {
				d.WriteByte(' ')
			}
			d.WriteString(strconv.Itoa(v))
		}
	}
	d.WriteString("z")
}

// splitAntimeridian cuts a ring that crosses the antimeridian (the
// atlas' rings of Russia and Fiji are stitched across it) into the part
// west of it and the part east of it, moved to the other edge; drawn
// whole, such a ring would run across the map. A ring around a pole
// (Antarctica's) is left as it is.
func splitAntimeridian(r []point) [][]point {
	u := make([]point, len(r))
	off, lo, hi := 0.0, math.Inf(1), math.Inf(-1)
	for i, p := range r {
		if i > 0 {
			switch d := p.x - r[i-1].x; {
			case d > 180:
				off -= 360
			case d < -180:
				off += 360
			}
		}
		u[i] = point{p.x + off, p.y}
		lo, hi = min(lo, u[i].x), max(hi, u[i].x)
	}
	if off != 0 || (lo >= -180 && hi <= 180) {
		return [][]point{r}
	}
	c, shift := 180.0, -360.0
	if lo < -180 {
		c, shift = -180, 360
	}
	inside := clipAt(u, c, func(x float64) bool { return (x <= c) == (c > 0) })
	outside := clipAt(u, c, func(x float64) bool { return (x >= c) == (c > 0) })
	for i := range outside {
		outside[i].x += shift
	}
	var out [][]point
	for _, part := range [][]point{inside, outside} {
		if len(part) >= 3 {
			out = append(out, part)
		}
	}
	return out
}

// clipAt keeps the part of ring r on the side of the meridian x = c that
// keep accepts (Sutherland–Hodgman against one line).
func clipAt(r []point, c float64, keep func(float64) bool) []point {
	var out []point
	for i, a := range r {
		b := r[(i+1)%len(r)]
		if keep(a.x) {
			out = append(out, a)
		}
		if keep(a.x) != keep(b.x) {
			out = append(out, point{c, a.y + (c-a.x)/(b.x-a.x)*(b.y-a.y)})
		}
	}
	return out
}
