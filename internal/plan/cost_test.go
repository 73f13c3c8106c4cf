package plan_test

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/ams-cluster/ams-aws/internal/mockaws"
	"github.com/ams-cluster/ams-aws/internal/plan"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

var update = flag.Bool("update", false, "rewrite docs/cost.md from the estimates")

const certificate = "arn:aws:acm:eu-central-1:123456789012:certificate/0f3c2d1e-4b5a-4c6d-8e7f-9a0b1c2d3e4f"

// estimate runs a stack of the project under the mocks and prices it.
func estimate(t *testing.T, stack string, set map[string]string) *plan.Estimate {
	t.Helper()
	cfg, secrets, err := mockaws.StackConfig("../..", stack, set)
	if err != nil {
		t.Fatal(err)
	}
	r := mockaws.RunStack(mockaws.New(), stack, cfg, secrets)
	if r.Err != nil {
		t.Fatalf("stack %s %v: %v", stack, set, r.Err)
	}
	return plan.New(stack, r).EstimateCost(plan.ListPrices(), plan.DefaultAssumptions())
}

// quantity is the summed quantity of the lines of a component (by prefix)
// whose item starts with item.
func quantity(e *plan.Estimate, component, item string) float64 {
	q := 0.0
	for _, l := range e.Lines {
		if strings.HasPrefix(l.Component, component) && strings.HasPrefix(l.Item, item) {
			q += l.Quantity
		}
	}
	return q
}

