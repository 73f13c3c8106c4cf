// Package stack is the Ant Media cluster program: it reads the stack's
// configuration, wires the components together and exports what operators
// need. main.go runs Program; the tests run the same Program under mocks.
package stack

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/ams-cluster/ams-aws/components"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
)

// RoleSettings are the per-role sizes of a ScalingGroup.
type RoleSettings struct {
	InstanceType     string
	MinSize          int
	DesiredCapacity  int
	MaxSize          int
	CPUTargetPercent int
	// WarmPoolSize is the role's warm pool of stopped, installed nodes.
	WarmPoolSize int
	// SurgePerNode is the viewers (edge) or publishers (origin) per node
	// above which the role scales out at once; 0 is off.
	SurgePerNode int
}

// Config is the stack's configuration, read once and validated before any
// resource is declared. Zero values mean the component's documented default.
type Config struct {
	// Region is aws:region.
	Region string

	VpcCIDR           string
	ZoneCount         int
	ExistingVpcID     string
	ExistingSubnetIDs []string
	SpreadAcrossZones bool

	AdminCIDR     string
	SSHPublicKey  string
	SSHPrivateKey pulumi.StringOutput // secret; valid only when HasPrivateKey
	HasPrivateKey bool

	MongoMembers           int
	MongoInstanceType      string
	MongoImageID           string
	MongoVersion           string
	MongoDataVolumeGiB     int
	SnapshotRetentionCount int
	SnapshotIntervalHours  int
	SnapshotTime           string

	AMSImageID              string
	AMSFollowLatestImage    bool
	Origin, Edge            RoleSettings
	HealthCheckGraceSeconds int
	DrainSeconds            int
	AMSRootVolumeGiB        int
	WebRTCPortMin           int
	WebRTCPortMax           int
	PanelAdminEmail         string

	CertificateArn             string
	TLSPolicy                  string
	IdleTimeoutSeconds         int
	HealthCheckIntervalSeconds int
	HealthyThreshold           int
	UnhealthyThreshold         int
	IngressCIDRs               []string

	EntryConfig
	MonitoringConfig
}

// Role returns the settings of one role.
func (c *Config) Role(role string) RoleSettings {
	if role == components.RoleEdge {
		return c.Edge
	}
	return c.Origin
}

