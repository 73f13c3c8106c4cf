package components

import (
	"fmt"
	"math"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sns"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// ClusterMonitoringArgs configures ClusterMonitoring. It takes the names and
// CloudWatch dimensions of the cluster's resources, not the components.
type ClusterMonitoringArgs struct {
	// AlertEmail, when set, is subscribed to the alarm topic by e-mail. AWS
	// sends it a confirmation mail; nothing arrives until it is confirmed.
	// Defaults to no subscription.
	AlertEmail string
	// LoadBalancerArnSuffix is the application load balancer's ARN suffix
	// (app/<name>/<id>). Required.
	LoadBalancerArnSuffix pulumi.StringInput
	// OriginTargetGroupArnSuffix and EdgeTargetGroupArnSuffix are the target
	// groups' ARN suffixes (targetgroup/<name>/<id>). Required.
	OriginTargetGroupArnSuffix, EdgeTargetGroupArnSuffix pulumi.StringInput
	// OriginGroupName and EdgeGroupName are the Auto Scaling groups. Required.
	OriginGroupName, EdgeGroupName pulumi.StringInput
	// MongoInstanceID is the MongoDB node's instance (member 0 of a replica
	// set). Defaults to none: no MongoDB alarms or graphs, as with an
	// external database.
	MongoInstanceID pulumi.StringInput
	// MongoMemberInstanceIDs are the other replica set members' instances,
	// each watched and recovered as MongoInstanceID is. Defaults to none.
	MongoMemberInstanceIDs []pulumi.StringInput
	// IngestLoadBalancerArnSuffix, when set, is the RTMP/SRT network load
	// balancer (net/<name>/<id>), watched through IngestTargetGroupArnSuffixes.
	// Defaults to no ingest alarms.
	IngestLoadBalancerArnSuffix pulumi.StringInput
	// IngestTargetGroupArnSuffixes are the ingest target groups. Required with
	// IngestLoadBalancerArnSuffix.
	IngestTargetGroupArnSuffixes []pulumi.StringInput
	// DetectionSeconds is how long a target group takes to notice a dead
	// node (health check interval x unhealthy threshold); the no-healthy
	// alarms fire after the whole minutes covering it. Defaults to 60.
	DetectionSeconds int
	// Error5xxPercent is the share of requests answered 5xx (by the nodes or
	// the load balancer) over which the 5xx alarm fires, 1 to 100. Defaults to 5.
	Error5xxPercent int
	// CapacityMinutes is how long a group stays at its maximum size before
	// the capacity alarm fires, 1 to 60. Defaults to 10.
	CapacityMinutes int
	// MongoCPUPercent, MongoMemoryPercent and MongoDiskPercent are the MongoDB
	// node's alarm thresholds, 1 to 100. Default to 80, 90 and 80.
	MongoCPUPercent, MongoMemoryPercent, MongoDiskPercent int
	// MetricsNamespace is the prefix of the CloudWatch agents' namespaces
	// (memory and disk); MongoDB's alarms read its MongoMetricHost namespace.
	// Defaults to "AMSCluster/<project>/<stack>", ClusterLogs' default.
	MetricsNamespace string
	// StreamingNamespace is the prefix under which each role's agent
	// publishes LiveStreams, Viewers and Publishers per node (by
	// AutoScalingGroupName), HostMetricNamespace(prefix, role): the
	// ScalingGroups' MetricNamespace. Defaults to none: no streaming graphs.
	StreamingNamespace string
	// Tags are added to the topic and alarms. Defaults to none.
	Tags map[string]string
}

// ClusterMonitoring is the operations layer of a cluster: an SNS topic, the
// alarms that notify it, EC2 recovery of the MongoDB host and a dashboard.
type ClusterMonitoring struct {
	pulumi.ResourceState

	// TopicArn is the SNS topic every alarm notifies.
	TopicArn pulumi.StringOutput `pulumi:"topicArn"`
	// DashboardName is the CloudWatch dashboard.
	DashboardName pulumi.StringOutput `pulumi:"dashboardName"`
	// DashboardURL opens the dashboard in the AWS console.
	DashboardURL pulumi.StringOutput `pulumi:"dashboardUrl"`
}

// Validate applies the defaults to a copy of the arguments and reports the
// first one that is not acceptable.
func (a *ClusterMonitoringArgs) Validate() error {
	_, err := a.withDefaults()
	return err
}

func (a *ClusterMonitoringArgs) withDefaults() (ClusterMonitoringArgs, error) {
	const component = "ClusterMonitoring"
	bad := fieldErrors{component: component}
	out := ClusterMonitoringArgs{}
	if a != nil {
		out = *a
	}
	setDefaultInt(&out.DetectionSeconds, 60)
	setDefaultInt(&out.Error5xxPercent, 5)
	setDefaultInt(&out.CapacityMinutes, 10)
	setDefaultInt(&out.MongoCPUPercent, 80)
	setDefaultInt(&out.MongoMemoryPercent, 90)
	setDefaultInt(&out.MongoDiskPercent, 80)
	percent := func(field string, v int) error {
		if v < 1 || v > 100 {
			return argErr(component, field, v, "a percentage from 1 to 100")
		}
		return nil
	}
	if out.AlertEmail != "" && !isEmail(out.AlertEmail) {
		bad.reject("AlertEmail", out.AlertEmail, "empty (no e-mail) or an e-mail address such as ops@example.com")
	}
	for _, req := range []struct {
		field, what string
		missing     bool
	}{
		{"LoadBalancerArnSuffix", "the load balancer's ARN suffix", out.LoadBalancerArnSuffix == nil},
		{"OriginTargetGroupArnSuffix", "the origin target group's ARN suffix", out.OriginTargetGroupArnSuffix == nil},
		{"EdgeTargetGroupArnSuffix", "the edge target group's ARN suffix", out.EdgeTargetGroupArnSuffix == nil},
		{"OriginGroupName", "the origin Auto Scaling group's name", out.OriginGroupName == nil},
		{"EdgeGroupName", "the edge Auto Scaling group's name", out.EdgeGroupName == nil},
	} {
		if req.missing {
			bad.reject(req.field, "", req.what+" (required)")
		}
	}
	if out.IngestLoadBalancerArnSuffix != nil && len(out.IngestTargetGroupArnSuffixes) == 0 {
		bad.reject("IngestTargetGroupArnSuffixes", "", "the ingest target groups' ARN suffixes when IngestLoadBalancerArnSuffix is set")
	}
	bad.within("DetectionSeconds", out.DetectionSeconds, 10, 3600, "seconds")
	bad.within("CapacityMinutes", out.CapacityMinutes, 1, 60, "minutes")
	if out.MetricsNamespace != "" && !metricNamespacePattern.MatchString(out.MetricsNamespace) {
		bad.reject("MetricsNamespace", out.MetricsNamespace, "a CloudWatch namespace (letters, digits, . - _ / # :)")
	}
	for _, p := range []struct {
		field string
		v     int
	}{
		{"Error5xxPercent", out.Error5xxPercent}, {"MongoCPUPercent", out.MongoCPUPercent},
		{"MongoMemoryPercent", out.MongoMemoryPercent}, {"MongoDiskPercent", out.MongoDiskPercent},
	} {
		bad.add(percent(p.field, p.v))
	}
	return out, bad.err()
}

// RecoverActionArn is the alarm action that recovers an EC2 instance in region.
func RecoverActionArn(region string) string {
	return "arn:aws:automate:" + region + ":ec2:recover"
}

// NewClusterMonitoring creates the alarm topic, the alarms and the dashboard.
func NewClusterMonitoring(ctx *pulumi.Context, name string, args *ClusterMonitoringArgs, opts ...pulumi.ResourceOption) (*ClusterMonitoring, error) {
	a, err := args.withDefaults()
	if err != nil {
		return nil, err
	}
	setDefault(&a.MetricsNamespace, fmt.Sprintf("AMSCluster/%s/%s", ctx.Project(), ctx.Stack()))
	m := &ClusterMonitoring{}
	if err := ctx.RegisterComponentResource(typePrefix+"ClusterMonitoring", name, m, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(m)
	region, err := aws.GetRegion(ctx, nil, parent)
	if err != nil {
		return nil, fmt.Errorf("cluster monitoring %s: region: %w", name, err)
	}

	topic, err := sns.NewTopic(ctx, name+"-alarms", &sns.TopicArgs{
		DisplayName: pulumi.Sprintf("AMS %s", name),
		Tags:        tagMap(a.Tags, map[string]string{"Name": name + "-alarms"}),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("cluster monitoring %s: topic: %w", name, err)
	}
	if a.AlertEmail != "" {
		if _, err := sns.NewTopicSubscription(ctx, name+"-alarms-email", &sns.TopicSubscriptionArgs{
			Topic:    topic.Arn,
			Protocol: pulumi.String("email"),
			Endpoint: pulumi.String(a.AlertEmail),
		}, parent); err != nil {
			return nil, fmt.Errorf("cluster monitoring %s: e-mail subscription: %w", name, err)
		}
	}

	al := &alarms{ctx: ctx, name: name, topic: topic.Arn, tags: tagMap(a.Tags), parent: m}
	al.targets(a)
	al.errors(a)
	al.capacity(a)
	if a.MongoInstanceID != nil {
		al.mongo(a, region.Name)
	}
	if al.err != nil {
		return nil, al.err
	}

	dashboardName := name
	body := pulumi.All(a.LoadBalancerArnSuffix, a.OriginTargetGroupArnSuffix, a.EdgeTargetGroupArnSuffix,
		a.OriginGroupName, a.EdgeGroupName, mongoInstanceOrNone(a), ingestSuffixes(a)).ApplyT(func(v []any) (string, error) {
		t := dashboardTargets{
			region: region.Name, namespace: HostMetricNamespace(a.MetricsNamespace, MongoMetricHost), streaming: a.StreamingNamespace,
			loadBalancer: v[0].(string), mongo: v[5].(string),
			roles: []dashboardRole{
				{RoleOrigin, v[3].(string), v[1].(string)},
				{RoleEdge, v[4].(string), v[2].(string)},
			},
		}
		if ingest := v[6].([]string); len(ingest) > 0 {
			t.ingest, t.ingestGroups = ingest[0], ingest[1:]
		}
		return clusterDashboard(t)
	}).(pulumi.StringOutput)
	dashboard, err := cloudwatch.NewDashboard(ctx, name, &cloudwatch.DashboardArgs{
		DashboardName: pulumi.String(dashboardName),
		DashboardBody: body,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("cluster monitoring %s: dashboard: %w", name, err)
	}

	m.TopicArn = topic.Arn
	m.DashboardName = dashboard.DashboardName
	m.DashboardURL = pulumi.Sprintf("https://%s.console.aws.amazon.com/cloudwatch/home?region=%s#dashboards/dashboard/%s",
		region.Name, region.Name, dashboard.DashboardName)
	if err := ctx.RegisterResourceOutputs(m, pulumi.Map{
		"topicArn":      m.TopicArn,
		"dashboardName": m.DashboardName,
		"dashboardUrl":  m.DashboardURL,
	}); err != nil {
		return nil, err
	}
	return m, nil
}

// mongoInstanceOrNone is the MongoDB instance's ID, or "" without one.
func mongoInstanceOrNone(a ClusterMonitoringArgs) pulumi.StringInput {
	if a.MongoInstanceID == nil {
		return pulumi.String("")
	}
	return a.MongoInstanceID
}

// ingestSuffixes is the ingest load balancer's suffix followed by its
// target groups', or empty without ingest.
func ingestSuffixes(a ClusterMonitoringArgs) pulumi.StringArrayOutput {
	if a.IngestLoadBalancerArnSuffix == nil {
		return pulumi.StringArray{}.ToStringArrayOutput()
	}
	all := pulumi.StringArray{a.IngestLoadBalancerArnSuffix}
	all = append(all, a.IngestTargetGroupArnSuffixes...)
	return all.ToStringArrayOutput()
}

// alarms creates alarms that notify one topic, collecting the first error.
type alarms struct {
	ctx    *pulumi.Context
	name   string
	topic  pulumi.StringOutput
	tags   pulumi.StringMap
	parent pulumi.Resource
	err    error
}

func (al *alarms) add(suffix string, args *cloudwatch.MetricAlarmArgs, extraActions ...string) {
	if al.err != nil {
		return
	}
	actions := pulumi.Array{al.topic}
	for _, a := range extraActions {
		actions = append(actions, pulumi.String(a))
	}
	args.AlarmActions = actions
	args.OkActions = pulumi.Array{al.topic}
	args.Tags = al.tags
	if _, err := cloudwatch.NewMetricAlarm(al.ctx, al.name+"-"+suffix, args, pulumi.Parent(al.parent)); err != nil {
		al.err = fmt.Errorf("cluster monitoring %s: alarm %s: %w", al.name, suffix, err)
	}
}

// targets: no healthy origin, no healthy edge, no healthy ingest target.
func (al *alarms) targets(a ClusterMonitoringArgs) {
	periods := int(math.Ceil(float64(a.DetectionSeconds) / 60))
	noHealthy := func(suffix, namespace, what string, tg, lb pulumi.StringInput, check string) {
		al.add(suffix, &cloudwatch.MetricAlarmArgs{
			AlarmDescription: pulumi.Sprintf("No healthy %s behind the load balancer: %s. First check the "+
				"target group's targets in the EC2 console (health check reason), then the %s", what, check, "boot and Ant Media logs in CloudWatch Logs."),
			Namespace:          pulumi.String(namespace),
			MetricName:         pulumi.String("HealthyHostCount"),
			Dimensions:         pulumi.StringMap{"TargetGroup": tg, "LoadBalancer": lb},
			Statistic:          pulumi.String("Minimum"),
			Period:             pulumi.Int(60),
			EvaluationPeriods:  pulumi.Int(periods),
			ComparisonOperator: pulumi.String("LessThanThreshold"),
			Threshold:          pulumi.Float64(1),
			// A target group with no target at all reports nothing: that is an outage too.
			TreatMissingData: pulumi.String("breaching"),
		})
	}
	noHealthy("origin-no-healthy", "AWS/ApplicationELB", "origin node", a.OriginTargetGroupArnSuffix, a.LoadBalancerArnSuffix,
		"publishing fails for every broadcaster")
	noHealthy("edge-no-healthy", "AWS/ApplicationELB", "edge node", a.EdgeTargetGroupArnSuffix, a.LoadBalancerArnSuffix,
		"playback fails for every viewer")
	if a.IngestLoadBalancerArnSuffix != nil {
		for i, tg := range a.IngestTargetGroupArnSuffixes {
			port := fmt.Sprint(i)
			if i < len(IngestPorts()) {
				port = IngestPorts()[i].Name
			}
			noHealthy("ingest-"+port+"-no-healthy", "AWS/NetworkELB", "origin node for "+port+" ingest", tg, a.IngestLoadBalancerArnSuffix,
				"RTMP/SRT encoders cannot connect")
		}
	}
}

// metricQuery is one one-minute metric of a metric-math alarm.
func metricQuery(id, namespace, name string, dimensions pulumi.StringMap, stat string) *cloudwatch.MetricAlarmMetricQueryArgs {
	return &cloudwatch.MetricAlarmMetricQueryArgs{
		Id: pulumi.String(id),
		Metric: &cloudwatch.MetricAlarmMetricQueryMetricArgs{
			Namespace:  pulumi.String(namespace),
			MetricName: pulumi.String(name),
			Dimensions: dimensions,
			Period:     pulumi.Int(60),
			Stat:       pulumi.String(stat),
		},
	}
}

// errors: the share of requests answered 5xx.
func (al *alarms) errors(a ClusterMonitoringArgs) {
	metric := func(id, name string) *cloudwatch.MetricAlarmMetricQueryArgs {
		return metricQuery(id, "AWS/ApplicationELB", name, pulumi.StringMap{"LoadBalancer": a.LoadBalancerArnSuffix}, "Sum")
	}
	al.add("5xx-rate", &cloudwatch.MetricAlarmArgs{
		AlarmDescription: pulumi.Sprintf("More than %d%% of requests to the load balancer were answered 5xx for 3 of 5 minutes. "+
			"First check the dashboard: 5xx from nodes points at Ant Media Server (antmedia-error.log in CloudWatch Logs), "+
			"ELB 5xx with no healthy targets at the nodes themselves.", a.Error5xxPercent),
		MetricQueries: cloudwatch.MetricAlarmMetricQueryArray{
			metric("targets", "HTTPCode_Target_5XX_Count"),
			metric("elb", "HTTPCode_ELB_5XX_Count"),
			metric("requests", "RequestCount"),
			&cloudwatch.MetricAlarmMetricQueryArgs{
				Id:         pulumi.String("rate"),
				Expression: pulumi.String("100 * (FILL(targets, 0) + FILL(elb, 0)) / requests"),
				Label:      pulumi.String("5xx % of requests"),
				ReturnData: pulumi.Bool(true),
			},
		},
		EvaluationPeriods:  pulumi.Int(5),
		DatapointsToAlarm:  pulumi.Int(3),
		ComparisonOperator: pulumi.String("GreaterThanThreshold"),
		Threshold:          pulumi.Float64(float64(a.Error5xxPercent)),
		TreatMissingData:   pulumi.String("notBreaching"),
	})
}

// capacity: a group stuck at its maximum size.
func (al *alarms) capacity(a ClusterMonitoringArgs) {
	for _, g := range []struct {
		role  string
		group pulumi.StringInput
	}{{RoleOrigin, a.OriginGroupName}, {RoleEdge, a.EdgeGroupName}} {
		al.allFull(a, g.role, g.group)
		metric := func(id, name string) *cloudwatch.MetricAlarmMetricQueryArgs {
			return metricQuery(id, "AWS/AutoScaling", name, pulumi.StringMap{"AutoScalingGroupName": g.group}, "Maximum")
		}
		al.add(g.role+"-at-max", &cloudwatch.MetricAlarmArgs{
			AlarmDescription: pulumi.Sprintf("The %s group has been at its maximum size for %d minutes: it cannot scale out any more "+
				"and new load lands on busy nodes. First check the group's CPU on the dashboard, then raise %sMaxSize "+
				"(or the instance type) and run pulumi up.", g.role, a.CapacityMinutes, g.role),
			MetricQueries: cloudwatch.MetricAlarmMetricQueryArray{
				metric("inservice", "GroupInServiceInstances"),
				metric("max", "GroupMaxSize"),
				&cloudwatch.MetricAlarmMetricQueryArgs{
					Id:         pulumi.String("atmax"),
					Expression: pulumi.String("IF(inservice >= max, 1, 0)"),
					Label:      pulumi.String("at maximum size"),
					ReturnData: pulumi.Bool(true),
				},
			},
			EvaluationPeriods:  pulumi.Int(a.CapacityMinutes),
			ComparisonOperator: pulumi.String("GreaterThanOrEqualToThreshold"),
			Threshold:          pulumi.Float64(1),
			TreatMissingData:   pulumi.String("notBreaching"),
		})
	}
}

// mongo watches every MongoDB member: member 0's alarms keep the single
// node's names, member i's are named mongo-<i>-....
func (al *alarms) mongo(a ClusterMonitoringArgs, region string) {
	al.mongoMember(a, region, "mongo", a.MongoInstanceID)
	for i, id := range a.MongoMemberInstanceIDs {
		al.mongoMember(a, region, fmt.Sprintf("mongo-%d", i+1), id)
	}
}

// mongoMember: status checks (with EC2 recovery), CPU, memory and data volume.
func (al *alarms) mongoMember(a ClusterMonitoringArgs, region, prefix string, instanceID pulumi.StringInput) {
	inst := pulumi.StringMap{"InstanceId": instanceID}
	al.add(prefix+"-recover", &cloudwatch.MetricAlarmArgs{
		AlarmDescription: pulumi.String("The MongoDB host failed its system status check (AWS hardware, power or network) for 2 minutes; " +
			"EC2 is recovering it onto other hardware with the same instance ID, private address and volumes. " +
			"First check the instance's status checks and the AWS Health dashboard; if recovery fails, follow \"A lost MongoDB instance\" in docs/operating.md."),
		Namespace:          pulumi.String("AWS/EC2"),
		MetricName:         pulumi.String("StatusCheckFailed_System"),
		Dimensions:         inst,
		Statistic:          pulumi.String("Maximum"),
		Period:             pulumi.Int(60),
		EvaluationPeriods:  pulumi.Int(2),
		ComparisonOperator: pulumi.String("GreaterThanOrEqualToThreshold"),
		Threshold:          pulumi.Float64(1),
		TreatMissingData:   pulumi.String("missing"),
	}, RecoverActionArn(region))
	al.add(prefix+"-status-check", &cloudwatch.MetricAlarmArgs{
		AlarmDescription: pulumi.String("The MongoDB host failed a status check for 3 minutes: the cluster cannot register nodes or streams. " +
			"An instance check failure (the OS: out of memory, full root disk, kernel) is not recovered automatically: " +
			"First check the instance's system log in the EC2 console and mongod.log in CloudWatch Logs, then reboot it."),
		Namespace:          pulumi.String("AWS/EC2"),
		MetricName:         pulumi.String("StatusCheckFailed"),
		Dimensions:         inst,
		Statistic:          pulumi.String("Maximum"),
		Period:             pulumi.Int(60),
		EvaluationPeriods:  pulumi.Int(3),
		ComparisonOperator: pulumi.String("GreaterThanOrEqualToThreshold"),
		Threshold:          pulumi.Float64(1),
		TreatMissingData:   pulumi.String("breaching"),
	})
	usage := func(suffix, namespace, metric string, dims pulumi.StringMap, threshold int, description string) {
		al.add(suffix, &cloudwatch.MetricAlarmArgs{
			AlarmDescription:   pulumi.String(description),
			Namespace:          pulumi.String(namespace),
			MetricName:         pulumi.String(metric),
			Dimensions:         dims,
			Statistic:          pulumi.String("Average"),
			Period:             pulumi.Int(300),
			EvaluationPeriods:  pulumi.Int(3),
			ComparisonOperator: pulumi.String("GreaterThanThreshold"),
			Threshold:          pulumi.Float64(float64(threshold)),
			TreatMissingData:   pulumi.String("missing"),
		})
	}
	usage(prefix+"-cpu", "AWS/EC2", "CPUUtilization", inst, a.MongoCPUPercent, fmt.Sprintf(
		"The MongoDB host's CPU has been above %d%% for 15 minutes; the cluster's heartbeats slow down and nodes may drop out. "+
			"First check mongod.log in CloudWatch Logs for slow queries, then consider a larger mongoInstanceType.", a.MongoCPUPercent))
	usage(prefix+"-memory", HostMetricNamespace(a.MetricsNamespace, MongoMetricHost), "mem_used_percent", inst, a.MongoMemoryPercent, fmt.Sprintf(
		"The MongoDB host's memory has been above %d%% used for 15 minutes (CloudWatch agent); mongod risks being killed. "+
			"First check mongod.log in CloudWatch Logs and the connection count, then consider a larger mongoInstanceType.", a.MongoMemoryPercent))
	usage(prefix+"-disk", HostMetricNamespace(a.MetricsNamespace, MongoMetricHost), "disk_used_percent",
		pulumi.StringMap{"InstanceId": instanceID, "path": pulumi.String(MongoDataPath)}, a.MongoDiskPercent, fmt.Sprintf(
			"The MongoDB data volume (%s) has been above %d%% full for 15 minutes (CloudWatch agent); MongoDB stops writing when it is full. "+
				"First check what grows (clusterdb, the apps' databases), then raise mongoDataVolumeGiB and grow the file system (xfs_growfs).",
			MongoDataPath, a.MongoDiskPercent))
}
