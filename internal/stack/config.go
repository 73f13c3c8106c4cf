// Package stack is the Ant Media cluster program: it reads the stack's
// configuration, wires the components together and exports what operators
// need. main.go runs Program; the tests run the same Program under mocks.
package stack

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/ams-cluster/ams-aws/components"
	"github.com/ams-cluster/ams-aws/internal/zones"
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
	// MaxViewersPerNode and MaxPublishersPerNode are the per-node limits
	// (keys <role>MaxViewersPerNode, <role>MaxPublishersPerNode); 0 takes
	// them from the instance type (components.CapacityFor).
	MaxViewersPerNode, MaxPublishersPerNode int
	// Capacity, OnDemandBase and SpotPercent say how the role buys its
	// nodes (keys edgeCapacity, edgeOnDemandBase, edgeSpotPercent; origins
	// stay On-Demand).
	Capacity     string
	OnDemandBase int
	SpotPercent  int
}

// Config is the stack's configuration, read once and validated before any
// resource is declared. Zero values mean the component's documented default.
type Config struct {
	VpcCIDR           string
	ZoneCount         int
	ExistingVpcID     string
	ExistingSubnetIDs []string

	// SubnetPrefixLength sizes every zone's subnet (key subnetPrefixLength).
	SubnetPrefixLength int

	// ZoneLayout places the origin and edge groups (key zoneLayout, or the
	// deprecated spreadAcrossZones).
	ZoneLayout zones.Layout

	AdminCIDR string
	// AdminCIDRs reach the web panel and the server REST API through the
	// load balancer; none means nobody does (Session Manager instead).
	AdminCIDRs []string
	// AllowWideAdminCIDRs accepts admin networks wider than adminPrefixBound.
	AllowWideAdminCIDRs bool
	// StreamingApps are the applications every listener forwards to everybody.
	StreamingApps []string
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
	// DatabaseURLParameter, when set, is the SecureString parameter with
	// the URL of an external database; the stack then runs no MongoDB.
	DatabaseURLParameter string

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
	TurnConfig
	// AppConfig is what the nodes manage on the streaming applications.
	AppConfig
	RecordingsConfig

	// CapacityResumePercent and AMSDownReplaceSeconds are the nodes'
	// health settings (docs/capacity.md).
	CapacityResumePercent int
	AMSDownReplaceSeconds int

	// Warnings are what the configuration deserves a word about (deprecated
	// keys); LoadConfig logs them.
	Warnings []string
}

// Role returns the settings of one role.
func (c *Config) Role(role components.Role) RoleSettings {
	if role == components.RoleEdge {
		return c.Edge
	}
	return c.Origin
}

// LoadConfig reads and validates the stack configuration. Every bad value is
// reported, each in one line naming the key, the value and what is accepted.
// The reader only parses values (a whole number, true or false, a list);
// ranges, defaults and accepted values are the components' own checks, run
// here by validateComponents, so that each is stated in one place.
func LoadConfig(ctx *pulumi.Context) (*Config, error) {
	return loadConfig(ctx, nil)
}

