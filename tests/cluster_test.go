package tests

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/ams-cluster/ams-aws/components"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

const testCertificate = "arn:aws:acm:eu-central-1:123456789012:certificate/0f3c2d1e-4b5a-4c6d-8e7f-9a0b1c2d3e4f"

// seedLike is the seed guide's cluster: m5 instances, groups scaling to 10 at 60 % CPU, HTTPS.
func seedLike() map[string]string {
	return map[string]string{
		"mongoInstanceType": "m5.xlarge", "originInstanceType": "m5.2xlarge", "edgeInstanceType": "m5.2xlarge",
		"originMaxSize": "10", "edgeMaxSize": "10", "originCpuTargetPercent": "60", "edgeCpuTargetPercent": "60",
		"certificateArn": testCertificate,
	}
}

// roleOfTargetGroup follows a target group ARN to the scaling group that joins it.
func roleOfTargetGroup(t *testing.T, r *run, arn string) string {
	t.Helper()
	var roles []string
	for _, asg := range r.ofType("aws:autoscaling/group:Group") {
		for _, tg := range asg.input("targetGroupArns").ArrayValue() {
			if unsecret(tg).StringValue() == arn {
				roles = append(roles, asgTag(asg, "ams:role"))
			}
		}
	}
	if len(roles) != 1 {
		t.Fatalf("target group %s is joined by %d scaling groups (%v), want 1", arn, len(roles), roles)
	}
	return roles[0]
}

func asgTag(asg *registered, key string) string {
	for _, tag := range asg.input("tags").ArrayValue() {
		o := unsecret(tag).ObjectValue()
		if o["key"].StringValue() == key {
			return o["value"].StringValue()
		}
	}
	return ""
}

func TestTargetGroupsNoticeADeadNodeWithin30Seconds(t *testing.T) {
	r := deploy(t, nil)
	groups := r.albTargetGroups()
	if len(groups) != 2 {
		t.Fatalf("%d target groups, want origin and edge", len(groups))
	}
	for _, tg := range groups {
		role := roleOfTargetGroup(t, r, tg.ID)
		if tg.str("port") != "5080" || tg.str("protocol") != "HTTP" {
			t.Errorf("%s target group forwards to %s %s, want HTTP 5080", role, tg.str("protocol"), tg.str("port"))
		}
		hc := func(k string) string { return tg.str("healthCheck." + k) }
		// The node agent's capacity-aware endpoint, not Ant Media's liveness.
		if hc("path") != components.HealthPath || hc("port") != strconv.Itoa(components.HealthPort) || hc("matcher") != "200" {
			t.Errorf("%s health check GET :%s%s expecting %s, want :%d%s expecting 200", role, hc("port"), hc("path"), hc("matcher"), components.HealthPort, components.HealthPath)
		}
		if notice := tg.num("healthCheck.interval") * tg.num("healthCheck.unhealthyThreshold"); notice > 30 || notice <= 0 {
			t.Errorf("%s target group notices a dead node after %v s, want within 30 s", role, notice)
		}
		sticky := tg.str("stickiness.enabled") == "true"
		if sticky != (role == "origin") {
			t.Errorf("%s target group stickiness = %v, want it on the origin group only", role, sticky)
		}
	}
	alb := r.alb(t)
	if alb.num("idleTimeout") < 300 {
		t.Errorf("idle timeout %v s, WebSocket signaling needs well above 60 s", alb.num("idleTimeout"))
	}
	if n := len(alb.input("subnets").ArrayValue()); n < 2 {
		t.Errorf("load balancer spans %d subnets, needs two zones", n)
	}
}

// sources of the reachability matrix.
var (
	internet = source{name: "internet", addr: netip.MustParseAddr("198.51.100.23")}
	admin    = source{name: "admin", addr: netip.MustParseAddr("203.0.113.7")}
	lbNode   = source{name: "loadbalancer", group: "loadbalancer"}
	amsNode  = source{name: "ams", group: "ams"}
	mongo    = source{name: "mongodb", group: "mongodb"}
)

