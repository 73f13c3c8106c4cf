package stack

import (
	"fmt"

	"github.com/ams-cluster/ams-aws/components"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ssm"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Program is the stack: configuration in, components wired, outputs exported.
func Program(ctx *pulumi.Context) error {
	return Run(ctx, ctx.Export)
}

// Run is Program with the stack outputs handed to export, so that tests can
// see what `pulumi up` would export.
func Run(ctx *pulumi.Context, export func(name string, value pulumi.Input)) error {
	cfg, err := LoadConfig(ctx)
	if err != nil {
		return err
	}
	outputs, err := Build(ctx, cfg)
	if err != nil {
		return err
	}
	for _, name := range outputs.Names() {
		export(name, outputs[name])
	}
	return nil
}

// Build declares the cluster from a validated configuration and returns the
// stack outputs by name:
//
//	Network ─┬─ StreamingLoadBalancer ── NodeSecurityGroup ─┬─ MongoNode
//	         │                                               │
//	         └──────────── ScalingGroup (origin, edge) ◄─────┘
//
// ClusterLogs comes before the nodes (they ship to its log groups);
// ClusterMonitoring last, over what the others registered. With
// databaseUrlParameter there is no MongoNode: the groups read the external
// database's parameter. zoneLayout picks the groups' subnets; the load
// balancers take every subnet.
func Build(ctx *pulumi.Context, cfg *Config) (Outputs, error) {
	base := ctx.Project() + "-" + ctx.Stack()
	var w wiring
	if err := buildCertificateAndLogs(ctx, base, cfg, &w); err != nil {
		return nil, err
	}

	network, err := components.NewNetwork(ctx, base, cfg.networkArgs())
	if err != nil {
		return nil, err
	}
	w.vpcID, w.subnetIDs = network.VpcID, network.PublicSubnetIDs
	// The groups' zones follow zoneLayout; the load balancers are in every zone.
	w.originSubnetIDs, w.edgeSubnetIDs = cfg.roleSubnets(network.PublicSubnetIDs)

	lb, err := components.NewStreamingLoadBalancer(ctx, base, cfg.loadBalancerArgs(w))
	if err != nil {
		return nil, err
	}
	w.loadBalancerSecurityGroupID = lb.SecurityGroupID
	ingest, err := buildIngest(ctx, base, cfg, &w)
	if err != nil {
		return nil, err
	}

	nodes, err := components.NewNodeSecurityGroup(ctx, base+"-ams", cfg.nodeSecurityGroupArgs(w))
	if err != nil {
		return nil, err
	}
	w.nodeSecurityGroupID = nodes.SecurityGroupID

	logs, err := components.NewClusterLogs(ctx, base, cfg.logsArgs())
	if err != nil {
		return nil, err
	}
	w.logs = logs

	mongo, err := buildDatabase(ctx, base, cfg, &w)
	if err != nil {
		return nil, err
	}

	panelPassword, panelParameter, err := panelAdminPassword(ctx, base)
	if err != nil {
		return nil, err
	}
	w.panelPasswordParameterName = panelParameter.Name
	w.panelPasswordParameterArn = panelParameter.Arn

	if w.appSettings, err = buildAppSettings(ctx, base, cfg); err != nil {
		return nil, err
	}
	recordings, err := buildRecordings(ctx, base, cfg, &w)
	if err != nil {
		return nil, err
	}
	turn, err := buildTurn(ctx, base, cfg, w)
	if err != nil {
		return nil, err
	}

	groups := map[components.Role]*components.ScalingGroup{}
	for _, role := range components.Roles() {
		if w.targetGroupArn, err = lb.TargetGroupArn(role); err != nil {
			return nil, err
		}
		group, err := components.NewScalingGroup(ctx, base+"-"+string(role), cfg.scalingGroupArgs(role, w))
		if err != nil {
			return nil, err
		}
		groups[role] = group
	}

	if err := buildAliases(ctx, base, cfg, lb, ingest); err != nil {
		return nil, err
	}
	monitoring, err := buildMonitoring(ctx, base, cfg, lb, ingest, groups, mongo)
	if err != nil {
		return nil, err
	}
	outputs := newOutputs(cfg, lb, mongo, groups, panelPassword, panelParameter.Name)
	addIngestOutputs(outputs, cfg, ingest)
	if err := addTokenOutputs(ctx, outputs, cfg, lb, ingest); err != nil {
		return nil, err
	}
	addRecordingOutputs(outputs, recordings)
	addTurnOutputs(outputs, turn)
	outputs["dashboardUrl"] = monitoring.DashboardURL
	outputs["alarmTopicArn"] = monitoring.TopicArn
	return outputs, nil
}

// panelAdminPassword generates the web panel administrator's password and
// keeps it in a SecureString parameter that the AMS nodes read once to claim
// the panel.
func panelAdminPassword(ctx *pulumi.Context, base string) (pulumi.StringOutput, *ssm.Parameter, error) {
	password, err := random.NewRandomPassword(ctx, base+"-panel-admin", &random.RandomPasswordArgs{
		Length:  pulumi.Int(24),
		Special: pulumi.Bool(false),
	})
	if err != nil {
		return pulumi.StringOutput{}, nil, fmt.Errorf("panel admin password: %w", err)
	}
	param, err := ssm.NewParameter(ctx, base+"-panel-admin", &ssm.ParameterArgs{
		Name:        pulumi.Sprintf("/%s/%s/panel/admin-password", ctx.Project(), ctx.Stack()),
		Description: pulumi.String("Ant Media web panel administrator password"),
		Type:        pulumi.String("SecureString"),
		Value:       password.Result,
	})
	if err != nil {
		return pulumi.StringOutput{}, nil, fmt.Errorf("panel admin password parameter: %w", err)
	}
	return password.Result, param, nil
}

// wiring carries the values that flow from one component to the next.
type wiring struct {
	vpcID                       pulumi.StringInput
	subnetIDs                   pulumi.StringArrayInput
	originSubnetIDs             pulumi.StringArrayInput
	edgeSubnetIDs               pulumi.StringArrayInput
	loadBalancerSecurityGroupID pulumi.StringInput
	nodeSecurityGroupID         pulumi.StringInput
	targetGroupArn              pulumi.StringInput
	databaseURLParameterName    pulumi.StringInput
	databaseURLParameterArn     pulumi.StringInput
	databaseReadyParameterName  pulumi.StringInput
	databaseReadyParameterArn   pulumi.StringInput
	panelPasswordParameterName  pulumi.StringInput
	panelPasswordParameterArn   pulumi.StringInput
	// logs, once created, are the log groups the nodes ship to.
	logs *components.ClusterLogs
	// appSettings are the streaming applications' managed settings;
	// features add theirs (Extra) before the groups are built.
	appSettings *components.ApplicationSettings
	// recordings, when on, is where the nodes upload recordings.
	recordings *components.RecordingStore
	entryWiring
}

func (c *Config) tags() map[string]string {
	return map[string]string{"ams:managed-by": "pulumi"}
}

func (c *Config) networkArgs() *components.NetworkArgs {
	return &components.NetworkArgs{
		CidrBlock:          c.VpcCIDR,
		ZoneCount:          c.ZoneCount,
		SubnetPrefixLength: c.SubnetPrefixLength,
		ExistingVpcID:      c.ExistingVpcID,
		ExistingSubnetIDs:  c.ExistingSubnetIDs,
		Tags:               c.tags(),
	}
}

func (c *Config) loadBalancerArgs(w wiring) *components.StreamingLoadBalancerArgs {
	return c.withEntry(&components.StreamingLoadBalancerArgs{
		VpcID:                      w.vpcID,
		SubnetIDs:                  w.subnetIDs,
		CertificateArn:             c.CertificateArn,
		TLSPolicy:                  c.TLSPolicy,
		IdleTimeoutSeconds:         c.IdleTimeoutSeconds,
		HealthCheckIntervalSeconds: c.HealthCheckIntervalSeconds,
		HealthyThreshold:           c.HealthyThreshold,
		UnhealthyThreshold:         c.UnhealthyThreshold,
		// A leaving node keeps its open connections for as long as its drain hook holds it.
		DeregistrationDelaySeconds: c.DrainSeconds,
		IngressCIDRs:               c.IngressCIDRs,
		AdminCIDRs:                 c.AdminCIDRs,
		Applications:               c.StreamingApps,
		Tags:                       c.tags(),
	}, w)
}

func (c *Config) nodeSecurityGroupArgs(w wiring) *components.NodeSecurityGroupArgs {
	args := &components.NodeSecurityGroupArgs{
		VpcID:                  w.vpcID,
		IngestSecurityGroupIDs: w.nodeIngestGroups(),
		WebRTCPortMin:          c.WebRTCPortMin,
		WebRTCPortMax:          c.WebRTCPortMax,
		AdminCIDR:              c.AdminCIDR,
		Tags:                   c.tags(),
	}
	if w.loadBalancerSecurityGroupID != nil {
		args.LoadBalancerSecurityGroupIDs = pulumi.StringArray{w.loadBalancerSecurityGroupID}
	}
	return args
}

// mongoArgs places MongoDB in the first zone, whatever the groups' layout.
func (c *Config) mongoArgs(w wiring) *components.MongoNodeArgs {
	args := &components.MongoNodeArgs{
		VpcID:                  w.vpcID,
		SubnetID:               w.subnetIDs.ToStringArrayOutput().Index(pulumi.Int(0)),
		ClientSecurityGroupIDs: pulumi.StringArray{w.nodeSecurityGroupID},
		InstanceType:           c.MongoInstanceType,
		ImageID:                c.MongoImageID,
		MongoVersion:           c.MongoVersion,
		DataVolumeSizeGiB:      c.MongoDataVolumeGiB,
		SnapshotRetentionCount: c.SnapshotRetentionCount,
		SnapshotIntervalHours:  c.SnapshotIntervalHours,
		SnapshotTime:           c.SnapshotTime,
		AdminCIDR:              c.AdminCIDR,
		SSHPublicKey:           c.SSHPublicKey,
		Tags:                   c.tags(),
	}
	if c.MongoMembers > 1 {
		// One member per zone, in the network's zone order; member 0 stays
		// in the first zone, where a single node lives.
		args.Members = c.MongoMembers
		args.SubnetID = nil
		for i := 0; i < c.MongoMembers; i++ {
			args.SubnetIDs = append(args.SubnetIDs, w.subnetIDs.ToStringArrayOutput().Index(pulumi.Int(i)))
		}
	}
	if w.logs != nil {
		args.Logs = w.logs.Mongo
	}
	if c.HasPrivateKey {
		args.SSHPrivateKey = c.SSHPrivateKey
	}
	return args
}

func (c *Config) scalingGroupArgs(role components.Role, w wiring) *components.ScalingGroupArgs {
	s := c.Role(role)
	args := &components.ScalingGroupArgs{
		Role:                            role,
		SubnetIDs:                       w.roleSubnetIDs(role),
		SecurityGroupIDs:                pulumi.StringArray{w.nodeSecurityGroupID},
		TargetGroupArns:                 c.targetGroupArns(role, w),
		DatabaseURLParameterName:        w.databaseURLParameterName,
		DatabaseURLParameterArn:         w.databaseURLParameterArn,
		DatabaseReadyParameterName:      w.databaseReadyParameterName,
		DatabaseReadyParameterArn:       w.databaseReadyParameterArn,
		PanelAdminEmail:                 c.PanelAdminEmail,
		PanelAdminPasswordParameterName: w.panelPasswordParameterName,
		PanelAdminPasswordParameterArn:  w.panelPasswordParameterArn,
		InstanceType:                    s.InstanceType,
		ImageID:                         c.AMSImageID,
		FollowLatestImage:               c.AMSFollowLatestImage,
		MinSize:                         s.MinSize,
		DesiredCapacity:                 s.DesiredCapacity,
		MaxSize:                         s.MaxSize,
		CPUTargetPercent:                s.CPUTargetPercent,
		HealthCheckGraceSeconds:         c.HealthCheckGraceSeconds,
		DrainSeconds:                    c.DrainSeconds,
		RootVolumeSizeGiB:               c.AMSRootVolumeGiB,
		WarmPoolSize:                    s.WarmPoolSize,
		AppSettings:                     w.appSettings,
		StatusWebhookURL:                c.StatusWebhookURL,
		Capacity:                        s.Capacity,
		OnDemandBase:                    s.OnDemandBase,
		SpotPercent:                     s.SpotPercent,
		Tags:                            c.tags(),

		MaxViewersPerNode:     s.MaxViewersPerNode,
		MaxPublishersPerNode:  s.MaxPublishersPerNode,
		CapacityResumePercent: c.CapacityResumePercent,
		AMSDownReplaceSeconds: c.AMSDownReplaceSeconds,
	}
	if w.logs != nil {
		args.Logs = w.logs.AMS
	}
	if w.recordings != nil {
		args.Recordings = true
	}
	if role == components.RoleEdge {
		args.ViewersPerNode = s.SurgePerNode
	} else {
		args.PublishersPerNode = s.SurgePerNode
	}
	return args
}