// LoadConfig reads and validates the stack configuration. Every bad value is
// reported, each in one line naming the key, the value and what is accepted.
func LoadConfig(ctx *pulumi.Context) (*Config, error) {
	r := &reader{cfg: config.New(ctx, ""), project: ctx.Project()}
	c := &Config{
		Region: config.Get(ctx, "aws:region"),

		VpcCIDR:           r.str("vpcCidr"),
		ZoneCount:         r.integer("zoneCount", 2, 6),
		ExistingVpcID:     r.str("existingVpcId"),
		ExistingSubnetIDs: r.list("existingSubnetIds"),
		SpreadAcrossZones: r.boolean("spreadAcrossZones"),

		AdminCIDR:    r.str("adminCidr"),
		SSHPublicKey: r.str("sshPublicKey"),

		MongoMembers:           r.integer("mongoMembers", 1, 3),
		MongoInstanceType:      r.str("mongoInstanceType"),
		MongoImageID:           r.str("mongoImageId"),
		MongoVersion:           r.str("mongoVersion"),
		MongoDataVolumeGiB:     r.integer("mongoDataVolumeGiB", 1, 16384),
		SnapshotRetentionCount: r.integer("snapshotRetentionCount", 1, 1000),
		SnapshotIntervalHours:  r.integer("snapshotIntervalHours", 1, 24),
		SnapshotTime:           r.str("snapshotTime"),

		AMSImageID:              r.str("amsImageId"),
		AMSFollowLatestImage:    r.boolean("amsFollowLatestImage"),
		HealthCheckGraceSeconds: r.integer("healthCheckGraceSeconds", 60, 3600),
		DrainSeconds:            r.integer("drainSeconds", 30, 3600),
		AMSRootVolumeGiB:        r.integer("amsRootVolumeGiB", 20, 16384),
		WebRTCPortMin:           r.integer("webrtcPortMin", 1024, 65535),
		WebRTCPortMax:           r.integer("webrtcPortMax", 1024, 65535),
		PanelAdminEmail:         r.str("panelAdminEmail"),

		CertificateArn:             r.str("certificateArn"),
		TLSPolicy:                  r.str("tlsPolicy"),
		IdleTimeoutSeconds:         r.integer("idleTimeoutSeconds", 1, 4000),
		HealthCheckIntervalSeconds: r.integer("healthCheckIntervalSeconds", 5, 300),
		HealthyThreshold:           r.integer("healthyThreshold", 2, 10),
		UnhealthyThreshold:         r.integer("unhealthyThreshold", 2, 10),
		IngressCIDRs:               r.list("ingressCidrs"),
	}
	c.EntryConfig = r.entry(c)
	c.MonitoringConfig = r.monitoring()
	for _, role := range []string{components.RoleOrigin, components.RoleEdge} {
		s := RoleSettings{
			InstanceType:     r.str(role + "InstanceType"),
			MinSize:          r.integer(role+"MinSize", 1, 1000),
			DesiredCapacity:  r.integer(role+"DesiredCapacity", 0, 1000),
			MaxSize:          r.integer(role+"MaxSize", 1, 1000),
			CPUTargetPercent: r.integer(role+"CpuTargetPercent", 10, 90),
			WarmPoolSize:     r.integer(role+"WarmPoolSize", 0, 1000),
		}
		if role == components.RoleEdge {
			s.SurgePerNode = r.integer("edgeScaleViewersPerNode", 0, 100000)
		} else {
			s.SurgePerNode = r.integer("originScalePublishersPerNode", 0, 10000)
		}
		if role == components.RoleEdge {
			c.Edge = s
		} else {
			c.Origin = s
		}
	}
	if key := r.str("sshPrivateKey"); key != "" {
		if !ctx.IsConfigSecret(ctx.Project() + ":sshPrivateKey") {
			r.fail("sshPrivateKey", "(plain text, not shown)", "a secret: set it with `pulumi config set --secret sshPrivateKey < key`")
		}
		c.HasPrivateKey = true
		c.SSHPrivateKey = r.cfg.GetSecret("sshPrivateKey")
	}
	if c.PanelAdminEmail != "" && !strings.Contains(c.PanelAdminEmail, "@") {
		r.fail("panelAdminEmail", c.PanelAdminEmail, "an e-mail address, the panel's login name")
	}
	if c.AlertEmail != "" && !components.IsEmail(c.AlertEmail) {
		r.fail("alertEmail", c.AlertEmail, "an e-mail address such as ops@example.com (AWS mails it a confirmation link)")
	}
	if c.LogRetentionDays != 0 && !components.IsLogRetention(c.LogRetentionDays) {
		r.fail("logRetentionDays", c.LogRetentionDays, "a retention CloudWatch Logs accepts: one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653 days")
	}
	if zones := c.zones(); c.MongoMembers > zones {
		r.fail("mongoMembers", c.MongoMembers, fmt.Sprintf("at most zoneCount (or the number of existingSubnetIds), here %d: one member per zone; raise zoneCount to 3 for three members", zones))
	}
	if len(r.errs) == 0 {
		c.validateComponents(r)
	}
	if len(r.errs) > 0 {
		return nil, fmt.Errorf("invalid configuration:\n%w", errors.Join(r.errs...))
	}
	return c, nil
}

