package tests

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/ams-cluster/ams-aws/internal/stack"
	"github.com/ams-cluster/ams-aws/internal/zones"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// subnetZones maps the subnets the stack created to their zones, as the
// mock (like AWS) records them.
func subnetZones(r *run) map[string]string {
	out := map[string]string{}
	for _, s := range r.ofType("aws:ec2/subnet:Subnet") {
		out[s.ID] = s.str("availabilityZone")
	}
	return out
}

// zonesOf are the distinct zones of subnet IDs, sorted; an unknown subnet
// shows as "?" so that a test sees it.
func zonesOf(byID map[string]string, subnets []string) []string {
	var out []string
	for _, id := range subnets {
		z, ok := byID[id]
		if !ok {
			z = "?" + id
		}
		if !slices.Contains(out, z) {
			out = append(out, z)
		}
	}
	sort.Strings(out)
	return out
}

// mongoMemberZones are the zones of the stack's MongoDB instances (tag
// ams:role=mongodb), one entry per instance, whatever their number: an
// instance's subnet is its own or that of its network interface.
func mongoMemberZones(t *testing.T, r *run, byID map[string]string) []string {
	t.Helper()
	var out []string
	for _, inst := range r.ofType("aws:ec2/instance:Instance") {
		if inst.str("tags.ams:role") != "mongodb" {
			continue
		}
		subnet := inst.str("subnetId")
		if subnet == "" {
			nic := r.byID(inst.str("networkInterfaces.0.networkInterfaceId"))
			if nic == nil {
				t.Fatalf("MongoDB instance %s has neither a subnet nor a known network interface", inst.Name)
			}
			subnet = nic.str("subnetId")
		}
		out = append(out, zonesOf(byID, []string{subnet})...)
	}
	return out
}

// placementOf is where the deployed stack runs each function, read from
// the resources it registered.
func placementOf(t *testing.T, r *run) zones.Placement {
	t.Helper()
	byID := subnetZones(r)
	var all []string
	for _, z := range byID {
		if !slices.Contains(all, z) {
			all = append(all, z)
		}
	}
	sort.Strings(all)
	p := zones.Placement{
		Zones:    all,
		Origin:   zonesOf(byID, stringsAt(r.one(t, "aws:autoscaling/group:Group", "-origin"), "vpcZoneIdentifiers")),
		Edge:     zonesOf(byID, stringsAt(r.one(t, "aws:autoscaling/group:Group", "-edge"), "vpcZoneIdentifiers")),
		Database: mongoMemberZones(t, r, byID),
	}
	for _, lb := range r.ofType("aws:lb/loadBalancer:LoadBalancer") {
		if lb.str("loadBalancerType") == "network" {
			p.Ingest = zonesOf(byID, stringsAt(lb, "subnets"))
		} else {
			p.LoadBalancer = zonesOf(byID, stringsAt(lb, "subnets"))
		}
	}
	return p
}

// TestZoneLayoutPlacesTheGroups: each layout puts the groups in its zones,
// and the load balancers stay in every zone whatever the layout.
func TestZoneLayoutPlacesTheGroups(t *testing.T) {
	for _, tc := range []struct {
		layout, zoneCount string
		origin, edge      []string
	}{
		{"single", "2", []string{"eu-central-1a"}, []string{"eu-central-1a"}},
		{"single", "3", []string{"eu-central-1a"}, []string{"eu-central-1a"}},
		{"split", "2", []string{"eu-central-1a"}, []string{"eu-central-1b"}},
		{"split", "3", []string{"eu-central-1a"}, []string{"eu-central-1b"}},
		{"spread", "2", []string{"eu-central-1a", "eu-central-1b"}, []string{"eu-central-1a", "eu-central-1b"}},
		{"spread", "3", []string{"eu-central-1a", "eu-central-1b", "eu-central-1c"}, []string{"eu-central-1a", "eu-central-1b", "eu-central-1c"}},
	} {
		t.Run(tc.layout+"/"+tc.zoneCount, func(t *testing.T) {
			r := deploy(t, map[string]string{"zoneLayout": tc.layout, "zoneCount": tc.zoneCount})
			p := placementOf(t, r)
			if fmt.Sprint(len(p.Zones)) != tc.zoneCount {
				t.Fatalf("subnets in %d zones, want %s", len(p.Zones), tc.zoneCount)
			}
			if !slices.Equal(p.Origin, tc.origin) || !slices.Equal(p.Edge, tc.edge) {
				t.Errorf("origins in %v, edges in %v; want %v and %v", p.Origin, p.Edge, tc.origin, tc.edge)
			}
			// Each group lists a zone once (Auto Scaling balances over subnets).
			for _, role := range []string{"-origin", "-edge"} {
				if ids := stringsAt(r.one(t, "aws:autoscaling/group:Group", role), "vpcZoneIdentifiers"); len(ids) != len(zonesOf(subnetZones(r), ids)) {
					t.Errorf("group %s lists subnets %v, not one per zone", role, ids)
				}
			}
			if !slices.Equal(p.LoadBalancer, p.Zones) || !slices.Equal(p.Ingest, p.Zones) {
				t.Errorf("load balancers in %v (ALB) and %v (NLB), want every zone %v", p.LoadBalancer, p.Ingest, p.Zones)
			}
			if !slices.Equal(p.Database, []string{"eu-central-1a"}) {
				t.Errorf("MongoDB in %v, want the first zone", p.Database)
			}
		})
	}
}