func TestCostEstimateReadsTheRegisteredQuantities(t *testing.T) {
	type want struct {
		component, item string
		quantity        float64
	}
	for _, tc := range []struct {
		name  string
		stack string
		set   map[string]string
		want  []want
	}{
		{"dev", "dev", nil, []want{
			{"MongoNode", "t3.medium on-demand", 730},
			{"MongoNode", "gp3 root volumes", 20},
			{"MongoNode", "gp3 data volumes", 20},
			{"MongoNode", "Elastic IPs", 730},
			{"MongoNode", "EC2 detailed monitoring", 7},
			// mem_used_percent; disk used_percent of / and the data volume,
			// each per path, rolled up by path and by instance.
			{"MongoNode", "CloudWatch agent metrics", 6},
			{"MongoNode", "snapshots, 3 kept", 20 * (0.5 + 2*0.02)},
			{"ScalingGroup ams-cluster-dev-edge", "c5.xlarge on-demand, desired 1 of 1-2", 730},
			{"ScalingGroup ams-cluster-dev-edge", "c5.xlarge spot", 0},
			{"ScalingGroup ams-cluster-dev-origin", "c5.xlarge on-demand, desired 1 of 1-2", 730},
			{"ScalingGroup ams-cluster-dev-edge", "gp3 root volumes", 50},
			{"ScalingGroup ams-cluster-dev-edge", "gp3 root volumes (warm pool", 0},
			{"ScalingGroup ams-cluster-dev-edge", "auto-assigned public IPv4", 730},
			{"ScalingGroup ams-cluster-dev-edge", "CloudWatch agent metrics", 4},
			{"ScalingGroup ams-cluster-dev-edge", "streaming metrics, 1-second resolution", 4},
			// One request every 10 s (node agent) and every 60 s (CloudWatch agent).
			{"ScalingGroup ams-cluster-dev-edge", "PutMetricData requests", 730 * (360 + 60) / 1000.0},
			{"ScalingGroup ams-cluster-dev-edge", "alarms, per metric", 1},
			// The capacity surge alarm (10 s); CPU and sessions target tracking.
			{"ScalingGroup ams-cluster-dev-edge", "high-resolution alarms", 1},
			{"ScalingGroup ams-cluster-dev-edge", "target tracking alarms", 4},
			{"ClusterMonitoring", "alarms, per metric", 16},
			{"ClusterMonitoring", "dashboards", 1},
			{"ClusterLogs", "log ingestion", 3},
			{"ClusterLogs", "log storage, 14 days kept", 3 * 14 / 30.0},
			{"StreamingLoadBalancer", "application load balancer", 730},
			{"StreamingLoadBalancer", "load balancer public IPv4", 2 * 730},
			{"IngestLoadBalancer", "network load balancer", 730},
			{"AccessLogBucket", "access logs", 0},
		}},
		{"prod", "prod", map[string]string{"certificateArn": certificate}, []want{
			{"MongoNode", "m5.2xlarge on-demand", 3 * 730},
			{"MongoNode", "gp3 data volumes", 3 * 200},
			{"MongoNode", "Elastic IPs", 3 * 730},
			{"MongoNode", "snapshots, 30 kept", 600 * (0.5 + 29*0.02)},
			{"ScalingGroup ams-cluster-prod-edge", "m5.2xlarge on-demand, desired 2 of 2-40", 2 * 730},
			{"ScalingGroup ams-cluster-prod-origin", "m5.2xlarge on-demand, desired 2 of 2-20", 2 * 730},
			// The warm pool's two stopped nodes pay for their volumes only.
			{"ScalingGroup ams-cluster-prod-edge", "gp3 root volumes (warm pool, 2 stopped)", 2 * 50},
			{"ScalingGroup ams-cluster-prod-edge", "auto-assigned public IPv4", 2 * 730},
			{"ScalingGroup ams-cluster-prod-edge", "EC2 detailed monitoring", 2 * 7},
			{"ScalingGroup ams-cluster-prod-edge", "high-resolution alarms", 2},
			{"ScalingGroup ams-cluster-prod-origin", "high-resolution alarms", 2},
			{"ClusterMonitoring", "alarms, per metric", 26},
			{"ClusterLogs", "log ingestion", 7},
			{"StreamingLoadBalancer", "load balancer public IPv4", 3 * 730},
			{"AccessLogBucket", "access logs kept 180 days", 5 * 6},
		}},
		{"without ingest", "dev", map[string]string{"ingest": "false"}, []want{
			{"IngestLoadBalancer", "network load balancer", 0},
			{"StreamingLoadBalancer", "application load balancer", 730},
		}},
		{"warm pool and viewers", "dev", map[string]string{"edgeWarmPoolSize": "1", "edgeScaleViewersPerNode": "100"}, []want{
			{"ScalingGroup ams-cluster-dev-edge", "gp3 root volumes (warm pool, 1 stopped)", 50},
			{"ScalingGroup ams-cluster-dev-edge", "c5.xlarge on-demand", 730},
			{"ScalingGroup ams-cluster-dev-edge", "high-resolution alarms", 2},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := estimate(t, tc.stack, tc.set)
			for _, w := range tc.want {
				if got := quantity(e, w.component, w.item); got < w.quantity-1e-9 || got > w.quantity+1e-9 {
					t.Errorf("%s %q: quantity %g, want %g", w.component, w.item, got, w.quantity)
				}
			}
			if len(e.Unpriced) > 0 {
				t.Errorf("unpriced: %v", e.Unpriced)
			}
			if e.AtMax <= e.Total() {
				t.Errorf("at maximum sizes %.2f, not above the total %.2f", e.AtMax, e.Total())
			}
		})
	}
}

// TestEveryResourceTypeIsPricedOrFree: every resource type the program
// registers in any of these configurations is priced or listed as free,
// and a type the estimate does not know is reported, not silently free.
func TestEveryResourceTypeIsPricedOrFree(t *testing.T) {
	for _, tc := range []struct {
		stack string
		set   map[string]string
	}{
		{"dev", nil},
		{"prod", map[string]string{"certificateArn": certificate}},
		{"prod", map[string]string{"domainName": "live.example.com", "hostedZoneId": "Z0123456789ABCDEFGHIJ", "alertEmail": "ops@example.com", "adminCidr": "203.0.113.7/32"}},
	} {
		if u := estimate(t, tc.stack, tc.set).Unpriced; len(u) > 0 {
			t.Errorf("%s %v: not priced and not listed as free: %v", tc.stack, tc.set, u)
		}
	}
	r := &mockaws.Result{Resources: []*mockaws.Resource{
		{Type: "aws:rds/instance:Instance", Name: "db", URN: "urn:db", Custom: true, Inputs: resource.PropertyMap{}},
	}}
	e := plan.New("x", r).EstimateCost(plan.ListPrices(), plan.DefaultAssumptions())
	if len(e.Unpriced) != 1 || !strings.Contains(e.Unpriced[0], "aws:rds/instance:Instance") {
		t.Errorf("a new costly type is not reported: %v", e.Unpriced)
	}
}

