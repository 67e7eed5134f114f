package pbrest_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/skopos-go/skopos/pbrest"
)

// hostile values for the filter tests; each must match only itself.
var hostile = []string{
	`plain`,
	`"`,
	`'`,
	`a\b`,
	`\"`,
	`\\"`,
	`"\"" || id != "`,
	`||`,
	`" || id != "`,
	`' || id != '`,
	`&& id != ""`,
	`x" && id != "`,
	`line1` + "\n" + `line2`,
	"tab\tcr\r",
	`unicode ☃ ünïcødé 日本語 🙂`,
	`{:v}`,
	`%_%`,
	`~ "a"`,
	`// comment`,
	`a"b'c\d`,
	`"""`,
	`\\\x`,
	`(`,
	`)`,
}

func TestFilterLiterals(t *testing.T) {
	t.Parallel()
	ts := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.FixedZone("X", 2*3600))
	s := "ptr"
	tests := []struct {
		expr   string
		params pbrest.Params
		want   string
	}{
		{"a = {:v}", pbrest.Params{"v": "x"}, `a = "x"`},
		{"a = {:v}", pbrest.Params{"v": `say "hi"`}, `a = "say \"hi\""`},
		{"a = {:v}", pbrest.Params{"v": `it's`}, `a = "it's"`},
		{"a = {:v}", pbrest.Params{"v": `a\b`}, `a = "a\b"`},
		{"a = {:v} && b = {:v}", pbrest.Params{"v": 1}, `a = 1 && b = 1`},
		{"a = {:v}", pbrest.Params{"v": -42}, `a = -42`},
		{"a = {:v}", pbrest.Params{"v": uint64(math.MaxUint64)}, `a = 18446744073709551615`},
		{"a = {:v}", pbrest.Params{"v": 1.5}, `a = 1.5`},
		{"a = {:v}", pbrest.Params{"v": 1e21}, `a = 1000000000000000000000`},
		{"a = {:v}", pbrest.Params{"v": float32(0.25)}, `a = 0.25`},
		{"a = {:v}", pbrest.Params{"v": true}, `a = true`},
		{"a = {:v}", pbrest.Params{"v": nil}, `a = null`},
		{"a = {:v}", pbrest.Params{"v": ts}, `a = "2024-05-06 05:08:09.123Z"`},
		{"a = {:v}", pbrest.Params{"v": &s}, `a = "ptr"`},
		{"a = {:v}", pbrest.Params{"v": (*string)(nil)}, `a = null`},
		{"a = {:a} || b = {:b}", pbrest.Params{"a": "{:b}", "b": "x"}, `a = "{:b}" || b = "x"`},
		{"no placeholders", nil, "no placeholders"},
		{"a = {:missing}", nil, "a = {:missing}"},
		{"a = {:bad name} {:", nil, "a = {:bad name} {:"},
	}
	for _, tt := range tests {
		if got := pbrest.Filter(tt.expr, tt.params); got != tt.want {
			t.Errorf("Filter(%q, %v) = %s, want %s", tt.expr, tt.params, got, tt.want)
		}
	}
}

func TestBuildFilterRejectsUnrepresentable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		v    any
	}{
		{"trailing backslash", `abc\`},
		{"only backslash", `\`},
		{"NaN", math.NaN()},
		{"Inf", math.Inf(1)},
		{"struct", struct{}{}},
		{"slice", []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := pbrest.BuildFilter("a = {:v}", pbrest.Params{"v": tt.v})
			if !errors.Is(err, pbrest.ErrUnrepresentable) {
				t.Fatalf("BuildFilter error = %v, want ErrUnrepresentable", err)
			}
			if f := pbrest.Filter("a = {:v}", pbrest.Params{"v": tt.v}); f != s || !strings.Contains(f, "{") {
				t.Fatalf("Filter = %q, want an invalid filter", f)
			}
		})
	}
	if _, err := pbrest.BuildFilter("a = {:v}", nil); err == nil {
		t.Fatal("BuildFilter accepted a placeholder without param")
	}
}

// TestFilterHostileValues stores each hostile value and checks that a
// filter built from it matches exactly that record on a real PocketBase.
func TestFilterHostileValues(t *testing.T) {
	t.Parallel()
	srv, _ := start(t, nil)
	c := newClient(t, srv)
	ctx := ctxT(t)

	ids := make(map[string]string)
	for _, v := range hostile {
		ids[v] = createItem(t, c, v).ID
	}
	for _, v := range hostile {
		for _, expr := range []string{"name = {:v}", "(name = {:v})", "name != {:v} && name = {:v}"} {
			var got []item
			_, err := c.ListRecords(ctx, itemsCollection, pbrest.ListQuery{Filter: pbrest.Filter(expr, pbrest.Params{"v": v})}, &got)
			if err != nil {
				t.Errorf("%s with v=%q: %v", expr, v, err)
				continue
			}
			want := 1
			if strings.HasPrefix(expr, "name !=") {
				want = 0
			}
			if len(got) != want || want == 1 && (got[0].ID != ids[v] || got[0].Name != v) {
				t.Errorf("%s with v=%q matched %+v, want only record %s", expr, v, got, ids[v])
			}
		}
		// Quote used directly.
		var it item
		if err := c.FirstRecord(ctx, itemsCollection, "name = "+pbrest.Quote(v), &it); err != nil || it.ID != ids[v] {
			t.Errorf("Quote(%q): %+v, %v", v, it, err)
		}
	}

	// A value PocketBase cannot represent is rejected, never mismatched.
	createItem(t, c, `abc\`)
	f := pbrest.Filter("name = {:v} || name = {:w}", pbrest.Params{"v": `abc\`, "w": `) || id != (`})
	_, err := c.ListRecords(ctx, itemsCollection, pbrest.ListQuery{Filter: f}, nil)
	if !errors.Is(err, pbrest.ErrBadRequest) {
		t.Fatalf("filter %s = %v, want ErrBadRequest", f, err)
	}
}
