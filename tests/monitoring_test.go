package tests

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/ams-cluster/ams-aws/components"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// metricRef is one CloudWatch metric an alarm or a graph watches.
type metricRef struct {
	namespace, name string
	dims            map[string]string
}

// alarmMetrics lists the metrics of an alarm: its own, or those of its metric queries.
func alarmMetrics(a *registered) []metricRef {
	dims := func(v resource.PropertyValue) map[string]string {
		out := map[string]string{}
		if v = unsecret(v); v.IsObject() {
			for k, d := range v.ObjectValue() {
				out[string(k)] = unsecret(d).StringValue()
			}
		}
		return out
	}
	if a.str("metricName") != "" {
		return []metricRef{{a.str("namespace"), a.str("metricName"), dims(a.input("dimensions"))}}
	}
	var out []metricRef
	if q := unsecret(a.input("metricQueries")); q.IsArray() {
		for _, e := range q.ArrayValue() {
			m := unsecret(e).ObjectValue()["metric"]
			if m = unsecret(m); !m.IsObject() {
				continue
			}
			o := m.ObjectValue()
			out = append(out, metricRef{unsecret(o["namespace"]).StringValue(), unsecret(o["metricName"]).StringValue(), dims(o["dimensions"])})
		}
	}
	return out
}

// resolve checks that every dimension of a metric names a resource the stack
// registered, of the kind the namespace speaks of, and returns them.
func (r *run) resolve(t *testing.T, where string, m metricRef) []*registered {
	t.Helper()
	var found []*registered
	bySuffix := func(typ, suffix string) *registered {
		for _, res := range r.ofType(typ) {
			if stateString(res, "arnSuffix") == suffix {
				return res
			}
		}
		return nil
	}
	if len(m.dims) == 0 {
		t.Errorf("%s: %s/%s has no dimension", where, m.namespace, m.name)
	}
	for k, v := range m.dims {
		var res *registered
		switch k {
		case "TargetGroup":
			res = bySuffix("aws:lb/targetGroup:TargetGroup", v)
		case "LoadBalancer":
			res = bySuffix("aws:lb/loadBalancer:LoadBalancer", v)
			if res != nil {
				kind := map[string]string{"AWS/ApplicationELB": "app/", "AWS/NetworkELB": "net/"}[m.namespace]
				if kind == "" || !strings.HasPrefix(v, kind) {
					t.Errorf("%s: load balancer %s under namespace %s", where, v, m.namespace)
				}
			}
		case "AutoScalingGroupName":
			for _, g := range r.ofType("aws:autoscaling/group:Group") {
				if stateString(g, "name") == v {
					res = g
				}
			}
		case "InstanceId":
			if res = r.byID(v); res != nil && res.Type != "aws:ec2/instance:Instance" {
				res = nil
			}
		case "path":
			if v != components.MongoDataPath {
				t.Errorf("%s: %s/%s watches path %q, not the data volume's mount point", where, m.namespace, m.name, v)
			}
			continue
		default:
			t.Errorf("%s: %s/%s has unexpected dimension %s=%s", where, m.namespace, m.name, k, v)
			continue
		}
		if res == nil {
			t.Errorf("%s: %s/%s dimension %s=%q names no registered resource", where, m.namespace, m.name, k, v)
			continue
		}
		found = append(found, res)
	}
	return found
}

func alarmsByName(r *run) map[string]*registered {
	out := map[string]*registered{}
	for _, a := range r.ofType("aws:cloudwatch/metricAlarm:MetricAlarm") {
		// Operator alarms; a group's surge alarms trigger scaling, not people.
		if p := r.byURN(a.Parent); p == nil || p.Type != "ams:cluster:ClusterMonitoring" {
			continue
		}
		out[strings.TrimPrefix(a.Name, "ams-cluster-dev-")] = a
	}
	return out
}