func TestReachabilityMatrix(t *testing.T) {
	const webrtc = "udp/50000 udp/55000 udp/60000"
	for _, tc := range []struct {
		name   string
		config map[string]string
		want   map[string]string
	}{
		{"dev, no certificate, no SSH", nil, map[string]string{
			"internet -> loadbalancer": "tcp/5080 tcp/80", "admin -> loadbalancer": "tcp/5080 tcp/80",
			"loadbalancer -> loadbalancer": "", "ams -> loadbalancer": "", "mongodb -> loadbalancer": "",
			"internet -> ams": webrtc, "admin -> ams": webrtc,
			"loadbalancer -> ams": "tcp/5080", "ams -> ams": "tcp/5000 tcp/5080", "mongodb -> ams": "",
			"internet -> mongodb": "", "admin -> mongodb": "", "loadbalancer -> mongodb": "",
			"ams -> mongodb": "tcp/27017", "mongodb -> mongodb": "",
		}},
		{"certificate and admin network", map[string]string{"certificateArn": testCertificate, "adminCidr": "203.0.113.7/32"}, map[string]string{
			"internet -> loadbalancer": "tcp/443 tcp/5080 tcp/5443 tcp/80", "admin -> loadbalancer": "tcp/443 tcp/5080 tcp/5443 tcp/80",
			"loadbalancer -> loadbalancer": "", "ams -> loadbalancer": "", "mongodb -> loadbalancer": "",
			"internet -> ams": webrtc, "admin -> ams": "tcp/22 " + webrtc,
			"loadbalancer -> ams": "tcp/5080", "ams -> ams": "tcp/5000 tcp/5080", "mongodb -> ams": "",
			"internet -> mongodb": "", "admin -> mongodb": "tcp/22", "loadbalancer -> mongodb": "",
			"ams -> mongodb": "tcp/27017", "mongodb -> mongodb": "",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := deploy(t, tc.config)
			got := newNetwork(t, r).matrix([]source{internet, admin, lbNode, amsNode, mongo})
			for _, k := range keys(tc.want) {
				if got[k] != tc.want[k] {
					t.Errorf("%-28s open %-40q want %q", k, got[k], tc.want[k])
				}
			}
			if len(got) != len(tc.want) {
				t.Errorf("matrix has %d cells, want %d", len(got), len(tc.want))
			}
		})
	}
}

func TestAMSUserDataJoinsTheClusterThroughTheMongoURLParameter(t *testing.T) {
	r := deploy(t, nil)
	urlParam := r.one(t, "aws:ssm/parameter:Parameter", "-mongo-url")
	nic := r.one(t, "aws:ec2/networkInterface:NetworkInterface", "-mongo")
	appPassword := r.one(t, "random:index/randomPassword:RandomPassword", "-mongo-app-password").State["result"]
	wantURL := fmt.Sprintf("mongodb://ams:%s@%s:27017", unsecret(appPassword).StringValue(), nic.State["privateIp"].StringValue())
	if v := urlParam.input("value"); !v.IsSecret() || unsecret(v).StringValue() != wantURL {
		t.Errorf("URL parameter value secret=%v, want the secret %s", v.IsSecret(), redact(wantURL))
	}
	if urlParam.str("type") != "SecureString" {
		t.Errorf("URL parameter type %q, want SecureString", urlParam.str("type"))
	}
	// What the nodes do with the parameter is proven in the node sandbox
	// (boot_test.go); here: they carry its name, never its value.
	for _, lt := range r.ofType("aws:ec2/launchTemplate:LaunchTemplate") {
		script := userData(t, lt)
		role := strings.TrimPrefix(lt.Name, "ams-cluster-dev-")
		if !strings.Contains(script, "readonly DATABASE_URL_PARAMETER='"+urlParam.str("name")+"'") {
			t.Errorf("%s user data does not name the URL parameter %s", role, urlParam.str("name"))
		}
		if strings.Contains(script, wantURL) || strings.Contains(script, nic.State["privateIp"].StringValue()) {
			t.Errorf("%s user data carries the database address instead of the parameter name", role)
		}
	}
}

