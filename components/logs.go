package components

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// NodeLogs tells a node's boot script to install the CloudWatch agent,
// which ships Files and publishes memory and disk usage under
// MetricsNamespace; the node's role may write to exactly these log groups
// and that namespace.
type NodeLogs struct {
	// Files are the log files shipped and their log groups. Required.
	Files []LogFile
	// LogGroupArns are the ARNs of the log groups Files name (without the
	// trailing ":*"). Required.
	LogGroupArns pulumi.StringArray
	// MetricsNamespace is the CloudWatch namespace of the agent's metrics. Required.
	MetricsNamespace string
}

func (l *NodeLogs) validate(component string) error {
	if l == nil {
		return nil
	}
	switch {
	case len(l.Files) == 0:
		return argErr(component, "Logs.Files", "", "at least one log file and its log group")
	case len(l.LogGroupArns) == 0:
		return argErr(component, "Logs.LogGroupArns", "", "the ARNs of the log groups named by Logs.Files")
	case !metricNamespacePattern.MatchString(l.MetricsNamespace) || strings.HasPrefix(l.MetricsNamespace, "AWS/"):
		return argErr(component, "Logs.MetricsNamespace", l.MetricsNamespace, "a CloudWatch namespace (letters, digits, . - _ / # :), not starting with AWS/")
	}
	for _, f := range l.Files {
		if !strings.HasPrefix(f.Path, "/") || f.LogGroupName == "" {
			return argErr(component, "Logs.Files", f.Path+" -> "+f.LogGroupName, "absolute file paths, each with a log group name")
		}
	}
	return nil
}

// agentConfig renders the agent configuration for the node, with disk usage of diskPaths.
func (l *NodeLogs) agentConfig(diskPaths ...string) (string, error) {
	if l == nil {
		return "", nil
	}
	return NewAgentConfig(l.MetricsNamespace, l.Files, append([]string{"/"}, diskPaths...)).JSON()
}

// ClusterLogsArgs configures ClusterLogs.
type ClusterLogsArgs struct {
	// Prefix is the start of every log group name. Defaults to "/<project>/<stack>".
	Prefix string
	// RetentionDays is how long the log groups keep events, one of the
	// periods CloudWatch Logs accepts (LogRetentionDays). Defaults to 14.
	RetentionDays int
	// MetricsNamespace is the CloudWatch namespace of the agent's memory and
	// disk metrics. Defaults to "AMSCluster/<project>/<stack>".
	MetricsNamespace string
	// WithoutMongo leaves out the MongoDB log group (and Mongo), for a
	// cluster on an external database. Defaults to false.
	WithoutMongo bool
	// Tags are added to every log group. Defaults to none.
	Tags map[string]string
}

// ClusterLogs are the log groups of the cluster's nodes: boot scripts, Ant
// Media Server, its errors and MongoDB.
type ClusterLogs struct {
	pulumi.ResourceState

	// BootLogGroup receives the boot scripts' output (cloud-init) of every node.
	BootLogGroup pulumi.StringOutput `pulumi:"bootLogGroup"`
	// AMSLogGroup receives ant-media-server.log of the AMS nodes.
	AMSLogGroup pulumi.StringOutput `pulumi:"amsLogGroup"`
	// AMSErrorLogGroup receives antmedia-error.log of the AMS nodes.
	AMSErrorLogGroup pulumi.StringOutput `pulumi:"amsErrorLogGroup"`
	// MongoLogGroup receives mongod.log of the MongoDB node (empty WithoutMongo).
	MongoLogGroup pulumi.StringOutput `pulumi:"mongoLogGroup"`

	// AMS and Mongo are what to pass as ScalingGroupArgs.Logs and
	// MongoNodeArgs.Logs (Mongo is nil WithoutMongo). AMS's namespace is a
	// prefix: each ScalingGroup publishes under its role's
	// HostMetricNamespace; Mongo's is the MongoMetricHost namespace.
	AMS, Mongo *NodeLogs
}

// Validate applies the defaults to a copy of the arguments and reports the
// first one that is not acceptable.
func (a *ClusterLogsArgs) Validate() error {
	_, err := a.withDefaults()
	return err
}