func stringsOf(v resource.PropertyValue) []string {
	var out []string
	if v = unsecret(v); v.IsArray() {
		for _, e := range v.ArrayValue() {
			out = append(out, unsecret(e).StringValue())
		}
	}
	return out
}

func TestEveryAlarmWatchesARegisteredResourceAndNotifiesTheTopic(t *testing.T) {
	r := deploy(t, nil)
	topic := stateString(r.one(t, "aws:sns/topic:Topic", "-alarms"), "arn")
	got := alarmsByName(r)
	want := []string{"5xx-rate", "edge-all-full", "edge-at-max", "edge-no-healthy", "ingest-rtmp-no-healthy", "ingest-srt-no-healthy",
		"mongo-cpu", "mongo-disk", "mongo-memory", "mongo-recover", "mongo-status-check", "origin-all-full", "origin-at-max", "origin-no-healthy"}
	if strings.Join(keys(got), " ") != strings.Join(want, " ") {
		t.Errorf("alarms %v, want %v", keys(got), want)
	}
	for name, a := range got {
		if !slices.Contains(stringsOf(a.input("alarmActions")), topic) || !slices.Contains(stringsOf(a.input("okActions")), topic) {
			t.Errorf("%s: alarm actions %v, OK actions %v; want the topic %s in both", name, stringsOf(a.input("alarmActions")), stringsOf(a.input("okActions")), topic)
		}
		if d := a.str("alarmDescription"); !strings.Contains(d, "First check") || len(d) < 80 {
			t.Errorf("%s: description %q does not say what broke and what to check first", name, d)
		}
		metrics := alarmMetrics(a)
		if len(metrics) == 0 {
			t.Errorf("%s watches no metric", name)
		}
		for _, m := range metrics {
			watched := r.resolve(t, name, m)
			// The per-role alarms watch their own role's resources.
			for _, role := range []string{"origin", "edge"} {
				if !strings.HasPrefix(name, role+"-") {
					continue
				}
				for _, res := range watched {
					if res.Type != "aws:lb/loadBalancer:LoadBalancer" && !strings.HasSuffix(res.Name, "-"+role) {
						t.Errorf("%s watches %s %s of another role", name, res.Type, res.Name)
					}
				}
			}
			if strings.HasPrefix(name, "ingest-") {
				port := strings.Split(name, "-")[1]
				for _, res := range watched {
					if res.Type == "aws:lb/targetGroup:TargetGroup" && !strings.HasSuffix(res.Name, "-"+port) {
						t.Errorf("%s watches target group %s", name, res.Name)
					}
				}
			}
		}
	}
	// With ingest off, no ingest alarm.
	off := alarmsByName(deploy(t, map[string]string{"ingest": "false"}))
	for name := range off {
		if strings.HasPrefix(name, "ingest-") {
			t.Errorf("ingest off, yet alarm %s exists", name)
		}
	}
}

func TestNoHealthyAlarmsFireAsSoonAsADeadNodeIsNoticed(t *testing.T) {
	for _, tc := range []struct {
		interval, unhealthy string
		periods             float64
	}{{"10", "2", 1}, {"30", "5", 3}, {"60", "2", 2}} {
		r := deploy(t, map[string]string{"healthCheckIntervalSeconds": tc.interval, "unhealthyThreshold": tc.unhealthy})
		for _, name := range []string{"origin-no-healthy", "edge-no-healthy", "ingest-rtmp-no-healthy"} {
			a := alarmsByName(r)[name]
			if a.num("period") != 60 || a.num("evaluationPeriods") != tc.periods {
				t.Errorf("%s with %ss x %s: period %v x %v, want 60 x %v", name, tc.interval, tc.unhealthy, a.num("period"), a.num("evaluationPeriods"), tc.periods)
			}
			expectInputs(t, a, map[string]string{"comparisonOperator": "LessThanThreshold", "threshold": "1", "statistic": "Minimum", "treatMissingData": "breaching"})
		}
	}
}

