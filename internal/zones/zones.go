// Package zones places the cluster's Auto Scaling groups in availability
// zones and works out what keeps working when one zone is lost.
//
// Place is the layout the stack applies (configuration key zoneLayout).
// Placement and Survive are the zone-failure model behind docs/operating.md's
// table "What survives the loss of a zone": the tests fill a Placement from
// the resources the stack registers, so that the table cannot drift from
// the code.
package zones

import (
	"fmt"
	"strings"
)

// Layout is where the origin and edge groups launch their nodes.
type Layout string

const (
	// Single puts both groups in the first zone, as the seed guide does: the
	// shortest origin-edge path, and no survival of that zone's loss.
	Single Layout = "single"
	// Split puts origins in the first zone and edges in the second, as Ant
	// Media's CloudFormation template does.
	Split Layout = "split"
	// Spread puts both groups over every zone.
	Spread Layout = "spread"
)

// Layouts are the accepted layouts, in the order the table lists them.
var Layouts = []Layout{Single, Split, Spread}

// ParseLayout reads a layout name.
func ParseLayout(s string) (Layout, error) {
	for _, l := range Layouts {
		if string(l) == s {
			return l, nil
		}
	}
	return "", fmt.Errorf("zone layout %q: want one of single, split, spread", s)
}

// MinZones is the fewest zones a layout needs.
func (l Layout) MinZones() int {
	if l == Split {
		return 2
	}
	return 1
}

// Place returns the indices of the subnets (one per zone, in zone order,
// zones of them) that the origin and the edge group launch in. zones must
// be at least l.MinZones(); an unknown layout places like Single.
func Place(l Layout, zones int) (origin, edge []int) {
	switch {
	case l == Spread:
		all := make([]int, zones)
		for i := range all {
			all[i] = i
		}
		return all, all
	case l == Split && zones >= 2:
		return []int{0}, []int{1}
	default:
		return []int{0}, []int{0}
	}
}

// Placement is where each part of a deployed cluster runs, by zone name.
type Placement struct {
	// Zones are the zones the cluster's subnets are in, in order.
	Zones []string
	// Origin and Edge are the zones of the groups' subnets.
	Origin, Edge []string
	// LoadBalancer is the zones of the application load balancer's subnets;
	// Ingest those of the RTMP/SRT network load balancer (none without ingest).
	LoadBalancer, Ingest []string
	// Database is the zone of each MongoDB member, one entry per member.
	// Empty with an external database, which the model assumes survives.
	Database []string
}

// Survival is what keeps working after a zone is lost.
type Survival struct {
	// Publish: a publisher reaches an origin through a load balancer in a
	// surviving zone, and the origin registers the stream in the database.
	Publish bool
	// Play: a viewer reaches an edge through the load balancer, and the edge
	// finds the stream's origin in the database and pulls from it: playing
	// needs publishing to work and an edge to survive.
	Play bool
	// Panel: the web panel is served by the origins, through the load
	// balancer, and its users live in the database.
	Panel bool
}

// Survive works out what keeps working once every node, member and load
// balancer node in zone is gone: a group survives with a subnet in another
// zone (Auto Scaling relaunches there), a load balancer with a subnet in
// another zone, the database with a majority of its members elsewhere (a
// replica set elects a primary only with a majority; one member is a
// majority of one).
func (p Placement) Survive(zone string) Survival {
	left := func(zs []string) int {
		n := 0
		for _, z := range zs {
			if z != zone {
				n++
			}
		}
		return n
	}
	database := len(p.Database) == 0 || 2*left(p.Database) > len(p.Database)
	entry := left(p.LoadBalancer) > 0 && (len(p.Ingest) == 0 || left(p.Ingest) > 0)
	publish := entry && left(p.Origin) > 0 && database
	return Survival{
		Publish: publish,
		Play:    publish && left(p.Edge) > 0,
		Panel:   left(p.LoadBalancer) > 0 && left(p.Origin) > 0 && database,
	}
}

// String names what works: "everything", "nothing", or the functions left.
func (s Survival) String() string {
	var works []string
	for _, f := range []struct {
		ok   bool
		name string
	}{{s.Publish, "publish"}, {s.Play, "play"}, {s.Panel, "panel"}} {
		if f.ok {
			works = append(works, f.name)
		}
	}
	switch len(works) {
	case 3:
		return "everything"
	case 0:
		return "nothing"
	}
	return strings.Join(works, ", ") + " only"
}

// Row is one line of the zone-failure table: a layout and a MongoDB
// member count, and what survives the loss of each zone.
type Row struct {
	Layout  Layout
	Members int
	// Placement is the cluster the row describes.
	Placement Placement
}

// Table renders rows as the Markdown table of docs/operating.md: one column per zone
// of the first row's placement (all rows must have the same zones), named
// by its position ("zone 1" is the first zone) whatever the region.
func Table(rows []Row) string {
	if len(rows) == 0 {
		return ""
	}
	zones := rows[0].Placement.Zones
	var b strings.Builder
	b.WriteString("| `zoneLayout` | MongoDB members |")
	for i := range zones {
		fmt.Fprintf(&b, " loss of zone %d |", i+1)
	}
	b.WriteString("\n|---|---|")
	b.WriteString(strings.Repeat("---|", len(zones)))
	b.WriteString("\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| `%s` | %d |", r.Layout, r.Members)
		for _, z := range zones {
			fmt.Fprintf(&b, " %s |", r.Placement.Survive(z))
		}
		b.WriteString("\n")
	}
	return b.String()
}