// spotGroup is a registered group with a mixed-instances policy: an
// on-demand base of one and the rest on Spot.
func spotGroup() *mockaws.Result {
	props := func(m map[string]any) resource.PropertyMap { return resource.NewPropertyMapFromMap(m) }
	lt := &mockaws.Resource{Type: "aws:ec2/launchTemplate:LaunchTemplate", Name: "edge", URN: "urn:lt", ID: "lt-1", Custom: true,
		Inputs: props(map[string]any{"instanceType": "c5.xlarge", "blockDeviceMappings": []any{map[string]any{"ebs": map[string]any{"volumeType": "gp3", "volumeSize": 50}}}})}
	g := &mockaws.Resource{Type: "aws:autoscaling/group:Group", Name: "edge", URN: "urn:g", Custom: true,
		Inputs: props(map[string]any{
			"minSize": 1, "desiredCapacity": 4, "maxSize": 10,
			"tags": []any{map[string]any{"key": "ams:role", "value": "edge"}},
			"mixedInstancesPolicy": map[string]any{
				"launchTemplate":        map[string]any{"launchTemplateSpecification": map[string]any{"launchTemplateId": "lt-1"}, "overrides": []any{map[string]any{"instanceType": "c5.xlarge"}, map[string]any{"instanceType": "c6i.xlarge"}}},
				"instancesDistribution": map[string]any{"onDemandBaseCapacity": 1, "onDemandPercentageAboveBaseCapacity": 0, "spotAllocationStrategy": "capacity-optimized"},
			},
		})}
	return &mockaws.Result{Resources: []*mockaws.Resource{lt, g}}
}

func TestSpotGroupIsPricedAtTheDiscount(t *testing.T) {
	e := plan.New("spot", spotGroup()).EstimateCost(plan.ListPrices(), plan.DefaultAssumptions())
	if got := quantity(e, "(stack)", "c5.xlarge on-demand"); got != 730 {
		t.Errorf("on-demand base: %g instance-hours, want 730", got)
	}
	if got := quantity(e, "(stack)", "c5.xlarge spot"); got != 3*730 {
		t.Errorf("spot: %g instance-hours, want %d", got, 3*730)
	}
	for _, l := range e.Lines {
		if strings.HasPrefix(l.Item, "c5.xlarge spot") && (l.UnitPrice < 0.17*0.4-1e-9 || l.UnitPrice > 0.17*0.4+1e-9) {
			t.Errorf("spot price %g, want 60%% off $0.17", l.UnitPrice)
		}
	}
	if s := e.SpotSavings["edge"]; s < 730*0.17*0.6-1e-6 || s > 730*0.17*0.6+1e-6 {
		t.Errorf("Spot savings of the on-demand base %.2f", s)
	}
}

func TestTemplateEstimate(t *testing.T) {
	e := plan.AntMediaTemplateEstimate(plan.ListPrices(), plan.DefaultAssumptions())
	for _, w := range []struct {
		component, item string
		quantity        float64
	}{
		{"ScalingGroup origin", "c5.xlarge on-demand, desired 1 of 1-10", 730},
		{"ScalingGroup edge", "c5.xlarge on-demand, desired 2 of 2-10", 2 * 730},
		{"MongoDB instance", "c5.xlarge on-demand", 730},
		{"ScalingGroup edge", "gp2 root volumes", 20},
		{"load balancers", "network load balancer", 730},
	} {
		if got := quantity(e, w.component, w.item); got != w.quantity {
			t.Errorf("%s %q: %g, want %g", w.component, w.item, got, w.quantity)
		}
	}
}