func TestMongoHostRecoversItselfAndCannotBeTerminated(t *testing.T) {
	r := deploy(t, nil)
	instance := r.one(t, "aws:ec2/instance:Instance", "-mongo")
	if instance.str("disableApiTermination") != "true" {
		t.Errorf("MongoDB instance: disableApiTermination = %q, want true", instance.str("disableApiTermination"))
	}
	a := alarmsByName(r)["mongo-recover"]
	expectInputs(t, a, map[string]string{
		"namespace": "AWS/EC2", "metricName": "StatusCheckFailed_System", "dimensions.InstanceId": instance.ID,
		"comparisonOperator": "GreaterThanOrEqualToThreshold", "threshold": "1", "statistic": "Maximum",
	})
	if actions := stringsOf(a.input("alarmActions")); !slices.Contains(actions, "arn:aws:automate:"+region+":ec2:recover") {
		t.Errorf("recovery alarm actions %v, want arn:aws:automate:%s:ec2:recover", actions, region)
	}
	for name, al := range alarmsByName(r) {
		if name != "mongo-recover" && strings.Contains(strings.Join(stringsOf(al.input("alarmActions")), " "), ":ec2:") {
			t.Errorf("%s has an EC2 action: only the system status check may recover the host", name)
		}
	}
	expectInputs(t, alarmsByName(r)["mongo-memory"], map[string]string{"metricName": "mem_used_percent", "threshold": "90"})
}

func TestThresholdsFollowConfiguration(t *testing.T) {
	got := alarmsByName(deploy(t, map[string]string{"mongoDiskAlarmPercent": "70", "mongoCpuAlarmPercent": "65", "mongoMemoryAlarmPercent": "75", "alarm5xxPercent": "2"}))
	for name, want := range map[string]string{"mongo-disk": "70", "mongo-cpu": "65", "mongo-memory": "75", "5xx-rate": "2"} {
		expectInputs(t, got[name], map[string]string{"threshold": want})
	}
}

func TestAlertEmailIsSubscribedOnlyWhenSet(t *testing.T) {
	if subs := deploy(t, nil).ofType("aws:sns/topicSubscription:TopicSubscription"); len(subs) != 0 {
		t.Errorf("no alertEmail, yet %d subscriptions", len(subs))
	}
	r := deploy(t, map[string]string{"alertEmail": "ops@example.com"})
	sub := r.one(t, "aws:sns/topicSubscription:TopicSubscription", "-alarms-email")
	expectInputs(t, sub, map[string]string{"protocol": "email", "endpoint": "ops@example.com",
		"topic": stateString(r.one(t, "aws:sns/topic:Topic", "-alarms"), "arn")})
}

// dashboardOf parses the stack's dashboard body.
func dashboardOf(t *testing.T, r *run) (name string, widgets []map[string]any) {
	t.Helper()
	d := r.one(t, "aws:cloudwatch/dashboard:Dashboard", "")
	var body struct {
		Widgets []map[string]any `json:"widgets"`
	}
	if err := json.Unmarshal([]byte(d.str("dashboardBody")), &body); err != nil {
		t.Fatalf("dashboard body is not JSON: %v\n%s", err, d.str("dashboardBody"))
	}
	return d.str("dashboardName"), body.Widgets
}