func (a *ClusterLogsArgs) withDefaults() (ClusterLogsArgs, error) {
	const component = "ClusterLogs"
	bad := fieldErrors{component: component}
	out := ClusterLogsArgs{}
	if a != nil {
		out = *a
	}
	setDefaultInt(&out.RetentionDays, 14)
	if out.Prefix != "" && !logGroupPrefixPattern.MatchString(out.Prefix) {
		bad.reject("Prefix", out.Prefix, "a log group path such as /ams-cluster/dev")
	}
	if !isLogRetention(out.RetentionDays) {
		bad.reject("RetentionDays", out.RetentionDays, "one of "+joinInts(LogRetentionDays)+" days")
	}
	if out.MetricsNamespace != "" && (!metricNamespacePattern.MatchString(out.MetricsNamespace) || strings.HasPrefix(out.MetricsNamespace, "AWS/")) {
		bad.reject("MetricsNamespace", out.MetricsNamespace, "a CloudWatch namespace (letters, digits, . - _ / # :), not starting with AWS/")
	}
	return out, bad.err()
}

// NewClusterLogs creates the log groups, with retention.
func NewClusterLogs(ctx *pulumi.Context, name string, args *ClusterLogsArgs, opts ...pulumi.ResourceOption) (*ClusterLogs, error) {
	a, err := args.withDefaults()
	if err != nil {
		return nil, err
	}
	setDefault(&a.Prefix, fmt.Sprintf("/%s/%s", ctx.Project(), ctx.Stack()))
	setDefault(&a.MetricsNamespace, fmt.Sprintf("AMSCluster/%s/%s", ctx.Project(), ctx.Stack()))
	c := &ClusterLogs{}
	if err := ctx.RegisterComponentResource(typePrefix+"ClusterLogs", name, c, opts...); err != nil {
		return nil, err
	}
	groups := map[string]*cloudwatch.LogGroup{}
	names := []string{"boot", "ams", "ams-error", "mongodb"}
	if a.WithoutMongo {
		names = names[:3]
	}
	for _, g := range names {
		lg, err := cloudwatch.NewLogGroup(ctx, name+"-"+g, &cloudwatch.LogGroupArgs{
			Name:            pulumi.String(a.Prefix + "/" + g),
			RetentionInDays: pulumi.Int(a.RetentionDays),
			Tags:            tagMap(a.Tags, map[string]string{"Name": name + "-" + g}),
		}, pulumi.Parent(c))
		if err != nil {
			return nil, fmt.Errorf("cluster logs %s: log group %s: %w", name, g, err)
		}
		groups[g] = lg
	}
	c.BootLogGroup = groups["boot"].Name
	c.AMSLogGroup = groups["ams"].Name
	c.AMSErrorLogGroup = groups["ams-error"].Name
	c.AMS = &NodeLogs{
		Files: []LogFile{
			{BootLogFile, a.Prefix + "/boot"},
			{AMSLogFile, a.Prefix + "/ams"},
			{AMSErrorLogFile, a.Prefix + "/ams-error"},
		},
		LogGroupArns:     pulumi.StringArray{groups["boot"].Arn, groups["ams"].Arn, groups["ams-error"].Arn},
		MetricsNamespace: a.MetricsNamespace,
	}
	c.MongoLogGroup = pulumi.String("").ToStringOutput()
	if mongo, ok := groups["mongodb"]; ok {
		c.MongoLogGroup = mongo.Name
		c.Mongo = &NodeLogs{
			Files: []LogFile{
				{BootLogFile, a.Prefix + "/boot"},
				{MongoLogFile, a.Prefix + "/mongodb"},
			},
			LogGroupArns:     pulumi.StringArray{groups["boot"].Arn, mongo.Arn},
			MetricsNamespace: HostMetricNamespace(a.MetricsNamespace, MongoMetricHost),
		}
	}
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"bootLogGroup":     c.BootLogGroup,
		"amsLogGroup":      c.AMSLogGroup,
		"amsErrorLogGroup": c.AMSErrorLogGroup,
		"mongoLogGroup":    c.MongoLogGroup,
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// MongoMetricHost names the MongoDB hosts' metric namespace under a
// stack's prefix (HostMetricNamespace).
const MongoMetricHost = "mongodb"

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ", ")
}
