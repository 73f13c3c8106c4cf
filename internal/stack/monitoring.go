package stack

import (
	"github.com/ams-cluster/ams-aws/components"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// MonitoringConfig is the operations layer's configuration (issue 10).
type MonitoringConfig struct {
	// AlertEmail is subscribed to the alarm topic. Key alertEmail, default none.
	AlertEmail string
	// Alarm5xxPercent is the 5xx share of requests that alarms. Key alarm5xxPercent.
	Alarm5xxPercent int
	// MongoCPUAlarmPercent, MongoMemoryAlarmPercent and MongoDiskAlarmPercent
	// are the MongoDB host's thresholds. Keys mongoCpuAlarmPercent,
	// mongoMemoryAlarmPercent, mongoDiskAlarmPercent.
	MongoCPUAlarmPercent, MongoMemoryAlarmPercent, MongoDiskAlarmPercent int
	// LogRetentionDays is the retention of the nodes' log groups. Key logRetentionDays.
	LogRetentionDays int
}

// monitoring reads the operations layer's keys.
func (r *reader) monitoring() MonitoringConfig {
	return MonitoringConfig{
		AlertEmail:              r.str("alertEmail"),
		Alarm5xxPercent:         r.integer("alarm5xxPercent"),
		MongoCPUAlarmPercent:    r.integer("mongoCpuAlarmPercent"),
		MongoMemoryAlarmPercent: r.integer("mongoMemoryAlarmPercent"),
		MongoDiskAlarmPercent:   r.integer("mongoDiskAlarmPercent"),
		LogRetentionDays:        r.integer("logRetentionDays"),
	}
}

// monitoringKeys maps the monitoring components' fields to configuration keys.
var monitoringKeys = map[string]string{
	"AlertEmail": "alertEmail", "Error5xxPercent": "alarm5xxPercent",
	"MongoCPUPercent": "mongoCpuAlarmPercent", "MongoMemoryPercent": "mongoMemoryAlarmPercent",
	"MongoDiskPercent": "mongoDiskAlarmPercent", "RetentionDays": "logRetentionDays",
	"DetectionSeconds": "healthCheckIntervalSeconds",
}

func (c *Config) logsArgs() *components.ClusterLogsArgs {
	return &components.ClusterLogsArgs{RetentionDays: c.LogRetentionDays, WithoutMongo: c.DatabaseURLParameter != "", Tags: c.tags()}
}

// detectionSeconds is how long a target group takes to notice a dead node.
func (c *Config) detectionSeconds() int {
	interval, unhealthy := c.HealthCheckIntervalSeconds, c.UnhealthyThreshold
	if interval == 0 {
		interval = 10
	}
	if unhealthy == 0 {
		unhealthy = 2
	}
	return interval * unhealthy
}

// monitoringWiring are the resources the monitoring watches.
type monitoringWiring struct {
	loadBalancer, originTargetGroup, edgeTargetGroup pulumi.StringInput
	originGroup, edgeGroup, mongoInstance            pulumi.StringInput
	mongoMemberInstances                             []pulumi.StringInput
	ingestLoadBalancer                               pulumi.StringInput
	ingestTargetGroups                               []pulumi.StringInput
	streamingNamespace                               string
}

func (c *Config) monitoringArgs(w monitoringWiring) *components.ClusterMonitoringArgs {
	return &components.ClusterMonitoringArgs{
		AlertEmail:                   c.AlertEmail,
		LoadBalancerArnSuffix:        w.loadBalancer,
		OriginTargetGroupArnSuffix:   w.originTargetGroup,
		EdgeTargetGroupArnSuffix:     w.edgeTargetGroup,
		OriginGroupName:              w.originGroup,
		EdgeGroupName:                w.edgeGroup,
		MongoInstanceID:              w.mongoInstance,
		MongoMemberInstanceIDs:       w.mongoMemberInstances,
		IngestLoadBalancerArnSuffix:  w.ingestLoadBalancer,
		IngestTargetGroupArnSuffixes: w.ingestTargetGroups,
		DetectionSeconds:             c.detectionSeconds(),
		Error5xxPercent:              c.Alarm5xxPercent,
		MongoCPUPercent:              c.MongoCPUAlarmPercent,
		MongoMemoryPercent:           c.MongoMemoryAlarmPercent,
		MongoDiskPercent:             c.MongoDiskAlarmPercent,
		StreamingNamespace:           w.streamingNamespace,
		Tags:                         c.tags(),
	}
}

// pendingMonitoring stands in for the watched resources during validation.
func pendingMonitoring() monitoringWiring {
	p := pulumi.String("pending")
	return monitoringWiring{p, p, p, p, p, p, nil, nil, nil, ""}
}

// buildMonitoring creates the alarms and the dashboard over the built cluster.
func buildMonitoring(ctx *pulumi.Context, base string, cfg *Config, lb *components.StreamingLoadBalancer,
	ingest *components.IngestLoadBalancer, groups map[components.Role]*components.ScalingGroup, mongo *components.MongoNode,
) (*components.ClusterMonitoring, error) {
	w := monitoringWiring{
		loadBalancer:      lb.ArnSuffix,
		originTargetGroup: lb.OriginTargetGroupArnSuffix,
		edgeTargetGroup:   lb.EdgeTargetGroupArnSuffix,
		originGroup:       groups[components.RoleOrigin].GroupName,
		edgeGroup:         groups[components.RoleEdge].GroupName,
		// The groups publish there by default.
		streamingNamespace: components.DefaultMetricNamespace(ctx.Project(), ctx.Stack()),
	}
	if mongo != nil {
		// An external database is watched by its own provider.
		w.mongoInstance = mongo.InstanceID
		for i := 1; i < cfg.MongoMembers; i++ {
			w.mongoMemberInstances = append(w.mongoMemberInstances, mongo.InstanceIDs.Index(pulumi.Int(i)))
		}
	}
	if ingest != nil {
		w.ingestLoadBalancer = ingest.ArnSuffix
		for i := range components.IngestPorts() {
			w.ingestTargetGroups = append(w.ingestTargetGroups, ingest.TargetGroupArnSuffixes.Index(pulumi.Int(i)))
		}
	}
	return components.NewClusterMonitoring(ctx, base, cfg.monitoringArgs(w))
}