func TestScalingFollowsConfigurationPerRole(t *testing.T) {
	r := deploy(t, map[string]string{
		"originMinSize": "2", "originDesiredCapacity": "3", "originMaxSize": "10", "originCpuTargetPercent": "55",
		"edgeMinSize": "1", "edgeMaxSize": "8", "edgeCpuTargetPercent": "70", "healthCheckGraceSeconds": "420",
	})
	want := map[string][4]string{"origin": {"2", "3", "10", "55"}, "edge": {"1", "1", "8", "70"}}
	for _, asg := range r.ofType("aws:autoscaling/group:Group") {
		role := asgTag(asg, "ams:role")
		w := want[role]
		if got := [3]string{asg.str("minSize"), asg.str("desiredCapacity"), asg.str("maxSize")}; got != [3]string{w[0], w[1], w[2]} {
			t.Errorf("%s min/desired/max = %v, want %v", role, got, w[:3])
		}
		// Replacement on EC2 status only: a slow or full node leaves the
		// load balancer's rotation but is never terminated for it.
		if asg.str("healthCheckType") != "EC2" || asg.str("healthCheckGracePeriod") != "420" {
			t.Errorf("%s health check %s grace %s, want EC2 420", role, asg.str("healthCheckType"), asg.str("healthCheckGracePeriod"))
		}
		if !slices.Contains(asg.IgnoreChanges, "desiredCapacity") {
			t.Errorf("%s: a redeploy would reset the capacity that scaling chose", role)
		}
		if asg.str("instanceRefresh.strategy") != "Rolling" || asg.str("instanceRefresh.preferences.minHealthyPercentage") != "100" {
			t.Errorf("%s: launch template changes must roll with no capacity loss, refresh = %v", role, asg.input("instanceRefresh"))
		}
		lt := r.byID(asg.str("launchTemplate.id"))
		if lt == nil {
			t.Fatalf("%s group uses launch template %q, which the stack did not create", role, asg.str("launchTemplate.id"))
		}
		latest := strconv.FormatFloat(unsecret(lt.State["latestVersion"]).NumberValue(), 'f', -1, 64)
		if got := asg.str("launchTemplate.version"); got != latest {
			t.Errorf("%s group uses launch template version %q, want the latest, %q", role, got, latest)
		}
		var policy *registered
		for _, p := range r.ofType("aws:autoscaling/policy:Policy") {
			if p.str("autoscalingGroupName") == asg.State["name"].StringValue() && p.str("policyType") == "TargetTrackingScaling" &&
				p.str("targetTrackingConfiguration.predefinedMetricSpecification.predefinedMetricType") != "" {
				policy = p
			}
		}
		if policy == nil {
			t.Fatalf("%s group has no scaling policy", role)
		}
		if policy.str("policyType") != "TargetTrackingScaling" ||
			policy.str("targetTrackingConfiguration.predefinedMetricSpecification.predefinedMetricType") != "ASGAverageCPUUtilization" ||
			policy.str("targetTrackingConfiguration.targetValue") != w[3] {
			t.Errorf("%s policy %s on %s target %s, want TargetTrackingScaling on ASGAverageCPUUtilization target %s", role,
				policy.str("policyType"), policy.str("targetTrackingConfiguration.predefinedMetricSpecification.predefinedMetricType"),
				policy.str("targetTrackingConfiguration.targetValue"), w[3])
		}
		if asgTag(asg, "ams:stack") != "dev" {
			t.Errorf("%s instances are not tagged with the stack", role)
		}
	}
}

func TestAMSImageIsTheMarketplaceProductOrThePinnedImage(t *testing.T) {
	r := deploy(t, nil)
	for _, lt := range r.ofType("aws:ec2/launchTemplate:LaunchTemplate") {
		if lt.str("imageId") != amsAMI {
			t.Errorf("%s image %q, want the newest Marketplace image %q", lt.Name, lt.str("imageId"), amsAMI)
		}
		if lt.str("blockDeviceMappings.0.deviceName") != "/dev/sda1" {
			t.Errorf("%s encrypts %q, want the image's root device", lt.Name, lt.str("blockDeviceMappings.0.deviceName"))
		}
	}
	found := false
	for _, c := range r.calls {
		if c.Token == "aws:ec2/getAmi:getAmi" && strings.Contains(fmt.Sprint(c.Args["owners"]), "aws-marketplace") {
			found = true
		}
	}
	if !found {
		t.Errorf("no Marketplace image look-up by owner aws-marketplace")
	}
	r = deploy(t, map[string]string{"amsImageId": "ami-0fedcba9876543210"})
	for _, lt := range r.ofType("aws:ec2/launchTemplate:LaunchTemplate") {
		if lt.str("imageId") != "ami-0fedcba9876543210" {
			t.Errorf("%s image %q, want the pinned image", lt.Name, lt.str("imageId"))
		}
	}
}

