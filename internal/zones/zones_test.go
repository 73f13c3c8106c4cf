package zones

import (
	"slices"
	"strings"
	"testing"
)

func TestPlace(t *testing.T) {
	for _, tc := range []struct {
		layout       Layout
		zones        int
		origin, edge []int
	}{
		{Single, 2, []int{0}, []int{0}},
		{Single, 3, []int{0}, []int{0}},
		{Split, 2, []int{0}, []int{1}},
		{Split, 3, []int{0}, []int{1}},
		{Spread, 2, []int{0, 1}, []int{0, 1}},
		{Spread, 3, []int{0, 1, 2}, []int{0, 1, 2}},
	} {
		origin, edge := Place(tc.layout, tc.zones)
		if !slices.Equal(origin, tc.origin) || !slices.Equal(edge, tc.edge) {
			t.Errorf("Place(%s, %d) = %v, %v; want %v, %v", tc.layout, tc.zones, origin, edge, tc.origin, tc.edge)
		}
	}
}

func TestParseLayout(t *testing.T) {
	for _, s := range []string{"single", "split", "spread"} {
		if l, err := ParseLayout(s); err != nil || string(l) != s {
			t.Errorf("ParseLayout(%q) = %q, %v", s, l, err)
		}
	}
	for _, s := range []string{"", "Spread", "multi", "true"} {
		if _, err := ParseLayout(s); err == nil {
			t.Errorf("ParseLayout(%q) accepted", s)
		}
	}
	if Split.MinZones() != 2 || Spread.MinZones() != 1 || Single.MinZones() != 1 {
		t.Error("split needs two zones, the others one")
	}
}

// placement builds the Placement of a cluster over zones a, b, c with the
// load balancers in every zone and MongoDB members in the first members zones.
func placement(layout Layout, members int) Placement {
	all := []string{"a", "b", "c"}
	at := func(idx []int) []string {
		var out []string
		for _, i := range idx {
			out = append(out, all[i])
		}
		return out
	}
	origin, edge := Place(layout, len(all))
	return Placement{Zones: all, Origin: at(origin), Edge: at(edge), LoadBalancer: all, Ingest: all, Database: all[:members]}
}

func TestSurvive(t *testing.T) {
	everything := Survival{true, true, true}
	nothing := Survival{}
	for _, tc := range []struct {
		layout  Layout
		members int
		want    map[string]Survival
	}{
		{Single, 1, map[string]Survival{"a": nothing, "b": everything, "c": everything}},
		{Split, 1, map[string]Survival{"a": nothing, "b": {Publish: true, Panel: true}, "c": everything}},
		{Spread, 1, map[string]Survival{"a": nothing, "b": everything, "c": everything}},
		{Single, 3, map[string]Survival{"a": nothing, "b": everything, "c": everything}},
		{Split, 3, map[string]Survival{"a": nothing, "b": {Publish: true, Panel: true}, "c": everything}},
		{Spread, 3, map[string]Survival{"a": everything, "b": everything, "c": everything}},
	} {
		p := placement(tc.layout, tc.members)
		for zone, want := range tc.want {
			if got := p.Survive(zone); got != want {
				t.Errorf("%s with %d members, loss of %s: %+v, want %+v", tc.layout, tc.members, zone, got, want)
			}
		}
	}
}

func TestSurviveNeedsAMajority(t *testing.T) {
	// Two of three members in one zone: its loss leaves one, no majority.
	p := Placement{Zones: []string{"a", "b"}, Origin: []string{"a", "b"}, Edge: []string{"a", "b"},
		LoadBalancer: []string{"a", "b"}, Database: []string{"a", "a", "b"}}
	if got := p.Survive("a"); got.Publish || got.Panel {
		t.Errorf("one member of three left, no primary, yet %+v", got)
	}
	if got := p.Survive("b"); got != (Survival{true, true, true}) {
		t.Errorf("two members of three left, yet %+v", got)
	}
	// An external database is outside the zones.
	p.Database = nil
	if got := p.Survive("a"); got != (Survival{true, true, true}) {
		t.Errorf("external database, spread groups: %+v", got)
	}
	// A load balancer in one zone only dies with it.
	p.LoadBalancer = []string{"a"}
	if got := p.Survive("a"); got != (Survival{}) {
		t.Errorf("no load balancer left, yet %+v", got)
	}
	p.LoadBalancer, p.Ingest = []string{"a", "b"}, []string{"a"}
	if got := p.Survive("a"); got.Publish || got.Play || !got.Panel {
		t.Errorf("no ingest load balancer left: want only the panel, got %+v", got)
	}
}

func TestTable(t *testing.T) {
	got := Table([]Row{{Split, 1, placement(Split, 1)}, {Spread, 3, placement(Spread, 3)}})
	want := strings.Join([]string{
		"| `zoneLayout` | MongoDB members | loss of zone 1 | loss of zone 2 | loss of zone 3 |",
		"|---|---|---|---|---|",
		"| `split` | 1 | nothing | publish, panel only | everything |",
		"| `spread` | 3 | everything | everything | everything |",
		"",
	}, "\n")
	if got != want {
		t.Errorf("table:\n%s\nwant:\n%s", got, want)
	}
}