func TestDashboardShowsRegisteredResourcesInTheStacksRegion(t *testing.T) {
	r := deploy(t, nil)
	name, widgets := dashboardOf(t, r)
	seen := map[string]bool{}
	graphs := 0
	for i, w := range widgets {
		props := w["properties"].(map[string]any)
		for _, k := range []string{"x", "y", "width", "height"} {
			if _, ok := w[k].(float64); !ok {
				t.Errorf("widget %d has no %s", i, k)
			}
		}
		if w["type"] != "metric" {
			continue
		}
		graphs++
		where := fmt.Sprintf("widget %q", props["title"])
		if props["region"] != region {
			t.Errorf("%s: region %v, want %s", where, props["region"], region)
		}
		for _, m := range props["metrics"].([]any) {
			parts := m.([]any)
			ref := metricRef{namespace: parts[0].(string), name: parts[1].(string), dims: map[string]string{}}
			for j := 2; j+1 < len(parts); j += 2 {
				ref.dims[parts[j].(string)] = parts[j+1].(string)
			}
			if _, ok := parts[len(parts)-1].(map[string]any); !ok || len(parts)%2 != 1 {
				t.Errorf("%s: metric %v is not [namespace, name, dimension pairs..., options]", where, parts)
			}
			for _, res := range r.resolve(t, where, ref) {
				seen[res.Type+" "+res.Name] = true
			}
			seen[ref.namespace+" "+ref.name] = true
		}
	}
	for _, want := range []string{
		"aws:autoscaling/group:Group ams-cluster-dev-origin", "aws:autoscaling/group:Group ams-cluster-dev-edge",
		"aws:lb/targetGroup:TargetGroup ams-cluster-dev-origin", "aws:lb/targetGroup:TargetGroup ams-cluster-dev-edge",
		"aws:ec2/instance:Instance ams-cluster-dev-mongo",
		"AWS/AutoScaling GroupInServiceInstances", "AWS/AutoScaling GroupDesiredCapacity", "AWS/EC2 CPUUtilization",
		"AWS/ApplicationELB HealthyHostCount", "AWS/ApplicationELB UnHealthyHostCount", "AWS/ApplicationELB RequestCount",
		"AWS/ApplicationELB HTTPCode_Target_5XX_Count", "AWS/NetworkELB HealthyHostCount",
		"AMSCluster/ams-cluster/dev/mongodb mem_used_percent", "AMSCluster/ams-cluster/dev/mongodb disk_used_percent",
	} {
		if !seen[want] {
			t.Errorf("dashboard does not show %s; shows %v", want, keys(seen))
		}
	}
	if graphs < 10 {
		t.Errorf("%d graphs on the dashboard", graphs)
	}
	url := r.outputString(t, "dashboardUrl")
	if want := "https://" + region + ".console.aws.amazon.com/cloudwatch/home?region=" + region + "#dashboards/dashboard/" + name; url != want {
		t.Errorf("dashboardUrl = %q, want %q", url, want)
	}
}

var agentConfigLine = regexp.MustCompile(`(?m)^readonly CWAGENT_CONFIG='((?:[^']|'\\'')*)'$`)

