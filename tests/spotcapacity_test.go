package tests

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/ams-cluster/ams-aws/components"
	"github.com/ams-cluster/ams-aws/internal/mockaws"
	"github.com/ams-cluster/ams-aws/internal/plan"
)

// spotEdges is the dev stack with its edges on Spot above one On-Demand node.
func spotEdges(t *testing.T, extra map[string]string) *run {
	t.Helper()
	cfg := map[string]string{"edgeCapacity": "spot", "edgeOnDemandBase": "1", "edgeSpotPercent": "100"}
	for k, v := range extra {
		cfg[k] = v
	}
	r := runProgram(t, stackConfig(t, "Pulumi.dev.yaml", cfg))
	if r.err != nil {
		t.Fatalf("the dev stack with Spot edges does not build: %v", r.err)
	}
	return r
}

// TestSpotEdgesReachAWSAsAMixedInstancesPolicy: the edge group runs a
// mixed-instances policy over its launch template with the instance types
// of its size, capacity-optimized Spot above the On-Demand base, capacity
// rebalancing and no warm pool; the origin group is what it was.
func TestSpotEdgesReachAWSAsAMixedInstancesPolicy(t *testing.T) {
	r := spotEdges(t, nil)
	edge := r.one(t, "aws:autoscaling/group:Group", "-edge")
	lt := r.one(t, "aws:ec2/launchTemplate:LaunchTemplate", "-edge")
	expectInputs(t, edge, map[string]string{
		"capacityRebalance": "true",
		"mixedInstancesPolicy.instancesDistribution.onDemandBaseCapacity":                  "1",
		"mixedInstancesPolicy.instancesDistribution.onDemandPercentageAboveBaseCapacity":   "0",
		"mixedInstancesPolicy.instancesDistribution.spotAllocationStrategy":                "capacity-optimized",
		"mixedInstancesPolicy.launchTemplate.launchTemplateSpecification.launchTemplateId": lt.ID,
	})
	if !edge.input("launchTemplate").IsNull() {
		t.Errorf("the Spot edge group names its launch template twice (launchTemplate %v): AWS takes one or the other", edge.input("launchTemplate"))
	}
	if !edge.input("warmPool").IsNull() {
		t.Errorf("the Spot edge group has a warm pool %v: AWS refuses it", edge.input("warmPool"))
	}
	want, err := components.SpotInstanceTypes("c5.xlarge")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := 0; ; i++ {
		typ := edge.str("mixedInstancesPolicy.launchTemplate.overrides." + strconv.Itoa(i) + ".instanceType")
		if typ == "" {
			break
		}
		got = append(got, typ)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") || len(got) < 4 {
		t.Errorf("Spot edge instance types %v, want %v (the configured type first, several of its size)", got, want)
	}
	for _, typ := range got {
		if !strings.HasSuffix(typ, ".xlarge") || strings.Contains(strings.SplitN(typ, ".", 2)[0], "g") {
			t.Errorf("Spot instance type %s is not an x86_64 xlarge", typ)
		}
	}

	origin := r.one(t, "aws:autoscaling/group:Group", "-origin")
	if !origin.input("mixedInstancesPolicy").IsNull() || origin.str("capacityRebalance") == "true" {
		t.Errorf("the origin group is on Spot: mixedInstancesPolicy %v, capacityRebalance %q", origin.input("mixedInstancesPolicy"), origin.str("capacityRebalance"))
	}
	if origin.str("launchTemplate.id") == "" {
		t.Error("the origin group lost its launch template")
	}
	dev := devStack(t)
	for _, role := range []string{"origin", "edge"} {
		g := dev.one(t, "aws:autoscaling/group:Group", "-"+role)
		if !g.input("mixedInstancesPolicy").IsNull() || g.str("launchTemplate.id") == "" {
			t.Errorf("the default %s group is not On-Demand with its launch template", role)
		}
	}
}

// TestSpotEdgeConfigurationIsRefusedByKey: every refused Spot setting is
// reported under its key, all at once; a warm pool with Spot blames the
// warm pool key.
func TestSpotEdgeConfigurationIsRefusedByKey(t *testing.T) {
	for _, tc := range []struct {
		name   string
		config map[string]string
		bad    []string
	}{
		{"unknown capacity", map[string]string{"edgeCapacity": "cheap"}, []string{"edgeCapacity"}},
		{"Spot with a warm pool, out of range shares", map[string]string{
			"edgeCapacity": "spot", "edgeWarmPoolSize": "1", "edgeSpotPercent": "101", "edgeOnDemandBase": "3",
		}, []string{"edgeWarmPoolSize", "edgeSpotPercent", "edgeOnDemandBase"}},
		{"Spot on a family of no class", map[string]string{"edgeCapacity": "spot", "edgeInstanceType": "t3.large"}, []string{"edgeInstanceType"}},
		{"a zero percentage", map[string]string{"edgeCapacity": "spot", "edgeSpotPercent": "0"}, []string{"edgeSpotPercent"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runProgram(t, stackConfig(t, "Pulumi.dev.yaml", tc.config))
			if r.err == nil {
				t.Fatalf("%v is accepted", tc.config)
			}
			msgs := keyMessages(t, r.err.Error())
			for _, key := range tc.bad {
				if len(msgs[key]) != 1 {
					t.Errorf("%s: %d messages, want 1, in:\n%v", key, len(msgs[key]), r.err)
				}
			}
			if len(msgs) != len(tc.bad) {
				t.Errorf("keys blamed %v, want %v:\n%v", keys(msgs), tc.bad, r.err)
			}
		})
	}
}