// TestOriginAndEdgeDifferOnlyWhereIntended compares every resource of the
// two scaling groups field by field, with the role's name taken out.
func TestOriginAndEdgeDifferOnlyWhereIntended(t *testing.T) {
	r := deploy(t, map[string]string{
		"originInstanceType": "c5.2xlarge", "edgeInstanceType": "c5.xlarge",
		"originMaxSize": "6", "edgeMaxSize": "12", "originCpuTargetPercent": "50", "edgeCpuTargetPercent": "65",
	})
	refs := map[string]string{}
	for _, res := range r.resources {
		for _, id := range []string{res.ID, stateString(res, "arn"), stateString(res, "name")} {
			if id != "" && len(id) > 6 {
				refs[id] = "ref(" + res.Type + " " + res.Name + ")"
			}
		}
	}
	roleWord := regexp.MustCompile(`\b(origin|edge)\b`)
	normalize := func(value string) string {
		if ref, ok := refs[value]; ok {
			value = ref
		} else if _, err := base64.StdEncoding.DecodeString(value); err == nil && len(value) > 100 {
			value = userData(t, &registered{Inputs: resource.PropertyMap{"userData": resource.NewProperty(value)}})
		}
		// Either role's name reads as ROLE: shared text names both.
		return roleWord.ReplaceAllString(value, "ROLE")
	}
	fields := func(role string) map[string]string {
		out := map[string]string{}
		group := r.one(t, "ams:cluster:ScalingGroup", "-"+role)
		for _, res := range r.resources {
			if res.Parent != group.URN {
				continue
			}
			kind := res.Type + " " + strings.ReplaceAll(res.Name, role, "ROLE")
			for path, l := range leaves(res.Inputs) {
				out[kind+" "+path] = normalize(l.value)
			}
		}
		return out
	}
	origin, edge := fields("origin"), fields("edge")
	if len(origin) < 40 {
		t.Fatalf("only %d origin fields found", len(origin))
	}
	// Only origins protect themselves from scale-in (while publishing): their
	// instance policy grants exactly that one more action, and no other.
	const protect = `,"autoscaling:SetInstanceProtection"`
	policy := "aws:iam/rolePolicy:RolePolicy ams-cluster-dev-ROLE policy"
	if strings.Count(origin[policy], protect) != 1 || strings.Contains(edge[policy], protect) {
		t.Errorf("origin policy grants %s %d times, edge policy %d times; want only origins, once",
			protect[1:], strings.Count(origin[policy], protect), strings.Count(edge[policy], protect))
	}
	origin[policy] = strings.Replace(origin[policy], protect, "", 1)
	var differ []string
	for k := range origin {
		if origin[k] != edge[k] {
			t.Logf("%s:\n origin %.300s\n   edge %.300s", k, origin[k], edge[k])
			differ = append(differ, k)
		}
	}
	for k := range edge {
		if _, ok := origin[k]; !ok {
			differ = append(differ, k+" (edge only)")
		}
	}
	sort.Strings(differ)
	want := []string{
		"aws:autoscaling/group:Group ams-cluster-dev-ROLE maxSize",
		// Origins also join the RTMP and SRT target groups of the ingest load balancer.
		"aws:autoscaling/group:Group ams-cluster-dev-ROLE targetGroupArns.1",
		"aws:autoscaling/group:Group ams-cluster-dev-ROLE targetGroupArns.2",
		"aws:autoscaling/policy:Policy ams-cluster-dev-ROLE-cpu targetTrackingConfiguration.targetValue",
		// Edges track viewers per node, origins publishers, each against
		// its own per-node limit.
		"aws:autoscaling/policy:Policy ams-cluster-dev-ROLE-sessions targetTrackingConfiguration.customizedMetricSpecification.metricName",
		"aws:autoscaling/policy:Policy ams-cluster-dev-ROLE-sessions targetTrackingConfiguration.targetValue",
		// The CPU surge alarm fires a margin above each role's CPU target.
		"aws:cloudwatch/metricAlarm:MetricAlarm ams-cluster-dev-ROLE-surge-cpu threshold",
		"aws:ec2/launchTemplate:LaunchTemplate ams-cluster-dev-ROLE instanceType",
		// The agent's per-node limits follow the instance type.
		"aws:ec2/launchTemplate:LaunchTemplate ams-cluster-dev-ROLE userData",
	}
	if strings.Join(differ, "\n") != strings.Join(want, "\n") {
		t.Errorf("origin and edge differ in:\n  %s\nwant only:\n  %s", strings.Join(differ, "\n  "), strings.Join(want, "\n  "))
	}
}