// TestZoneLayoutDefaults: the dev stack keeps the seed's single zone, the
// production profile spreads.
func TestZoneLayoutDefaults(t *testing.T) {
	dev := placementOf(t, deploy(t, map[string]string{"zoneCount": "3"}))
	if !slices.Equal(dev.Origin, []string{"eu-central-1a"}) || !slices.Equal(dev.Edge, []string{"eu-central-1a"}) {
		t.Errorf("dev: origins in %v, edges in %v; want the first zone (single)", dev.Origin, dev.Edge)
	}
	r := runProgram(t, stackConfig(t, "Pulumi.prod.yaml", map[string]string{"certificateArn": testCertificate}))
	if r.err != nil {
		t.Fatal(r.err)
	}
	prod := placementOf(t, r)
	if len(prod.Zones) != 3 || !slices.Equal(prod.Origin, prod.Zones) || !slices.Equal(prod.Edge, prod.Zones) {
		t.Errorf("prod: origins in %v, edges in %v; want every zone of %v (spread)", prod.Origin, prod.Edge, prod.Zones)
	}
}

// loadConfig runs LoadConfig alone under the mocks with the dev stack's
// configuration and overrides.
func loadConfig(t *testing.T, overrides map[string]string) (*stack.Config, error) {
	t.Helper()
	var cfg *stack.Config
	var loadErr error
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		cfg, loadErr = stack.LoadConfig(ctx)
		return nil
	}, pulumi.WithMocks(project, "dev", newMocks()), func(info *pulumi.RunInfo) {
		info.Config = stackConfig(t, "Pulumi.dev.yaml", overrides)
	})
	if err != nil {
		t.Fatal(err)
	}
	return cfg, loadErr
}