// validateComponents runs each component's own argument checks on the
// configured values, reporting failures by configuration key.
func (c *Config) validateComponents(r *reader) {
	pending := pulumi.String("pending")
	w := wiring{
		vpcID: pending, subnetIDs: pulumi.StringArray{pending}, amsSubnetIDs: pulumi.StringArray{pending},
		nodeSecurityGroupID: pending, targetGroupArn: pending,
		databaseURLParameterName: pending, databaseURLParameterArn: pending,
		databaseReadyParameterName: pending, databaseReadyParameterArn: pending,
		panelPasswordParameterName: pending, panelPasswordParameterArn: pending,
	}
	// Each component's checks, and the configuration key behind each field.
	type check struct {
		validate func() error
		keys     map[string]string
	}
	checks := []check{
		{c.networkArgs().Validate, map[string]string{
			"CidrBlock": "vpcCidr", "ZoneCount": "zoneCount", "ExistingVpcID": "existingVpcId", "ExistingSubnetIDs": "existingSubnetIds",
		}},
		{c.mongoArgs(w).Validate, map[string]string{
			"InstanceType": "mongoInstanceType", "ImageID": "mongoImageId", "MongoVersion": "mongoVersion",
			"DataVolumeSizeGiB": "mongoDataVolumeGiB", "SnapshotRetentionCount": "snapshotRetentionCount",
			"SnapshotIntervalHours": "snapshotIntervalHours", "SnapshotTime": "snapshotTime",
			"AdminCIDR": "adminCidr", "SSHPublicKey": "sshPublicKey", "SSHPrivateKey": "sshPrivateKey",
			"Members": "mongoMembers", "SubnetIDs": "zoneCount",
		}},
		{c.nodeSecurityGroupArgs(w).Validate, map[string]string{
			"WebRTCPortMin": "webrtcPortMin", "WebRTCPortMax": "webrtcPortMax", "AdminCIDR": "adminCidr",
		}},
		{c.loadBalancerArgs(w).Validate, map[string]string{
			"CertificateArn": "certificateArn", "TLSPolicy": "tlsPolicy", "IdleTimeoutSeconds": "idleTimeoutSeconds",
			"HealthCheckIntervalSeconds": "healthCheckIntervalSeconds", "HealthCheckTimeoutSeconds": "healthCheckIntervalSeconds",
			"HealthyThreshold": "healthyThreshold", "UnhealthyThreshold": "unhealthyThreshold",
			"DeregistrationDelaySeconds": "drainSeconds", "IngressCIDRs": "ingressCidrs",
		}},
	}
	for _, role := range []string{components.RoleOrigin, components.RoleEdge} {
		checks = append(checks, check{c.scalingGroupArgs(role, w).Validate, map[string]string{
			"InstanceType": role + "InstanceType", "MinSize": role + "MinSize", "DesiredCapacity": role + "DesiredCapacity",
			"MaxSize": role + "MaxSize", "CPUTargetPercent": role + "CpuTargetPercent", "ImageID": "amsImageId",
			"FollowLatestImage":       "amsFollowLatestImage",
			"HealthCheckGraceSeconds": "healthCheckGraceSeconds", "DrainSeconds": "drainSeconds",
			"RootVolumeSizeGiB": "amsRootVolumeGiB", "PanelAdminEmail": "panelAdminEmail",
			"WarmPoolSize": role + "WarmPoolSize", "ViewersPerNode": "edgeScaleViewersPerNode",
			"PublishersPerNode": "originScalePublishersPerNode",
		}})
	}
	checks = append(checks,
		check{c.logsArgs().Validate, monitoringKeys},
		check{c.monitoringArgs(pendingMonitoring()).Validate, monitoringKeys})
	for _, check := range checks {
		err := check.validate()
		var argErr *components.ArgError
		if errors.As(err, &argErr) {
			key, ok := check.keys[argErr.Field]
			if !ok {
				key = argErr.Field
			}
			r.fail(key, argErr.Value, argErr.Accepted)
		} else if err != nil {
			r.errs = append(r.errs, err)
		}
	}
}

// reader reads configuration values by key and collects one error per bad value.
type reader struct {
	cfg     *config.Config
	project string
	errs    []error
}

func (r *reader) fail(key string, value any, accepted string) {
	if s, ok := value.(string); ok {
		value = strconv.Quote(s)
	}
	r.errs = append(r.errs, fmt.Errorf("%s:%s = %v is not valid; accepted: %s", r.project, key, value, accepted))
}

func (r *reader) str(key string) string {
	return strings.TrimSpace(r.cfg.Get(key))
}

// integer reads a whole number in [min, max]; an absent key reads as 0, the default.
func (r *reader) integer(key string, min, max int) int {
	raw, err := r.cfg.Try(key)
	if err != nil {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(raw))
	if err != nil || n < min || n > max {
		r.fail(key, raw, fmt.Sprintf("a whole number from %d to %d", min, max))
		return 0
	}
	return n
}

func (r *reader) boolean(key string) bool {
	raw, err := r.cfg.Try(key)
	if err != nil {
		return false
	}
	b, err := strconv.ParseBool(strings.TrimSpace(raw))
	if err != nil {
		r.fail(key, raw, "true or false")
	}
	return b
}

// list reads a JSON array of strings, the form Pulumi gives array values in.
func (r *reader) list(key string) []string {
	raw, err := r.cfg.Try(key)
	if err != nil || strings.TrimSpace(raw) == "" {
		return nil
	}
	var out []string
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		r.fail(key, raw, `a list of strings, e.g. ["a", "b"]`)
		return nil
	}
	return out
}

// zones is the number of zones with a public subnet: zoneCount (2 when
// unset), or the adopted subnets.
func (c *Config) zones() int {
	switch {
	case c.ExistingVpcID != "" || len(c.ExistingSubnetIDs) > 0:
		return len(c.ExistingSubnetIDs)
	case c.ZoneCount == 0:
		return 2
	}
	return c.ZoneCount
}