// TestSpotEdgesSurgeAndCostHonestly: the plan's surge timeline of a Spot
// edge group is a cold launch (no warm pool), and its nodes above the
// On-Demand base are priced at the Spot discount.
func TestSpotEdgesSurgeAndCostHonestly(t *testing.T) {
	r := spotEdges(t, map[string]string{"edgeDesiredCapacity": "2", "edgeMinSize": "2", "edgeMaxSize": "4"})
	res := &mockaws.Result{}
	for _, reg := range r.resources {
		res.Resources = append(res.Resources, (*mockaws.Resource)(reg))
	}
	edge := (*mockaws.Resource)(r.one(t, "aws:autoscaling/group:Group", "-edge"))
	tl, err := components.Surge(plan.SurgeInputs(res, edge))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tl.String(), "cold launch") {
		t.Errorf("Spot edge surge %s, want a cold launch", tl)
	}
	var b strings.Builder
	if err := plan.New("dev", res).WriteText(&b); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	if !strings.Contains(text, "Spot, no warm pool") {
		t.Errorf("the plan does not say the edges run on Spot:\n%s", text)
	}
	e := plan.New("dev", res).EstimateCost(plan.ListPrices(), plan.DefaultAssumptions())
	spot, onDemand := 0.0, 0.0
	for _, l := range e.Lines {
		if strings.HasPrefix(l.Item, "c5.xlarge spot") {
			spot += l.Quantity
		}
		if strings.HasPrefix(l.Item, "c5.xlarge on-demand") && strings.Contains(l.Component, "edge") {
			onDemand += l.Quantity
		}
	}
	hours := plan.DefaultAssumptions().HoursPerMonth
	if spot != hours || onDemand != hours {
		t.Errorf("edge instance-hours: %g Spot and %g On-Demand, want %g each (base 1 of 2)", spot, onDemand, hours)
	}
}

// TestOnlySpotEdgesMayLeaveTheirGroup: a Spot edge's role adds one action,
// TerminateInstanceInAutoScalingGroup, on its own group only (the group
// tag condition); origins and On-Demand edges keep exactly their
// lifecycle actions.
func TestOnlySpotEdgesMayLeaveTheirGroup(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    *run
		role string
		want []any
	}{
		{"Spot edge", spotEdges(t, nil), "edge", append(lifecycleActions("edge"), "autoscaling:TerminateInstanceInAutoScalingGroup")},
		{"origin beside Spot edges", spotEdges(t, nil), "origin", lifecycleActions("origin")},
		{"On-Demand edge", devStack(t), "edge", lifecycleActions("edge")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lt := tc.r.one(t, "aws:ec2/launchTemplate:LaunchTemplate", "-"+tc.role)
			var found bool
			for _, st := range policyOf(t, tc.r, lt.str("iamInstanceProfile.arn"))["Statement"].([]any) {
				st := st.(map[string]any)
				if st["Sid"] != "OwnGroupLifecycle" {
					continue
				}
				found = true
				got, _ := json.Marshal(st["Action"])
				want, _ := json.Marshal(tc.want)
				if string(got) != string(want) {
					t.Errorf("actions %s, want %s", got, want)
				}
				cond, _ := json.Marshal(st["Condition"])
				if !strings.Contains(string(cond), `"autoscaling:ResourceTag/ams:group":"ams-cluster/dev/ams-cluster-dev-`+tc.role+`"`) {
					t.Errorf("not scoped to the node's own group: %s", cond)
				}
			}
			if !found {
				t.Error("no OwnGroupLifecycle statement")
			}
		})
	}
}

// TestOnlySpotEdgesWatchForNotices: the agent of a Spot edge reads the
// Spot notices (SPOT=yes: tests/spot drains on one); origins and On-Demand
// edges never spend the two metadata reads a reading.
func TestOnlySpotEdgesWatchForNotices(t *testing.T) {
	for _, tc := range []struct {
		name, role, want string
		r                *run
	}{
		{"Spot edge", "edge", "yes", spotEdges(t, nil)},
		{"origin beside Spot edges", "origin", "no", spotEdges(t, nil)},
		{"On-Demand edge", "edge", "no", devStack(t)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lt := tc.r.one(t, "aws:ec2/launchTemplate:LaunchTemplate", "-"+tc.role)
			agent := heredoc(t, userData(t, lt), "AGENT")
			if want := "readonly SPOT=" + tc.want + "\n"; !strings.Contains(agent, want) {
				t.Errorf("the agent lacks %q", strings.TrimSpace(want))
			}
		})
	}
}