// TestSpreadAcrossZonesIsDeprecated: the old key keeps working, with a
// warning that names the new one, and must agree with zoneLayout.
func TestSpreadAcrossZonesIsDeprecated(t *testing.T) {
	for _, tc := range []struct {
		name       string
		config     map[string]string
		want       zones.Layout
		warns      bool
		errorNames []string
	}{
		{"old key alone, true", map[string]string{"spreadAcrossZones": "true"}, zones.Spread, true, nil},
		{"old key alone, false (the schema default)", map[string]string{"spreadAcrossZones": "false"}, zones.Single, false, nil},
		{"both, agreeing", map[string]string{"spreadAcrossZones": "true", "zoneLayout": "spread"}, zones.Spread, true, nil},
		{"new key with the old key's default", map[string]string{"spreadAcrossZones": "false", "zoneLayout": "split"}, zones.Split, false, nil},
		{"new key alone", map[string]string{"spreadAcrossZones": "<unset>", "zoneLayout": "spread"}, zones.Spread, false, nil},
		{"neither", map[string]string{"spreadAcrossZones": "<unset>", "zoneLayout": "<unset>"}, zones.Single, false, nil},
		{"both, disagreeing (single)", map[string]string{"spreadAcrossZones": "true", "zoneLayout": "single"}, "", false, []string{"spreadAcrossZones", "zoneLayout"}},
		{"both, disagreeing (split)", map[string]string{"spreadAcrossZones": "true", "zoneLayout": "split"}, "", false, []string{"spreadAcrossZones", "zoneLayout"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := loadConfig(t, tc.config)
			if tc.errorNames != nil {
				if err == nil {
					t.Fatalf("accepted %v as %s", tc.config, cfg.ZoneLayout)
				}
				for _, key := range tc.errorNames {
					if !strings.Contains(err.Error(), key) {
						t.Errorf("message does not name %s:\n%v", key, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.ZoneLayout != tc.want {
				t.Errorf("layout %q, want %q", cfg.ZoneLayout, tc.want)
			}
			warned := slices.ContainsFunc(cfg.Warnings, func(w string) bool {
				return strings.Contains(w, "spreadAcrossZones is deprecated") && strings.Contains(w, "ams-cluster:zoneLayout: spread")
			})
			if warned != tc.warns {
				t.Errorf("deprecation warning %v, want %v; warnings %q", warned, tc.warns, cfg.Warnings)
			}
		})
	}
}

// TestZoneLayoutRejectsBadValues: a bad layout, and split without two zones.
func TestZoneLayoutRejectsBadValues(t *testing.T) {
	for _, tc := range []struct {
		name   string
		config map[string]string
		keys   []string
	}{
		{"unknown layout", map[string]string{"zoneLayout": "multi"}, []string{"zoneLayout"}},
		{"layout in capitals", map[string]string{"zoneLayout": "Spread"}, []string{"zoneLayout"}},
		{"split with one zone", map[string]string{"zoneLayout": "split", "zoneCount": "1"}, []string{"zoneLayout", "zoneCount"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rejectedConfig(t, tc.config, append([]string{"ams-cluster:zoneLayout = ", "accepted: "}, tc.keys...))
		})
	}
}

// ----- What survives the loss of a zone ----------------------------------------

const (
	zoneTableBegin = "<!-- zone-table:begin (generated by TestZoneFailureTable) -->"
	zoneTableEnd   = "<!-- zone-table:end -->"
)

// zoneRows deploys every layout over three zones with members MongoDB
// members and reads each placement from the registered resources.
func zoneRows(t *testing.T, members string) ([]zones.Row, error) {
	t.Helper()
	var rows []zones.Row
	for _, l := range zones.Layouts {
		cfg := map[string]string{"zoneLayout": string(l), "zoneCount": "3"}
		if members != "1" {
			cfg["mongoMembers"] = members
		}
		r := runProgram(t, stackConfig(t, "Pulumi.dev.yaml", cfg))
		if r.err != nil {
			return nil, r.err
		}
		p := placementOf(t, r)
		rows = append(rows, zones.Row{Layout: l, Members: len(p.Database), Placement: p})
	}
	return rows, nil
}

// zoneTableFile is the guide that holds the zone-failure table.
const zoneTableFile = "../docs/operating.md"

// documentedZoneTable is the table between the markers in zoneTableFile.
func documentedZoneTable(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(zoneTableFile)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), zoneTableBegin+"\n")
	table, _, ok2 := strings.Cut(rest, zoneTableEnd)
	if !ok || !ok2 {
		t.Fatalf("%s has no section between %q and %q", zoneTableFile, zoneTableBegin, zoneTableEnd)
	}
	return table
}

// TestZoneFailureTable computes, from the resources the stack registers
// for each layout and MongoDB member count, which zone's loss keeps
// publishing, playing and the panel working, and wants the operating
// guide's table
// to say exactly that.
func TestZoneFailureTable(t *testing.T) {
	one, err := zoneRows(t, "1")
	if err != nil {
		t.Fatal(err)
	}
	first := one[0].Placement.Zones[0]
	for _, row := range one {
		if row.Members != 1 || !slices.Equal(row.Placement.Database, []string{first}) {
			t.Fatalf("%s: MongoDB members in %v, want one in %s", row.Layout, row.Placement.Database, first)
		}
	}
	three, err := zoneRows(t, "3")
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range three {
		if row.Members != 3 {
			t.Fatalf("%s with mongoMembers 3: %d MongoDB instances registered, want 3", row.Layout, row.Members)
		}
	}
	rows := append(append([]zones.Row{}, one...), three...)
	byKey := map[string]zones.Placement{}
	for _, row := range rows {
		byKey[fmt.Sprintf("%s/%d", row.Layout, row.Members)] = row.Placement
	}

	t.Run("single loses everything with the first zone", func(t *testing.T) {
		for _, members := range []string{"1", "3"} {
			if got := byKey["single/"+members].Survive(first); got != (zones.Survival{}) {
				t.Errorf("single, %s member(s): losing %s leaves %s; want nothing: every node is in that zone", members, first, got)
			}
		}
	})
	t.Run("spread with three members survives any zone", func(t *testing.T) {
		p := byKey["spread/3"]
		for _, z := range p.Zones {
			if got := p.Survive(z); got != (zones.Survival{Publish: true, Play: true, Panel: true}) {
				t.Errorf("spread, 3 members: losing %s leaves %s; want everything", z, got)
			}
		}
	})
	t.Run("one member: its zone is the cluster's", func(t *testing.T) {
		for _, l := range zones.Layouts {
			if got := byKey[string(l)+"/1"].Survive(first); got != (zones.Survival{}) {
				t.Errorf("%s, 1 member: losing the database's zone %s leaves %s; want nothing", l, first, got)
			}
		}
	})
	t.Run("the operating guide says so", func(t *testing.T) {
		want := zones.Table(rows)
		if got := documentedZoneTable(t); got != want {
			t.Errorf("%s's zone table differs from what the stack's resources give; replace it with:\n%s\nit has:\n%s", zoneTableFile, want, got)
		}
	})
}

// policyStatements parses an IAM policy document.
func policyStatements(t *testing.T, doc string) []map[string]any {
	t.Helper()
	var p struct {
		Statement []map[string]any
	}
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		t.Fatalf("policy is not JSON: %v\n%s", err, doc)
	}
	return p.Statement
}
