package components

import (
	"fmt"
	"regexp"
	"strconv"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/autoscaling"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ssm"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// AMSMarketplaceProductCode is the AWS Marketplace product code of Ant Media
// Server Enterprise.
const AMSMarketplaceProductCode = "4wh7rhpic3wfwamyp5905tsbt"

// metadataTagKeyPattern is what EC2 accepts as a tag key on an instance
// whose tags are in its instance metadata.
var metadataTagKeyPattern = regexp.MustCompile(`^[A-Za-z0-9+\-=.,_:@]+$`)

// ScalingGroupArgs configures a ScalingGroup.
type ScalingGroupArgs struct {
	// Role is the nodes' role: RoleOrigin (publishers) or RoleEdge (players). Required.
	Role Role
	// SubnetIDs are the subnets the nodes launch in; they must route to the
	// internet, since nodes get public IPs for WebRTC media. Required.
	SubnetIDs pulumi.StringArrayInput
	// SecurityGroupIDs are the nodes' security groups (a NodeSecurityGroup). Required.
	SecurityGroupIDs pulumi.StringArray
	// TargetGroupArns are the load balancer target groups the nodes join. Defaults to none.
	TargetGroupArns pulumi.StringArray
	// DatabaseURLParameterName is the SecureString SSM parameter that holds
	// the cluster database URL (mongodb://, mongodb+srv:// or redis://). Required.
	DatabaseURLParameterName pulumi.StringInput
	// DatabaseURLParameterArn is that parameter's ARN, the only database
	// secret the nodes may read. Required.
	DatabaseURLParameterArn pulumi.StringInput
	// DatabaseReadyParameterName is an SSM parameter that the database sets
	// to ready once it accepts the URL's credentials (a MongoNode's
	// ReadyParameterName); nodes wait for it, at most DatabaseWaitSeconds,
	// before they join the cluster. Defaults to none: nodes join at once,
	// as with an external database that is always up.
	DatabaseReadyParameterName pulumi.StringInput
	// DatabaseReadyParameterArn is that parameter's ARN. Required with the name.
	DatabaseReadyParameterArn pulumi.StringInput
	// DatabaseWaitSeconds bounds a node's wait for the database to be ready,
	// 60 to 3600. Defaults to 900.
	DatabaseWaitSeconds int
	// StartWaitSeconds bounds a node's wait for Ant Media Server to answer
	// after it switched to cluster mode, 60 to 1800. Defaults to 600.
	StartWaitSeconds int
	// PanelAdminEmail is the web panel administrator that the first node
	// claims. Defaults to "admin@ams.local".
	PanelAdminEmail string
	// PanelAdminPasswordParameterName is the SecureString SSM parameter with
	// that administrator's password. Defaults to none: the panel is not claimed.
	PanelAdminPasswordParameterName pulumi.StringInput
	// PanelAdminPasswordParameterArn is that parameter's ARN. Required with the name.
	PanelAdminPasswordParameterArn pulumi.StringInput
	// Recordings, when true, has a leaving node wait (within DrainSeconds)
	// for its MP4 recordings to be finalized and uploaded. Defaults to false.
	Recordings bool
	// InstanceType is the EC2 instance type. Defaults to "m5.2xlarge". Without
	// ImageID it must be an x86_64 type: the Marketplace images are x86_64 only.
	InstanceType string
	// ImageID pins the Ant Media Server image: the way to control AMS
	// upgrades in production. Defaults to none: the newest Ant Media Server
	// Enterprise Marketplace image at the group's first deployment, recorded
	// in the SSM parameter <ParameterPrefix>/image-id and kept from then on
	// (see FollowLatestImage).
	ImageID string
	// FollowLatestImage, with ImageID empty, looks the newest Marketplace
	// image up at every deployment instead of keeping the recorded one, so
	// that a new release rolls out through an instance refresh (and restarts
	// every node). Defaults to false.
	FollowLatestImage bool
	// ParameterPrefix is the SSM Parameter Store path under which the group
	// records its image. Defaults to "/<project>/<stack>/<name>".
	ParameterPrefix string
	// MinSize, DesiredCapacity and MaxSize bound the group. Default to 1, MinSize and 10;
	// MinSize is at least 1.
	// DesiredCapacity applies at creation; afterwards scaling owns it.
	MinSize, DesiredCapacity, MaxSize int
	// CPUTargetPercent is the average CPU the group scales to hold, 10 to 90.
	// Defaults to 60.
	CPUTargetPercent int
	// HealthCheckGraceSeconds is how long a new node may take, once in
	// service, before load balancer health checks count; also the instance
	// warm-up. 60 to 3600. Defaults to 300.
	HealthCheckGraceSeconds int
	// DrainSeconds is how long a leaving node (scale-in, refresh) stays alive
	// after leaving its target group, so that streams on it can end. 30 to
	// 3600. Defaults to 300. Match the target group's deregistration delay.
	DrainSeconds int
	// WarmPoolSize is how many installed, stopped nodes the group keeps in a
	// warm pool, 0 to MaxSize - MinSize: a surge then starts a stopped node (tens of
	// seconds) instead of launching one. Warm nodes do not join the cluster
	// until they leave the pool. Defaults to 0: no warm pool.
	WarmPoolSize int
	// Capacity is how the group buys its nodes: CapacityOnDemand, or
	// CapacitySpot (edges only, without a warm pool; see docs/spot.md).
	// Defaults to "ondemand".
	Capacity string
	// OnDemandBase is, with CapacitySpot, how many nodes run On-Demand
	// before any runs on Spot, 0 to MaxSize. Defaults to 0.
	OnDemandBase int
	// SpotPercent is, with CapacitySpot, the share of the nodes above
	// OnDemandBase that run on Spot, 1 to 100. Defaults to 100.
	SpotPercent int
	// MetricNamespace is the CloudWatch namespace the nodes' agent publishes
	// its per-node live streams, viewers and publishers into, and the only
	// one the nodes may write. Defaults to "<project>/<stack>".
	MetricNamespace string
	// ViewersPerNode, when above 0, adds a surge trigger: the group scales
	// out as soon as its nodes average more viewers than this over one
	// SurgePeriodSeconds. 0 to 100000. Defaults to 0: off.
	ViewersPerNode int
	// PublishersPerNode, when above 0, adds a surge trigger on the nodes'
	// average publishers, as ViewersPerNode does on viewers. 0 to 10000.
	// Defaults to 0: off.
	PublishersPerNode int
	// RootVolumeSizeGiB is the encrypted gp3 root volume size, 20 to 16384.
	// Defaults to 50.
	RootVolumeSizeGiB int
	// MetadataHopLimit is the IMDSv2 response hop limit, 1 to 64. Defaults to 1.
	MetadataHopLimit int
	// CapacityTimeout is how long a deployment waits for new nodes to be
	// healthy in the load balancer. Defaults to the launch hook's timeout
	// (DatabaseWaitSeconds + StartWaitSeconds + 300) plus
	// HealthCheckGraceSeconds, in seconds ("2100s" with the defaults).
	CapacityTimeout string
	// AppSettings, when set, are the application settings the nodes apply
	// (on joining, before they go into service, and again whenever they
	// drift): see ApplicationSettings. Defaults to none: the applications
	// keep their factory settings.
	AppSettings *ApplicationSettings
	// StatusWebhookURL is the server's status webhook
	// (server.statusWebHookURL in conf/red5.properties, read when Ant Media
	// starts), which Ant Media POSTs highResourceUsage and
	// unexpectedShutdown events to: an https:// URL. It travels in the
	// AppSettings parameter (needs AppSettings); a node writes it before it
	// joins the cluster, and a change reaches a running node's file at its
	// agent's next check but takes effect at Ant Media's next start.
	// Defaults to none.
	StatusWebhookURL string
	// Logs, when set, has each node install the CloudWatch agent after it is
	// in service, shipping the boot and Ant Media logs and publishing memory
	// and disk usage (see ClusterLogs). Defaults to no agent.
	Logs *NodeLogs
	// MaxViewersPerNode and MaxPublishersPerNode are the per-node limits at
	// which a node's health endpoint takes it out of the load balancer's
	// rotation; they also set the target of the viewers (edge) or
	// publishers (origin) target tracking. Default to CapacityFor(InstanceType).
	MaxViewersPerNode, MaxPublishersPerNode int
	// CapacityResumePercent is the share of every limit (CPU, memory,
	// viewers, publishers) below which a full node takes new sessions
	// again, 50 to 95. Defaults to 85.
	CapacityResumePercent int
	// AMSDownReplaceSeconds is how long Ant Media Server may stay down,
	// restarts tried, before the node's agent marks its instance unhealthy
	// so that the group replaces it, 120 to 3600. Defaults to 300.
	AMSDownReplaceSeconds int
	// Tags are added to every resource and propagated to the instances. Their
	// keys may use only letters, digits and + - = . , _ : @ (instance
	// metadata tags are on). Defaults to none.
	Tags map[string]string
}

// launchHookMarginSeconds is what a node's launching hook allows beyond its
// waits for the database and for Ant Media Server: the boot script's own
// work (reading parameters, claiming the panel).
const launchHookMarginSeconds = 300

// LaunchHookTimeout is the heartbeat timeout of the group's launching
// lifecycle hook: past it, a node that has not completed the hook is
// abandoned (terminated and replaced).
func (a *ScalingGroupArgs) LaunchHookTimeout() int {
	return a.DatabaseWaitSeconds + a.StartWaitSeconds + launchHookMarginSeconds
}

// LaunchHookName is the name of a ScalingGroup's launching lifecycle hook,
// which a node completes once it has joined the cluster and the panel is
// claimed.
func LaunchHookName(name string) string { return name + "-ready" }

// DrainHookName is the name of a ScalingGroup's terminating lifecycle hook,
// which a leaving node's agent completes once its streams have ended.
func DrainHookName(name string) string { return name + "-drain" }

// ScalingGroup is an Auto Scaling group of Ant Media Server nodes in cluster
// mode, for one role. One component serves both roles; only the role and the
// per-role sizes differ.
type ScalingGroup struct {
	pulumi.ResourceState

	// GroupName is the Auto Scaling group's name.
	GroupName pulumi.StringOutput `pulumi:"groupName"`
	// GroupArn is the Auto Scaling group's ARN.
	GroupArn pulumi.StringOutput `pulumi:"groupArn"`
	// LaunchTemplateID is the launch template's ID.
	LaunchTemplateID pulumi.StringOutput `pulumi:"launchTemplateId"`
	// ImageID is the image the nodes run.
	ImageID pulumi.StringOutput `pulumi:"imageId"`
}

// Validate applies the defaults to a copy of the arguments and reports the
// first one that is not acceptable.
func (a *ScalingGroupArgs) Validate() error {
	_, err := a.withDefaults()
	return err
}

func (a *ScalingGroupArgs) withDefaults() (ScalingGroupArgs, error) {
	const component = "ScalingGroup"
	bad := fieldErrors{component: component}
	out := ScalingGroupArgs{}
	if a != nil {
		out = *a
	}
	setDefault(&out.InstanceType, "m5.2xlarge")
	setDefault(&out.PanelAdminEmail, "admin@ams.local")
	capacityDefaults(&out)
	setDefaultInt(&out.MinSize, 1)
	setDefaultInt(&out.DesiredCapacity, out.MinSize)
	setDefaultInt(&out.MaxSize, 10)
	setDefaultInt(&out.CPUTargetPercent, 60)
	setDefaultInt(&out.HealthCheckGraceSeconds, 300)
	setDefaultInt(&out.DrainSeconds, 300)
	setDefaultInt(&out.RootVolumeSizeGiB, 50)
	setDefaultInt(&out.MetadataHopLimit, 1)
	setDefaultInt(&out.DatabaseWaitSeconds, 900)
	setDefaultInt(&out.StartWaitSeconds, 600)
	out.capacityDefaults()
	setDefault(&out.CapacityTimeout, fmt.Sprintf("%ds", out.LaunchHookTimeout()+out.HealthCheckGraceSeconds))
	if !out.Role.Valid() {
		bad.reject("Role", string(out.Role), `"origin" or "edge"`)
	}
	if out.SubnetIDs == nil {
		bad.reject("SubnetIDs", "", "one or more subnet IDs (required)")
	}
	if len(out.SecurityGroupIDs) == 0 {
		bad.reject("SecurityGroupIDs", "", "one or more security group IDs (required)")
	}
	if out.DatabaseURLParameterName == nil || out.DatabaseURLParameterArn == nil {
		bad.reject("DatabaseURLParameterName", "", "the name and ARN of the SSM parameter holding the database URL (required)")
	}
	if (out.DatabaseReadyParameterName == nil) != (out.DatabaseReadyParameterArn == nil) {
		bad.reject("DatabaseReadyParameterArn", "", "set together with DatabaseReadyParameterName")
	}
	if (out.PanelAdminPasswordParameterName == nil) != (out.PanelAdminPasswordParameterArn == nil) {
		bad.reject("PanelAdminPasswordParameterArn", "", "set together with PanelAdminPasswordParameterName")
	}
	if !isEmail(out.PanelAdminEmail) {
		bad.reject("PanelAdminEmail", out.PanelAdminEmail, "an e-mail address such as ops@example.com (letters, digits and . _ % + - before the @), the panel's login name")
	}
	if !isInstanceType(out.InstanceType) {
		bad.reject("InstanceType", out.InstanceType, "an EC2 instance type such as m5.2xlarge")
	}
	if out.ImageID == "" && architectureOf(out.InstanceType) != "amd64" {
		bad.reject("InstanceType", out.InstanceType,
			"an x86_64 instance type such as m5.2xlarge or c5.xlarge: the Ant Media Server Enterprise Marketplace images are x86_64 only (Graviton needs an arm64 ImageID)")
	}
	if out.ImageID != "" && !isAmiID(out.ImageID) {
		bad.reject("ImageID", out.ImageID, "empty (newest Marketplace image) or an image ID such as ami-0123456789abcdef0")
	}
	if out.ImageID != "" && out.FollowLatestImage {
		bad.reject("FollowLatestImage", out.FollowLatestImage, "false when ImageID pins the image")
	}
	if out.ParameterPrefix != "" && !parameterPrefixPattern.MatchString(out.ParameterPrefix) {
		bad.reject("ParameterPrefix", out.ParameterPrefix, "an SSM path such as /ams/dev/origin")
	}
	bad.within("MinSize", out.MinSize, 1, 1000, "(a group of no nodes serves nobody)")
	if out.MaxSize < 1 || out.MaxSize < out.MinSize || out.MaxSize > 1000 {
		bad.reject("MaxSize", out.MaxSize, fmt.Sprintf("1 to 1000 and at least MinSize (%d)", out.MinSize))
	}
	if out.DesiredCapacity < out.MinSize || out.DesiredCapacity > out.MaxSize {
		bad.reject("DesiredCapacity", out.DesiredCapacity, fmt.Sprintf("between MinSize (%d) and MaxSize (%d)", out.MinSize, out.MaxSize))
	}
	bad.within("CPUTargetPercent", out.CPUTargetPercent, 10, 90, "percent")
	bad.within("HealthCheckGraceSeconds", out.HealthCheckGraceSeconds, 60, 3600, "seconds (AMS needs a minute or more to start)")
	bad.within("DrainSeconds", out.DrainSeconds, 30, 3600, "seconds")
	bad.within("RootVolumeSizeGiB", out.RootVolumeSizeGiB, 20, 16384, "GiB")
	// A warm node enters service only when the group may still grow.
	bad.within("WarmPoolSize", out.WarmPoolSize, 0, max(0, out.MaxSize-out.MinSize),
		fmt.Sprintf("(0 is no warm pool; at most MaxSize %d minus MinSize %d: a warm node enters service only when the group may grow)", out.MaxSize, out.MinSize))
	if out.MetricNamespace != "" && !metricNamespacePattern.MatchString(out.MetricNamespace) {
		bad.reject("MetricNamespace", out.MetricNamespace, "a CloudWatch namespace of letters, digits and . - _ / # : (not starting with AWS/)")
	}
	bad.within("ViewersPerNode", out.ViewersPerNode, 0, 100000, "(0 is off)")
	bad.within("PublishersPerNode", out.PublishersPerNode, 0, 10000, "(0 is off)")
	bad.within("MetadataHopLimit", out.MetadataHopLimit, 1, 64, "")
	bad.within("DatabaseWaitSeconds", out.DatabaseWaitSeconds, 60, 3600, "seconds")
	bad.within("StartWaitSeconds", out.StartWaitSeconds, 60, 1800, "seconds")
	out.validateCapacity(&bad)
	bad.add(out.Logs.validate(component))
	var err error
	if out.AppSettings, err = out.AppSettings.withDefaults(component); err != nil {
		bad.add(err)
	}
	if out.StatusWebhookURL != "" {
		if err := CheckHTTPSURL(out.StatusWebhookURL); err != nil {
			bad.reject("StatusWebhookURL", out.StatusWebhookURL, err.Error())
		} else if out.AppSettings == nil {
			bad.reject("StatusWebhookURL", out.StatusWebhookURL, "set together with AppSettings, whose parameter carries it")
		}
	}
	out.validateSpot(&bad)
	bad.instanceTagKeys(out.Tags)
	return out, bad.err()
}

// NewScalingGroup creates the launch template, Auto Scaling group (with its
// warm pool, when WarmPoolSize is set), CPU target tracking policy, surge
// step policy and alarms, launching hook and drain hook of one role's AMS
// nodes.
func NewScalingGroup(ctx *pulumi.Context, name string, args *ScalingGroupArgs, opts ...pulumi.ResourceOption) (*ScalingGroup, error) {
	a, err := args.withDefaults()
	if err != nil {
		return nil, err
	}
	if a.ParameterPrefix == "" {
		a.ParameterPrefix = fmt.Sprintf("/%s/%s/%s", ctx.Project(), ctx.Stack(), name)
	}
	if a.MetricNamespace == "" {
		a.MetricNamespace = HostMetricNamespace(DefaultMetricNamespace(ctx.Project(), ctx.Stack()), string(a.Role))
	}
	if a.Logs != nil {
		// Each role's agent publishes memory and disk usage under its own
		// namespace, so that one role's node cannot forge the other's.
		logs := *a.Logs
		logs.MetricsNamespace = HostMetricNamespace(logs.MetricsNamespace, string(a.Role))
		a.Logs = &logs
	}
	g := &ScalingGroup{}
	if err := ctx.RegisterComponentResource(typePrefix+"ScalingGroup", name, g, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(g)
	tags := tagMap(a.Tags, map[string]string{"Name": name, "ams:role": string(a.Role)})
	// The group's own tag, which scopes the nodes' right to complete its
	// lifecycle actions; unlike the group's generated name it is known before
	// the group exists.
	groupTag := fmt.Sprintf("%s/%s/%s", ctx.Project(), ctx.Stack(), name)
	hookName := LaunchHookName(name)

	region, err := aws.GetRegion(ctx, nil, parent)
	if err != nil {
		return nil, fmt.Errorf("scaling group %s: region: %w", name, err)
	}
	image, err := g.image(ctx, name, a, tags)
	if err != nil {
		return nil, err
	}

	readable := pulumi.StringArray{a.DatabaseURLParameterArn}
	var writable pulumi.StringArray
	panelParameter := pulumi.StringInput(pulumi.String(""))
	if a.PanelAdminPasswordParameterName != nil {
		// The node that creates <panel parameter>-claim claims an empty panel.
		claimArn := pulumi.Sprintf("%s%s", a.PanelAdminPasswordParameterArn, panelClaimSuffix)
		readable = append(readable, a.PanelAdminPasswordParameterArn, claimArn)
		writable = append(writable, claimArn)
		panelParameter = a.PanelAdminPasswordParameterName
	}
	readyParameter := pulumi.StringInput(pulumi.String(""))
	if a.DatabaseReadyParameterName != nil {
		readable = append(readable, a.DatabaseReadyParameterArn)
		readyParameter = a.DatabaseReadyParameterName
	}
	appSettingsName := pulumi.StringInput(pulumi.String(""))
	if a.AppSettings != nil {
		param, secretArns, err := newAppSettingsParameter(ctx, name, a, tags, parent)
		if err != nil {
			return nil, err
		}
		readable = append(readable, param.Arn)
		readable = append(readable, secretArns...)
		appSettingsName = param.Name
	}
	// The group's own ARN exists only with the group, after the instance
	// role: the resource is the account's groups in the region, and the
	// group tag condition picks this one.
	caller, err := aws.GetCallerIdentity(ctx, nil, parent)
	if err != nil {
		return nil, fmt.Errorf("scaling group %s: caller identity: %w", name, err)
	}
	groupArns := autoScalingGroupArns(partitionOf(caller.Arn), region.Name, caller.AccountId)
	profile, err := instanceProfile(ctx, name, instanceAccess{
		Read: readable, Write: writable, LifecycleGroup: groupTag, LifecycleGroupArns: groupArns,
		// Only origins protect themselves from scale-in (while publishing).
		Protect:         a.Role == RoleOrigin,
		MetricNamespace: a.MetricNamespace, Logs: a.Logs,
		// Spot edges leave their group (and its target groups) themselves
		// on an interruption notice or a rebalance recommendation.
		Leave: a.Capacity == CapacitySpot,
	}, a.Tags, parent)
	if err != nil {
		return nil, fmt.Errorf("scaling group %s: %w", name, err)
	}

	agentConfig, err := a.Logs.agentConfig()
	if err != nil {
		return nil, fmt.Errorf("scaling group %s: %w", name, err)
	}
	userData := pulumi.All(a.DatabaseURLParameterName, panelParameter, readyParameter, appSettingsName).ApplyT(func(v []any) (string, error) {
		script, err := renderScript("ams-bootstrap.sh", AMSBootstrap{
			AppSettingsParameter:        v[3].(string),
			AgentConfig:                 agentConfig,
			Role:                        string(a.Role),
			Region:                      region.Name,
			DatabaseURLParameter:        v[0].(string),
			DatabaseReadyParameter:      v[2].(string),
			DatabaseWaitSeconds:         a.DatabaseWaitSeconds,
			PanelAdminEmail:             a.PanelAdminEmail,
			PanelAdminPasswordParameter: v[1].(string),
			PanelClaimParameter:         panelClaim(v[1].(string)),
			// The group's name is generated with the group, after the launch
			// template: the node reads it at boot from its instance tag
			// aws:autoscaling:groupName (instance metadata tags are on).
			LaunchHookName:       hookName,
			StartWaitSeconds:     a.StartWaitSeconds,
			DrainHookName:        DrainHookName(name),
			DrainSeconds:         a.DrainSeconds,
			MetricNamespace:      a.MetricNamespace,
			AgentIntervalSeconds: AgentIntervalSeconds,
			Recordings:           a.Recordings,
			Spot:                 a.Capacity == CapacitySpot,
			Capacity:             a.agentCapacity(),
		})
		if err != nil {
			return "", err
		}
		return encodeUserData(withoutCommentLines(script))
	}).(pulumi.StringOutput)

	instanceTags := tagMap(a.Tags, map[string]string{"Name": name, "ams:role": string(a.Role), "ams:stack": ctx.Stack(), GroupTagKey: groupTag})
	// WebRTC media flows straight between browsers and the node's public
	// address.
	lt, err := nodeLaunchTemplate(ctx, name, nodeTemplate{
		description:      pulumi.Sprintf("Ant Media Server %s node", a.Role),
		imageID:          image.id,
		instanceType:     a.InstanceType,
		userData:         userData,
		profileArn:       profile.Arn,
		securityGroupIDs: a.SecurityGroupIDs,
		metadataHopLimit: a.MetadataHopLimit,
		rootDeviceName:   image.rootDeviceName,
		rootVolumeGiB:    a.RootVolumeSizeGiB,
		instanceTags:     instanceTags,
		tags:             tags,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("scaling group %s: launch template: %w", name, err)
	}

	groupTags := propagatedTags(instanceTags)
	var minElbCapacity pulumi.IntPtrInput
	if len(a.TargetGroupArns) > 0 {
		minElbCapacity = pulumi.Int(a.MinSize)
	}
	launchHook := launchingHook{name: hookName, timeout: a.LaunchHookTimeout()}
	capacity := groupCapacity(a, lt, latestVersion(lt))
	asg, err := autoscaling.NewGroup(ctx, name, &autoscaling.GroupArgs{
		VpcZoneIdentifiers: a.SubnetIDs,
		MinSize:            pulumi.Int(a.MinSize),
		MaxSize:            pulumi.Int(a.MaxSize),
		DesiredCapacity:    pulumi.Int(a.DesiredCapacity),

		// On demand, the launch template; on Spot, a mixed-instances policy.
		LaunchTemplate:       capacity.launchTemplate,
		MixedInstancesPolicy: capacity.mixedInstances,
		CapacityRebalance:    capacity.capacityRebalance,

		TargetGroupArns:        a.TargetGroupArns,
		HealthCheckType:        pulumi.String(ReplacementHealthCheckType),
		HealthCheckGracePeriod: pulumi.Int(a.HealthCheckGraceSeconds),
		DefaultInstanceWarmup:  pulumi.Int(a.HealthCheckGraceSeconds),
		MinElbCapacity:         minElbCapacity,
		WaitForCapacityTimeout: pulumi.String(a.CapacityTimeout),
		// Even the group's first nodes stay out of service (and out of the
		// target groups) until they complete this hook, once they have joined
		// the cluster and the panel is claimed; a node that does not is
		// abandoned and replaced.
		InitialLifecycleHooks: launchHook.initial(),
		// A new launch template version (new image, type or boot script) rolls
		// through the group one node at a time, launching before terminating.
		InstanceRefresh: &autoscaling.GroupInstanceRefreshArgs{
			Strategy: pulumi.String("Rolling"),
			Preferences: &autoscaling.GroupInstanceRefreshPreferencesArgs{
				MinHealthyPercentage: pulumi.Int(100),
				MaxHealthyPercentage: pulumi.Int(200),
				InstanceWarmup:       pulumi.String(strconv.Itoa(a.HealthCheckGraceSeconds)),
				SkipMatching:         pulumi.Bool(true),
				// The agent protects every origin that carries a publisher.
				// The provider's default, Ignore, would leave those origins on
				// the old template for good; Wait would fail the refresh after
				// an hour of protection. Refresh replaces them too, and a
				// replaced instance goes through the terminating hook like any
				// other (instance refresh runs termination lifecycle hooks:
				// "Lifecycle hook availability", EC2 Auto Scaling user guide),
				// where the agent drains it for at most DrainSeconds.
				ScaleInProtectedInstances: pulumi.String(RefreshProtectedInstances),
			},
		},
		EnabledMetrics: pulumi.ToStringArray([]string{
			"GroupDesiredCapacity", "GroupInServiceInstances", "GroupPendingInstances", "GroupTerminatingInstances",
		}),
		MetricsGranularity: pulumi.String("1Minute"),
		WarmPool:           warmPool(a),
		Tags:               groupTags,
	}, parent,
		pulumi.IgnoreChanges([]string{
			// Target tracking moves the desired capacity; a redeploy must not reset it.
			"desiredCapacity",
			// The provider replaces a group whose initial hooks change (they
			// apply at creation only); existing groups get the hook from the
			// LifecycleHook below instead of being replaced with their nodes.
			"initialLifecycleHooks",
		}))
	if err != nil {
		return nil, fmt.Errorf("scaling group %s: auto scaling group: %w", name, err)
	}

	if err := launchHook.manage(ctx, asg, parent); err != nil {
		return nil, fmt.Errorf("scaling group %s: launch hook: %w", name, err)
	}

	// The node's agent completes this hook as soon as its streams and
	// viewers are gone, or after DrainSeconds; the timeout is the backstop.
	if _, err := autoscaling.NewLifecycleHook(ctx, name+"-drain", &autoscaling.LifecycleHookArgs{
		Name:                 pulumi.String(DrainHookName(name)),
		AutoscalingGroupName: asg.Name,
		LifecycleTransition:  pulumi.String("autoscaling:EC2_INSTANCE_TERMINATING"),
		HeartbeatTimeout:     pulumi.Int(a.DrainSeconds),
		DefaultResult:        pulumi.String("CONTINUE"),
	}, parent); err != nil {
		return nil, fmt.Errorf("scaling group %s: drain hook: %w", name, err)
	}

	if _, err := autoscaling.NewPolicy(ctx, name+"-cpu", &autoscaling.PolicyArgs{
		AutoscalingGroupName:    asg.Name,
		PolicyType:              pulumi.String("TargetTrackingScaling"),
		EstimatedInstanceWarmup: pulumi.Int(a.HealthCheckGraceSeconds),
		TargetTrackingConfiguration: &autoscaling.PolicyTargetTrackingConfigurationArgs{
			PredefinedMetricSpecification: &autoscaling.PolicyTargetTrackingConfigurationPredefinedMetricSpecificationArgs{
				PredefinedMetricType: pulumi.String("ASGAverageCPUUtilization"),
			},
			TargetValue: pulumi.Float64(float64(a.CPUTargetPercent)),
		},
	}, parent); err != nil {
		return nil, fmt.Errorf("scaling group %s: cpu policy: %w", name, err)
	}

	if err := surgeScaling(ctx, name, a, asg, tags, parent); err != nil {
		return nil, err
	}
	if err := capacityScaling(ctx, name, a, asg, parent); err != nil {
		return nil, err
	}

	g.GroupName = asg.Name
	g.GroupArn = asg.Arn
	g.LaunchTemplateID = lt.ID().ToStringOutput()
	g.ImageID = image.id
	if err := ctx.RegisterResourceOutputs(g, pulumi.Map{
		"groupName":        g.GroupName,
		"groupArn":         g.GroupArn,
		"launchTemplateId": g.LaunchTemplateID,
		"imageId":          g.ImageID,
	}); err != nil {
		return nil, err
	}
	return g, nil
}

// nodeImage is the image the nodes run and its root device.
type nodeImage struct {
	id             pulumi.StringOutput
	rootDeviceName pulumi.StringOutput
}

// image resolves the nodes' image: the pinned ImageID; with
// FollowLatestImage, the newest Marketplace image at every deployment;
// otherwise the newest Marketplace image at the first deployment, recorded
// in an SSM parameter whose value later look-ups never change.
func (g *ScalingGroup) image(ctx *pulumi.Context, name string, a ScalingGroupArgs, tags pulumi.StringMap) (nodeImage, error) {
	parent := pulumi.Parent(g)
	if a.ImageID != "" {
		image, err := lookupAMSImage(ctx, a.ImageID, parent)
		if err != nil {
			return nodeImage{}, fmt.Errorf("scaling group %s: %w", name, err)
		}
		if want := imageArchitecture(a.InstanceType); image.Architecture != want {
			return nodeImage{}, argErr("ScalingGroup", "ImageID", a.ImageID, fmt.Sprintf(
				"an %s image for instance type %s (%s is %s)", want, a.InstanceType, a.ImageID, image.Architecture))
		}
		return nodeImage{pulumi.String(image.Id).ToStringOutput(), pulumi.String(image.RootDeviceName).ToStringOutput()}, nil
	}
	newest, err := lookupAMSImage(ctx, "", parent)
	if err != nil {
		return nodeImage{}, fmt.Errorf("scaling group %s: %w", name, err)
	}
	if a.FollowLatestImage {
		return nodeImage{pulumi.String(newest.Id).ToStringOutput(), pulumi.String(newest.RootDeviceName).ToStringOutput()}, nil
	}
	recorded, err := ssm.NewParameter(ctx, name+"-image", &ssm.ParameterArgs{
		Name:          pulumi.String(a.ParameterPrefix + "/image-id"),
		Description:   pulumi.Sprintf("Ant Media Server image of %s, resolved at its first deployment", name),
		Type:          pulumi.String("String"),
		DataType:      pulumi.String("aws:ec2:image"),
		InsecureValue: pulumi.String(newest.Id),
		Tags:          tags,
	}, parent,
		// The value is the image found when the group was created; a newer
		// Marketplace image must not roll every node. Pin ImageID (or set
		// FollowLatestImage) to upgrade.
		pulumi.IgnoreChanges([]string{"insecureValue"}))
	if err != nil {
		return nodeImage{}, fmt.Errorf("scaling group %s: image parameter: %w", name, err)
	}
	kept := ec2.LookupAmiOutput(ctx, ec2.LookupAmiOutputArgs{
		MostRecent: pulumi.Bool(true),
		Filters: ec2.GetAmiFilterArray{
			&ec2.GetAmiFilterArgs{Name: pulumi.String("image-id"), Values: pulumi.StringArray{recorded.InsecureValue}},
		},
	}, parent)
	return nodeImage{recorded.InsecureValue, kept.RootDeviceName()}, nil
}

// imageArchitecture is the EC2 image architecture an instance type runs.
func imageArchitecture(instanceType string) string {
	if architectureOf(instanceType) == "arm64" {
		return "arm64"
	}
	return "x86_64"
}

// lookupAMSImage finds the pinned image, or the newest Ant Media Server
// Enterprise image on the AWS Marketplace.
func lookupAMSImage(ctx *pulumi.Context, imageID string, opts ...pulumi.InvokeOption) (*ec2.LookupAmiResult, error) {
	args := &ec2.LookupAmiArgs{MostRecent: pulumi.BoolRef(true)}
	if imageID != "" {
		args.Filters = []ec2.GetAmiFilter{{Name: "image-id", Values: []string{imageID}}}
	} else {
		args.Owners = []string{"aws-marketplace"}
		args.Filters = []ec2.GetAmiFilter{
			{Name: "product-code", Values: []string{AMSMarketplaceProductCode}},
			{Name: "name", Values: []string{"AntMedia-AWS-Marketplace-EE-*"}},
			{Name: "architecture", Values: []string{"x86_64"}},
		}
	}
	image, err := ec2.LookupAmi(ctx, args, opts...)
	if err != nil {
		return nil, fmt.Errorf("looking up the Ant Media Server image: %w", err)
	}
	return image, nil
}

// panelClaimSuffix names, after the panel password parameter, the
// parameter that the node claiming an empty panel creates.
const panelClaimSuffix = "-claim"

func panelClaim(passwordParameter string) string {
	if passwordParameter == "" {
		return ""
	}
	return passwordParameter + panelClaimSuffix
}

// RefreshProtectedInstances is what an instance refresh does with nodes
// protected from scale-in (RefreshPreferences.ScaleInProtectedInstances):
// it replaces them, through the drain hook.
const RefreshProtectedInstances = "Refresh"

// DefaultMetricNamespace is the prefix of a stack's streaming metric
// namespaces: each role's agent publishes under
// HostMetricNamespace(DefaultMetricNamespace(project, stack), role) unless
// told otherwise.
func DefaultMetricNamespace(project, stack string) string {
	return project + "/" + stack
}

// HostMetricNamespace is the namespace of one kind of host (a role,
// "origin" or "edge", or "mongodb") under a stack's namespace prefix: each
// kind's instance role may put metric data into its own namespace only
// (cloudwatch:namespace), so a node cannot forge the metrics that scale or
// alarm on another kind.
func HostMetricNamespace(prefix, host string) string {
	return prefix + "/" + host
}