const (
	costBegin = "<!-- cost:begin (go test ./internal/plan -run TestCostDoc -update) -->\n"
	costEnd   = "<!-- cost:end -->"
	// costSummaryBegin opens the README's copy of the comparison table.
	costSummaryBegin = "<!-- cost-summary:begin (go test ./internal/plan -run TestCostDoc -update) -->\n"
)

// TestCostDoc: docs/cost.md's tables are the estimates of dev, prod and
// Ant Media's template as the code computes them; `-update` rewrites them.
func TestCostDoc(t *testing.T) {
	a, p := plan.DefaultAssumptions(), plan.ListPrices()
	var b strings.Builder
	for _, d := range plan.AntMediaTemplateDescription() {
		b.WriteString("- " + d + "\n")
	}
	b.WriteString("\n")
	got := b.String() + plan.CostComparison([]*plan.Estimate{
		estimate(t, "dev", nil),
		estimate(t, "prod", map[string]string{"certificateArn": certificate}),
		plan.AntMediaTemplateEstimate(p, a),
	})
	checkMarkedBlock(t, "../../docs/cost.md", costBegin, costEnd, got)
	// The README shows the comparison table alone; docs/cost.md the rest.
	summary := got[strings.Index(got, "| monthly USD"):]
	if k := strings.Index(summary, "\n\n"); k >= 0 {
		summary = summary[:k+1]
	}
	checkMarkedBlock(t, "../../README.md", costSummaryBegin, costEnd, summary)
}

// checkMarkedBlock compares what file holds between begin and end with
// want, and rewrites it with -update.
func checkMarkedBlock(t *testing.T, file, begin, end, want string) {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the markers %q ... %q", file, begin, end)
	}
	if doc[i+len(begin):j] == want {
		return
	}
	if *update {
		if err := os.WriteFile(file, []byte(doc[:i+len(begin)]+want+doc[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Log(file + ": rewritten")
		return
	}
	t.Errorf("%s differs from the estimates; run `go test ./internal/plan -run TestCostDoc -update`", file)
}

// TestHighResolutionTargetTracking: a target tracking policy on a 10 s
// metric gets high-resolution alarms, billed as such.
func TestHighResolutionTargetTracking(t *testing.T) {
	pol := &mockaws.Resource{Type: "aws:autoscaling/policy:Policy", Name: "edge-viewers", URN: "urn:p", Custom: true,
		Inputs: resource.NewPropertyMapFromMap(map[string]any{
			"policyType": "TargetTrackingScaling",
			"targetTrackingConfiguration": map[string]any{"customizedMetricSpecification": map[string]any{
				"metrics": []any{map[string]any{"id": "m", "metricStat": map[string]any{"period": 10, "stat": "Average"}}},
			}},
		})}
	e := plan.New("x", &mockaws.Result{Resources: []*mockaws.Resource{pol}}).EstimateCost(plan.ListPrices(), plan.DefaultAssumptions())
	if len(e.Lines) != 1 || e.Lines[0].Quantity != 2 || e.Lines[0].UnitPrice != plan.ListPrices().HighResAlarmMetricMonth {
		t.Errorf("lines %+v, want two high-resolution alarms", e.Lines)
	}
}

// TestInstanceTypeWithoutAPriceIsReported: an instance type the table does
// not hold is left out of the total and named, never priced as zero.
func TestInstanceTypeWithoutAPriceIsReported(t *testing.T) {
	e := estimate(t, "dev", map[string]string{"edgeInstanceType": "c5.12xlarge"})
	if len(e.Unpriced) != 1 || !strings.Contains(e.Unpriced[0], "instance type c5.12xlarge") {
		t.Errorf("unpriced %v, want the edge's instance type", e.Unpriced)
	}
	if q := quantity(e, "ScalingGroup ams-cluster-dev-edge", "c5.12xlarge"); q != 0 {
		t.Errorf("an unpriced type has a line of %g instance-hours", q)
	}
	if q := quantity(e, "ScalingGroup ams-cluster-dev-edge", "gp3 root volumes"); q != 50 {
		t.Errorf("its root volume: %g GB-month, want 50", q)
	}
}