// agentConfigOf extracts and parses the CloudWatch agent configuration a boot script writes.
func agentConfigOf(t *testing.T, res *registered) components.AgentConfig {
	t.Helper()
	script := userData(t, res)
	m := agentConfigLine.FindStringSubmatch(script)
	if m == nil {
		t.Fatalf("%s: boot script carries no CloudWatch agent configuration", res.Name)
	}
	var c components.AgentConfig
	dec := json.NewDecoder(strings.NewReader(strings.ReplaceAll(m[1], `'\''`, `'`)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("%s: agent configuration is not JSON of the agent's schema: %v\n%s", res.Name, err, m[1])
	}
	if !strings.Contains(script, "start_log_shipping\n}") {
		t.Errorf("%s: the boot script does not start log shipping as its last step", res.Name)
	}
	return c
}

func TestAgentShipsFilesTheNodesWriteToLogGroupsWithRetention(t *testing.T) {
	for _, tc := range []struct {
		stackFile string
		retention float64
	}{{"Pulumi.dev.yaml", 14}, {"Pulumi.prod.yaml", 90}} {
		cfg := stackConfig(t, tc.stackFile, map[string]string{"domainName": "live.example.com", "hostedZoneId": "Z0123456789ABCDEFGHIJ"})
		r := runProgram(t, cfg)
		if r.err != nil {
			t.Fatalf("%s: %v", tc.stackFile, r.err)
		}
		groups := map[string]*registered{}
		for _, g := range r.ofType("aws:cloudwatch/logGroup:LogGroup") {
			groups[stateString(g, "name")] = g
			if g.num("retentionInDays") != tc.retention {
				t.Errorf("%s: log group %s keeps %v days, want %v", tc.stackFile, g.str("name"), g.num("retentionInDays"), tc.retention)
			}
		}
		mongoScript := userData(t, r.one(t, "aws:ec2/instance:Instance", "-mongo"))
		// Who writes each file: cloud-init, Ant Media Server, mongod (its configuration in the boot script).
		writers := map[string]bool{components.BootLogFile: true, components.AMSLogFile: true, components.AMSErrorLogFile: true,
			components.MongoLogFile: strings.Contains(mongoScript, "path: "+components.MongoLogFile)}
		nodes := append(r.ofType("aws:ec2/launchTemplate:LaunchTemplate"), r.one(t, "aws:ec2/instance:Instance", "-mongo"))
		for _, node := range nodes {
			c := agentConfigOf(t, node)
			var files []string
			for _, f := range c.Logs.LogsCollected.Files.CollectList {
				files = append(files, f.FilePath)
				if !writers[f.FilePath] {
					t.Errorf("%s ships %s, which nothing on the node writes", node.Name, f.FilePath)
				}
				if groups[f.LogGroupName] == nil {
					t.Errorf("%s ships %s to log group %q, which the stack does not create", node.Name, f.FilePath, f.LogGroupName)
				}
			}
			sort.Strings(files)
			want := []string{components.AMSErrorLogFile, components.AMSLogFile, components.BootLogFile}
			disks := []string{"/"}
			if node.Type == "aws:ec2/instance:Instance" {
				want, disks = []string{components.MongoLogFile, components.BootLogFile}, []string{"/", components.MongoDataPath}
			}
			sort.Strings(want)
			if strings.Join(files, " ") != strings.Join(want, " ") {
				t.Errorf("%s ships %v, want %v", node.Name, files, want)
			}
			host := strings.TrimPrefix(node.Name, "ams-cluster-dev-")
			if node.Type == "aws:ec2/instance:Instance" {
				host = "mongodb"
			}
			if c.Metrics.Namespace != "AMSCluster/ams-cluster/dev/"+host || strings.Join(c.Metrics.MetricsCollected.Disk.Resources, " ") != strings.Join(disks, " ") ||
				!slices.Contains(c.Metrics.MetricsCollected.Mem.Measurement, "mem_used_percent") {
				t.Errorf("%s: agent metrics %+v", node.Name, c.Metrics)
			}
		}
	}
}

// statementsBySid returns the statements of a policy by Sid, as JSON.
func statementsBySid(doc map[string]any) map[string]string {
	out := map[string]string{}
	for _, s := range doc["Statement"].([]any) {
		st := s.(map[string]any)
		b, _ := json.Marshal(st)
		out[fmt.Sprint(st["Sid"])] = string(b)
	}
	return out
}

func TestNodesShipOnlyToTheirLogGroupsAndNamespace(t *testing.T) {
	r := deploy(t, nil)
	group := func(suffix string) string {
		return stateString(r.one(t, "aws:cloudwatch/logGroup:LogGroup", "-"+suffix), "arn") + ":*"
	}
	logs := func(groups ...string) string {
		b, _ := json.Marshal(map[string]any{"Action": []string{"logs:CreateLogStream", "logs:PutLogEvents"}, "Effect": "Allow", "Resource": groups, "Sid": "ShipOwnLogs"})
		return string(b)
	}
	// AMS nodes also publish their streaming metrics; each kind of host only
	// in its own namespaces, so that no node can forge another kind's metrics.
	metrics := map[string]string{
		"origin": `{"Action":["cloudwatch:PutMetricData"],"Condition":{"StringEquals":{"cloudwatch:namespace":["ams-cluster/dev/origin","AMSCluster/ams-cluster/dev/origin"]}},"Effect":"Allow","Resource":"*","Sid":"PutOwnMetrics"}`,
		"edge":   `{"Action":["cloudwatch:PutMetricData"],"Condition":{"StringEquals":{"cloudwatch:namespace":["ams-cluster/dev/edge","AMSCluster/ams-cluster/dev/edge"]}},"Effect":"Allow","Resource":"*","Sid":"PutOwnMetrics"}`,
		"mongo":  `{"Action":["cloudwatch:PutMetricData"],"Condition":{"StringEquals":{"cloudwatch:namespace":"AMSCluster/ams-cluster/dev/mongodb"}},"Effect":"Allow","Resource":"*","Sid":"PutOwnMetrics"}`,
	}
	want := map[string]string{
		"origin": logs(group("boot"), group("ams"), group("ams-error")),
		"edge":   logs(group("boot"), group("ams"), group("ams-error")),
		"mongo":  logs(group("boot"), group("mongodb")),
	}
	docs := map[string]map[string]any{}
	for _, lt := range r.ofType("aws:ec2/launchTemplate:LaunchTemplate") {
		docs[strings.TrimPrefix(lt.Name, "ams-cluster-dev-")] = policyOf(t, r, lt.str("iamInstanceProfile.arn"))
	}
	docs["mongo"] = policyOf(t, r, r.one(t, "aws:ec2/instance:Instance", "-mongo").str("iamInstanceProfile"))
	for role, doc := range docs {
		got := statementsBySid(doc)
		if got["ShipOwnLogs"] != want[role] {
			t.Errorf("%s logs statement\n got %s\nwant %s", role, got["ShipOwnLogs"], want[role])
		}
		if got["PutOwnMetrics"] != metrics[role] {
			t.Errorf("%s metrics statement\n got %s\nwant %s", role, got["PutOwnMetrics"], metrics[role])
		}
		for sid, st := range got {
			if sid != "ShipOwnLogs" && sid != "PutOwnMetrics" && (strings.Contains(st, `"logs:`) || strings.Contains(st, `"cloudwatch:`)) {
				t.Errorf("%s: statement %s also grants CloudWatch: %s", role, sid, st)
			}
		}
	}
}

func TestBadMonitoringConfigurationIsRejectedBeforeAnyResource(t *testing.T) {
	for _, tc := range []struct{ name, key, value string }{
		{"alert e-mail without domain", "alertEmail", "ops@"},
		{"alert e-mail without at", "alertEmail", "ops.example.com"},
		{"negative 5xx threshold", "alarm5xxPercent", "-1"},
		{"5xx threshold above 100", "alarm5xxPercent", "150"},
		{"disk threshold above 100", "mongoDiskAlarmPercent", "101"},
		{"memory threshold in words", "mongoMemoryAlarmPercent", "high"},
		{"CPU threshold negative", "mongoCpuAlarmPercent", "-5"},
		{"retention CloudWatch does not offer", "logRetentionDays", "10"},
		{"retention beyond ten years", "logRetentionDays", "4000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rejectedConfig(t, map[string]string{tc.key: tc.value}, []string{"ams-cluster:" + tc.key + " = ", tc.value, "accepted: "})
		})
	}
}