// loadConfig is LoadConfig, noting in read, when not nil, every key it reads.
func loadConfig(ctx *pulumi.Context, read map[string]bool) (*Config, error) {
	r := &reader{cfg: config.New(ctx, ""), project: ctx.Project(), stack: ctx.Stack(), read: read}
	c := &Config{
		VpcCIDR:           r.str("vpcCidr"),
		ZoneCount:         r.integer("zoneCount"),
		ExistingVpcID:     r.str("existingVpcId"),
		ExistingSubnetIDs: r.list("existingSubnetIds"),

		SubnetPrefixLength: r.integer("subnetPrefixLength"),

		AdminCIDR:           r.str("adminCidr"),
		AdminCIDRs:          r.list("adminCidrs"),
		AllowWideAdminCIDRs: r.boolean("allowWideAdminCidrs"),
		StreamingApps:       r.list("streamingApps"),
		SSHPublicKey:        r.str("sshPublicKey"),

		MongoMembers:           r.integer("mongoMembers"),
		MongoInstanceType:      r.str("mongoInstanceType"),
		MongoImageID:           r.str("mongoImageId"),
		MongoVersion:           r.str("mongoVersion"),
		MongoDataVolumeGiB:     r.integer("mongoDataVolumeGiB"),
		SnapshotRetentionCount: r.integer("snapshotRetentionCount"),
		SnapshotIntervalHours:  r.integer("snapshotIntervalHours"),
		SnapshotTime:           r.str("snapshotTime"),

		AMSImageID:              r.str("amsImageId"),
		AMSFollowLatestImage:    r.boolean("amsFollowLatestImage"),
		HealthCheckGraceSeconds: r.integer("healthCheckGraceSeconds"),
		DrainSeconds:            r.integer("drainSeconds"),
		AMSRootVolumeGiB:        r.integer("amsRootVolumeGiB"),
		WebRTCPortMin:           r.integer("webrtcPortMin"),
		WebRTCPortMax:           r.integer("webrtcPortMax"),
		PanelAdminEmail:         r.str("panelAdminEmail"),

		CertificateArn:             r.str("certificateArn"),
		TLSPolicy:                  r.str("tlsPolicy"),
		IdleTimeoutSeconds:         r.integer("idleTimeoutSeconds"),
		HealthCheckIntervalSeconds: r.integer("healthCheckIntervalSeconds"),
		HealthyThreshold:           r.integer("healthyThreshold"),
		UnhealthyThreshold:         r.integer("unhealthyThreshold"),
		IngressCIDRs:               r.list("ingressCidrs"),

		CapacityResumePercent: r.integer("capacityResumePercent"),
		AMSDownReplaceSeconds: r.integer("amsDownReplaceSeconds"),
	}
	c.ZoneLayout = r.zoneLayout(c)
	c.DatabaseURLParameter = r.externalDatabase()
	c.EntryConfig = r.entry(c)
	c.MonitoringConfig = r.monitoring()
	c.TurnConfig = r.turn(c)
	c.AppConfig = r.appConfig()
	c.RecordingsConfig = r.recordings()
	for _, role := range components.Roles() {
		s := RoleSettings{
			InstanceType:     r.str(string(role) + "InstanceType"),
			MinSize:          r.integer(string(role) + "MinSize"),
			DesiredCapacity:  r.integer(string(role) + "DesiredCapacity"),
			MaxSize:          r.integer(string(role) + "MaxSize"),
			CPUTargetPercent: r.integer(string(role) + "CpuTargetPercent"),
			WarmPoolSize:     r.integer(string(role) + "WarmPoolSize"),

			MaxViewersPerNode:    r.integer(string(role) + "MaxViewersPerNode"),
			MaxPublishersPerNode: r.integer(string(role) + "MaxPublishersPerNode"),
		}
		if role == components.RoleEdge {
			s.SurgePerNode = r.integer("edgeScaleViewersPerNode")
			s.Capacity, s.OnDemandBase, s.SpotPercent = r.str("edgeCapacity"), r.integer("edgeOnDemandBase"), r.integer("edgeSpotPercent")
		} else {
			s.SurgePerNode = r.integer("originScalePublishersPerNode")
		}
		if role == components.RoleEdge {
			c.Edge = s
		} else {
			c.Origin = s
		}
	}
	// A private key is several lines: only its presence is read here.
	if key, _ := r.try("sshPrivateKey"); strings.TrimSpace(key) != "" {
		if !ctx.IsConfigSecret(ctx.Project() + ":sshPrivateKey") {
			r.fail("sshPrivateKey", "(plain text, not shown)", "a secret: set it with `pulumi config set --secret sshPrivateKey < key`")
		}
		c.HasPrivateKey = true
		c.SSHPrivateKey = r.cfg.GetSecret("sshPrivateKey")
	}
	if zones := c.zones(); c.MongoMembers > zones {
		r.fail("mongoMembers", c.MongoMembers, fmt.Sprintf("at most zoneCount (or the number of existingSubnetIds), here %d: one member per zone; raise zoneCount to 3 for three members", zones))
	}
	c.validateComponents(r)
	c.guardrails(r)
	if err := c.regionChecks(ctx, r); err != nil {
		return nil, err
	}
	if len(r.errs) > 0 {
		return nil, fmt.Errorf("invalid configuration:\n%w", errors.Join(r.errs...))
	}
	c.Warnings = r.warnings
	for _, w := range c.Warnings {
		if err := ctx.Log.Warn(w, nil); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// validateComponents runs each component's own argument checks on the
// configured values, reporting failures by configuration key.
func (c *Config) validateComponents(r *reader) {
	pending := pulumi.String("pending")
	w := wiring{
		vpcID: pending, subnetIDs: pulumi.StringArray{pending},
		originSubnetIDs: pulumi.StringArray{pending}, edgeSubnetIDs: pulumi.StringArray{pending},
		nodeSecurityGroupID: pending, targetGroupArn: pending,
		databaseURLParameterName: pending, databaseURLParameterArn: pending,
		databaseReadyParameterName: pending, databaseReadyParameterArn: pending,
		panelPasswordParameterName: pending, panelPasswordParameterArn: pending,
	}
	w.appSettings = c.applicationSettings(&components.SecretParameter{Name: pending, Arn: pending})
	// Each component's arguments, and the configuration key behind each
	// field. The groups come before the load balancer: drainSeconds feeds
	// both, and the groups' range is the narrower.
	type check struct {
		args validator
		keys map[string]string
	}
	checks := []check{
		{c.networkArgs(), map[string]string{
			"CidrBlock": "vpcCidr", "ZoneCount": "zoneCount", "ExistingVpcID": "existingVpcId", "ExistingSubnetIDs": "existingSubnetIds",
			"SubnetPrefixLength": "subnetPrefixLength",
		}},
	}
	if c.DatabaseURLParameter == "" {
		checks = append(checks, check{c.mongoArgs(w), map[string]string{
			"InstanceType": "mongoInstanceType", "ImageID": "mongoImageId", "MongoVersion": "mongoVersion",
			"DataVolumeSizeGiB": "mongoDataVolumeGiB", "SnapshotRetentionCount": "snapshotRetentionCount",
			"SnapshotIntervalHours": "snapshotIntervalHours", "SnapshotTime": "snapshotTime",
			"AdminCIDR": "adminCidr", "SSHPublicKey": "sshPublicKey", "SSHPrivateKey": "sshPrivateKey",
			"Members": "mongoMembers", "SubnetIDs": "zoneCount",
		}})
	}
	checks = append(checks, check{c.nodeSecurityGroupArgs(w), map[string]string{
		"WebRTCPortMin": "webrtcPortMin", "WebRTCPortMax": "webrtcPortMax", "AdminCIDR": "adminCidr",
	}})
	for _, role := range components.Roles() {
		checks = append(checks, check{c.scalingGroupArgs(role, w), map[string]string{
			"InstanceType": string(role) + "InstanceType", "MinSize": string(role) + "MinSize", "DesiredCapacity": string(role) + "DesiredCapacity",
			"MaxSize": string(role) + "MaxSize", "CPUTargetPercent": string(role) + "CpuTargetPercent", "ImageID": "amsImageId",
			"FollowLatestImage":       "amsFollowLatestImage",
			"HealthCheckGraceSeconds": "healthCheckGraceSeconds", "DrainSeconds": "drainSeconds",
			"RootVolumeSizeGiB": "amsRootVolumeGiB", "PanelAdminEmail": "panelAdminEmail",
			"WarmPoolSize": string(role) + "WarmPoolSize", "ViewersPerNode": "edgeScaleViewersPerNode",
			"PublishersPerNode": "originScalePublishersPerNode",

			"MaxViewersPerNode": string(role) + "MaxViewersPerNode", "MaxPublishersPerNode": string(role) + "MaxPublishersPerNode",
			"CapacityResumePercent": "capacityResumePercent", "AMSDownReplaceSeconds": "amsDownReplaceSeconds",
			"Capacity": "edgeCapacity", "OnDemandBase": "edgeOnDemandBase", "SpotPercent": "edgeSpotPercent",
		}})
		for field, key := range appKeys {
			checks[len(checks)-1].keys[field] = key
		}
	}
	checks = append(checks,
		check{c.loadBalancerArgs(w), map[string]string{
			"CertificateArn": "certificateArn", "TLSPolicy": "tlsPolicy", "IdleTimeoutSeconds": "idleTimeoutSeconds",
			"HealthCheckIntervalSeconds": "healthCheckIntervalSeconds", "HealthCheckTimeoutSeconds": "healthCheckIntervalSeconds",
			"HealthyThreshold": "healthyThreshold", "UnhealthyThreshold": "unhealthyThreshold",
			"DeregistrationDelaySeconds": "drainSeconds", "IngressCIDRs": "ingressCidrs",
			"AdminCIDRs": "adminCidrs", "Applications": "streamingApps",
		}},
		check{c.logsArgs(), monitoringKeys},
		check{c.accessLogArgs(), map[string]string{"RetentionDays": "accessLogRetentionDays"}},
		check{c.monitoringArgs(pendingMonitoring()), monitoringKeys},
		check{c.recordingStoreArgs("/pending"), recordingKeys})
	if c.Turn {
		checks = append(checks, check{c.turnArgs(w), turnKeys})
	}
	for _, check := range checks {
		for _, err := range leafErrors(check.args.Validate()) {
			var argErr *components.ArgError
			if !errors.As(err, &argErr) {
				r.errs = append(r.errs, err)
				continue
			}
			key, ok := check.keys[argErr.Field]
			if !ok {
				key = argErr.Field
			}
			r.fail(key, argErr.Value, inKeys(argErr.Accepted, check.keys))
		}
		r.refuseZeros(check.args, check.keys)
	}
}

// inKeys rewrites the component fields that accepted names (such as
// "at least MinSize (2)") as the configuration keys behind them.
func inKeys(accepted string, keys map[string]string) string {
	for field, key := range keys {
		accepted = regexp.MustCompile(`\b`+field+`\b`).ReplaceAllString(accepted, key)
	}
	return accepted
}

// validator is a component's arguments, which check themselves.
type validator interface{ Validate() error }

// derivedByZero tells the keys whose Pulumi.yaml default is 0 because the
// component derives the value from another key (subnetPrefixLength from
// vpcCidr): the CLI passes that 0 whenever the stack leaves the key out, so
// there 0 means the default.
func derivedByZero(key string) bool {
	return key == "subnetPrefixLength" || key == "turnNodes" || strings.HasSuffix(key, "MaxViewersPerNode") || strings.HasSuffix(key, "MaxPublishersPerNode")
}

// refuseZeros reports every key set to 0 whose component field takes 0 as
// "use the default": a present 0 is a value, and not one the component
// accepts; only an absent key means the default. The accepted values are
// the component's own, learnt by checking the field at -1.
func (r *reader) refuseZeros(args validator, keys map[string]string) {
	for _, field := range components.DefaultedFields(args) {
		key, ok := keys[field]
		if !ok || !r.zeros[key] || derivedByZero(key) {
			continue
		}
		accepted := "a whole number other than 0"
		v := reflect.New(reflect.TypeOf(args).Elem())
		v.Elem().Set(reflect.ValueOf(args).Elem())
		v.Elem().FieldByName(field).SetInt(-1)
		for _, err := range leafErrors(v.Interface().(validator).Validate()) {
			var argErr *components.ArgError
			if errors.As(err, &argErr) && argErr.Field == field {
				accepted = argErr.Accepted
				break
			}
		}
		r.fail(key, 0, inKeys(accepted, keys)+" (0 is not the default: leave "+key+" out for that)")
	}
}

// leafErrors flattens err, as errors.Join builds it, into its single errors.
func leafErrors(err error) []error {
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		if err == nil {
			return nil
		}
		return []error{err}
	}
	var out []error
	for _, e := range joined.Unwrap() {
		out = append(out, leafErrors(e)...)
	}
	return out
}

// reader reads configuration values by key and collects one error per bad value.
type reader struct {
	cfg      *config.Config
	project  string
	stack    string
	errs     []error
	warnings []string
	// read, when not nil, collects every key read (the tests compare it
	// with Pulumi.yaml's schema).
	read map[string]bool
	// failed are the keys already reported; zeros the keys set to 0.
	failed, zeros map[string]bool
}

// fail records that key holds a value that is not accepted, once per key:
// a key feeding two components (drainSeconds, adminCidr) or failing two
// checks is reported by the first.
func (r *reader) fail(key string, value any, accepted string) {
	if r.failed[key] {
		return
	}
	if r.failed == nil {
		r.failed = map[string]bool{}
	}
	r.failed[key] = true
	if s, ok := value.(string); ok {
		if len(s) > 80 {
			s = fmt.Sprintf("%s… (%d characters)", s[:60], len(s))
		}
		value = strconv.Quote(s)
	}
	r.errs = append(r.errs, fmt.Errorf("%s:%s = %v is not valid; accepted: %s", r.project, key, value, accepted))
}

// try returns the raw value of key and whether it is set, recording that
// the program reads key.
func (r *reader) try(key string) (string, bool) {
	if r.read != nil {
		r.read[key] = true
	}
	raw, err := r.cfg.Try(key)
	return raw, err == nil
}

// maxSettingLength bounds every text setting: the longest one (an SSH
// public key) takes about 750 characters.
const maxSettingLength = 4096

// str reads a text setting: one line of printable text, at most
// maxSettingLength characters. A value with a control character (a
// newline, NUL, a tab) is refused here, before any component or boot
// script sees it.
func (r *reader) str(key string) string {
	raw, _ := r.try(key)
	return r.text(key, strings.TrimSpace(raw))
}

// text refuses s, the value of key, unless it is plain text of at most
// maxSettingLength characters; a refused value reads as empty.
func (r *reader) text(key, s string) string {
	if strings.IndexFunc(s, unicode.IsControl) >= 0 || len(s) > maxSettingLength {
		r.fail(key, s, fmt.Sprintf("one line of text, at most %d characters, without control characters (newline, tab, NUL)", maxSettingLength))
		return ""
	}
	return s
}

// integer reads a whole number; an absent key reads as 0, the component's
// default, and a present 0 is noted (refuseZeros). Its range is the
// component's to check.
func (r *reader) integer(key string) int {
	raw, ok := r.try(key)
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(raw))
	if err != nil {
		r.fail(key, raw, "a whole number")
		return 0
	}
	if n == 0 {
		if r.zeros == nil {
			r.zeros = map[string]bool{}
		}
		r.zeros[key] = true
	}
	return n
}

func (r *reader) boolean(key string) bool {
	raw, ok := r.try(key)
	if !ok {
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
	raw, ok := r.try(key)
	if !ok || strings.TrimSpace(raw) == "" {
		return nil
	}
	var out []string
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		r.fail(key, raw, `a list of strings, e.g. ["a", "b"]`)
		return nil
	}
	for _, v := range out {
		if r.text(key, v) != v {
			return nil
		}
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