func TestClusterMonitoringAsALibrary(t *testing.T) {
	s := func(v string) pulumi.StringInput { return pulumi.String(v) }
	args := func() *components.ClusterMonitoringArgs {
		return &components.ClusterMonitoringArgs{
			LoadBalancerArnSuffix: s("app/other/0123456789abcdef"), OriginTargetGroupArnSuffix: s("targetgroup/o/0123456789abcdef"),
			EdgeTargetGroupArnSuffix: s("targetgroup/e/0123456789abcdef"), OriginGroupName: s("origin-asg"), EdgeGroupName: s("edge-asg"),
			MongoInstanceID: s("i-0123456789abcdef0"),
		}
	}
	r, err := runComponents(t, func(ctx *pulumi.Context) error {
		if _, err := components.NewClusterMonitoring(ctx, "ops", args()); err != nil {
			return err
		}
		_, err := components.NewClusterLogs(ctx, "ops", &components.ClusterLogsArgs{RetentionDays: 30})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(r.ofType("aws:cloudwatch/metricAlarm:MetricAlarm")); n != 10 {
		t.Errorf("%d alarms without ingest, want 10", n)
	}
	for _, res := range r.resources {
		if res.Custom && !strings.HasPrefix(res.Name, "ops") {
			t.Errorf("%s %s is not named from the component", res.Type, res.Name)
		}
		if res.Custom && !strings.Contains(res.Parent, "ClusterMonitoring") && !strings.Contains(res.Parent, "ClusterLogs") {
			t.Errorf("%s %s is not parented to its component (%s)", res.Type, res.Name, res.Parent)
		}
	}
	for _, g := range r.ofType("aws:cloudwatch/logGroup:LogGroup") {
		if !strings.HasPrefix(g.str("name"), "/other-stack/prod/") || g.num("retentionInDays") != 30 {
			t.Errorf("log group %s keeps %v days", g.str("name"), g.num("retentionInDays"))
		}
	}
	for _, tc := range []struct {
		edit func(a *components.ClusterMonitoringArgs)
		want string
	}{
		{func(a *components.ClusterMonitoringArgs) { a.AlertEmail = "ops" }, `ClusterMonitoring: AlertEmail = "ops" is not valid; accepted:`},
		{func(a *components.ClusterMonitoringArgs) { a.MongoDiskPercent = 120 }, "ClusterMonitoring: MongoDiskPercent = 120 is not valid; accepted: a percentage from 1 to 100"},
		{func(a *components.ClusterMonitoringArgs) { a.IngestLoadBalancerArnSuffix = s("net/x/1") }, "ClusterMonitoring: IngestTargetGroupArnSuffixes"},
	} {
		a := args()
		tc.edit(a)
		r, err := runComponents(t, func(ctx *pulumi.Context) error {
			_, err := components.NewClusterMonitoring(ctx, "ops", a)
			return err
		})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want %s", err, tc.want)
		}
		if len(r.resources) != 0 {
			t.Errorf("%d resources registered for rejected arguments", len(r.resources))
		}
	}
	// Without a MongoDB instance (an external database): no MongoDB alarm or graph.
	external := args()
	external.MongoInstanceID = nil
	r, err = runComponents(t, func(ctx *pulumi.Context) error {
		_, err := components.NewClusterMonitoring(ctx, "ops", external)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(r.ofType("aws:cloudwatch/metricAlarm:MetricAlarm")); n != 5 {
		t.Errorf("%d alarms without ingest and MongoDB, want the 5 that are not MongoDB's", n)
	}
	for _, res := range r.resources {
		if strings.Contains(res.Name, "mongo") || strings.Contains(res.str("dashboardBody"), "MongoDB") {
			t.Errorf("%s %s watches MongoDB without a MongoDB instance", res.Type, res.Name)
		}
	}
	_, err = runComponents(t, func(ctx *pulumi.Context) error {
		_, err := components.NewClusterLogs(ctx, "ops", &components.ClusterLogsArgs{RetentionDays: 10})
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "ClusterLogs: RetentionDays = 10 is not valid; accepted: one of 1, 3, 5, 7, 14") {
		t.Errorf("retention 10: got %v", err)
	}
}

// shipLogsStatement is the statement that lets a node's agent write to its log groups.
func shipLogsStatement(groups ...string) map[string]any {
	resources := make([]any, len(groups))
	for i, g := range groups {
		resources[i] = g
	}
	return map[string]any{"Sid": "ShipOwnLogs", "Effect": "Allow", "Action": []any{"logs:CreateLogStream", "logs:PutLogEvents"}, "Resource": resources}
}

func TestNodeComponentsRejectBadLogShipping(t *testing.T) {
	vpc, subnet := pulumi.String("vpc-0a1b2c3d4e5f60718"), pulumi.String("subnet-0a1b2c3d4e5f60718")
	param := pulumi.String("/other/prod/db-url")
	good := func() *components.NodeLogs {
		return &components.NodeLogs{
			Files:            []components.LogFile{{Path: components.BootLogFile, LogGroupName: "/other/prod/boot"}},
			LogGroupArns:     pulumi.StringArray{pulumi.String("arn:aws:logs:eu-central-1:123456789012:log-group:/other/prod/boot")},
			MetricsNamespace: "Other/prod",
		}
	}
	for _, tc := range []struct {
		name string
		edit func(l *components.NodeLogs)
		want string
	}{
		{"AWS namespace", func(l *components.NodeLogs) { l.MetricsNamespace = "AWS/EC2" }, `Logs.MetricsNamespace = "AWS/EC2" is not valid`},
		{"relative file", func(l *components.NodeLogs) { l.Files[0].Path = "var/log/x.log" }, "Logs.Files"},
		{"no log group ARNs", func(l *components.NodeLogs) { l.LogGroupArns = nil }, "Logs.LogGroupArns"},
	} {
		for _, component := range []string{"MongoNode", "ScalingGroup"} {
			logs := good()
			tc.edit(logs)
			r, err := runComponents(t, func(ctx *pulumi.Context) error {
				if component == "MongoNode" {
					_, err := components.NewMongoNode(ctx, "x", &components.MongoNodeArgs{VpcID: vpc, SubnetID: subnet, Logs: logs})
					return err
				}
				_, err := components.NewScalingGroup(ctx, "x", &components.ScalingGroupArgs{Role: "edge", SubnetIDs: pulumi.StringArray{subnet},
					SecurityGroupIDs: pulumi.StringArray{pulumi.String("sg-1")}, DatabaseURLParameterName: param, DatabaseURLParameterArn: param, Logs: logs})
				return err
			})
			if err == nil || !strings.Contains(err.Error(), component+": "+tc.want) {
				t.Errorf("%s %s: got %v, want %s: %s", component, tc.name, err, component, tc.want)
			}
			if len(r.resources) != 0 {
				t.Errorf("%s %s: %d resources registered", component, tc.name, len(r.resources))
			}
		}
	}
}

// TestDashboardShowsStreamsWhereTheAgentPublishesThem: the streaming graphs
// read the namespace and group dimension the nodes' agent is rendered with.
func TestDashboardShowsStreamsWhereTheAgentPublishesThem(t *testing.T) {
	r := deploy(t, nil)
	body := r.one(t, "aws:cloudwatch/dashboard:Dashboard", "").str("dashboardBody")
	for _, role := range []string{"origin", "edge"} {
		script := userData(t, r.one(t, "aws:ec2/launchTemplate:LaunchTemplate", "-"+role))
		ns := ""
		for _, line := range strings.Split(script, "\n") {
			if v, ok := strings.CutPrefix(line, "readonly METRIC_NAMESPACE="); ok {
				ns = strings.Trim(v, "'")
			}
		}
		if ns == "" {
			t.Fatalf("%s user data renders no METRIC_NAMESPACE", role)
		}
		group := stateString(r.one(t, "aws:autoscaling/group:Group", "-"+role), "name")
		for _, metric := range []string{"LiveStreams", "Viewers", "Publishers"} {
			want := fmt.Sprintf(`[%q,%q,"AutoScalingGroupName",%q`, ns, metric, group)
			if !strings.Contains(body, want) {
				t.Errorf("the dashboard lacks %s of %s in %s (want %s)", metric, role, ns, want)
			}
		}
	}
}
