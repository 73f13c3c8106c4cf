package components

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lb"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

var certificateArnPattern = regexp.MustCompile(`^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f-]{36}$`)

// Role is what an AMS node does in the cluster: RoleOrigin or RoleEdge.
type Role string

// Roles of AMS nodes behind the load balancer. The constants are untyped,
// so that they serve as both a Role and a plain string (tag values, resource
// names, map keys); a string variable still needs Role(...) to become one.
const (
	// RoleOrigin nodes ingest published streams.
	RoleOrigin = "origin"
	// RoleEdge nodes serve players.
	RoleEdge = "edge"
)

// Roles are the two roles, origin first.
func Roles() []Role { return []Role{RoleOrigin, RoleEdge} }

// Valid reports whether r is RoleOrigin or RoleEdge.
func (r Role) Valid() bool { return r == RoleOrigin || r == RoleEdge }

// Listener is one front-door port of the StreamingLoadBalancer and the role
// of the nodes it forwards to.
type Listener struct {
	Port     int
	Protocol string
	Role     Role
}

// Listeners are the seed guide's front doors: publish on 80/443 (origin),
// play on 5080/5443 (edge). HTTPS listeners exist only with a certificate.
func Listeners(https bool) []Listener {
	all := []Listener{
		{Port: 80, Protocol: "HTTP", Role: RoleOrigin},
		{Port: 443, Protocol: "HTTPS", Role: RoleOrigin},
		{Port: 5080, Protocol: "HTTP", Role: RoleEdge},
		{Port: 5443, Protocol: "HTTPS", Role: RoleEdge},
	}
	var out []Listener
	for _, l := range all {
		if l.Protocol == "HTTP" || https {
			out = append(out, l)
		}
	}
	return out
}

// DenyRulePriority is the priority of the first rule that refuses the
// panel's initial-user endpoint: the highest (ALB evaluates the lowest
// number first); its patterns take the next priorities too (PatternRules).
const DenyRulePriority = 1

// InitialUserPathPatterns are the ALB path patterns of the rule that refuses
// POST /rest/v2/users/initial from outside, on every listener. ALB compares
// them case-sensitively with the raw path as sent (it does not decode
// percent-encoding and ignores the query string); * matches any run of
// characters, slashes included, and ? exactly one. A pattern may not contain
// "%", so percent-encoded letters are covered by wildcards around what stays
// literal. A rule takes five wildcards, so they fill several rules:
//
//   - *users*itial*: the endpoint behind any prefix, with doubled or encoded
//     (%2F) slashes, a trailing slash or ;path parameters, or with its first
//     or second letter encoded (%69nitial);
//   - *users*initi*: with one of its last two letters encoded (initia%6C);
//   - *users*in*al*: with one of its middle letters encoded (in%69tial);
//   - *initial and *initial/*: with "users", "v2" or "rest" encoded.
//
// Several letters of the last segment encoded at once still pass; the nodes
// close that door themselves: none is in service before the panel is
// claimed, and users/initial refuses once a user exists.
func InitialUserPathPatterns() []string {
	return []string{"*users*itial*", "*users*initi*", "*users*in*al*", "*initial", "*initial/*"}
}

// TLSPolicies are the TLS security policies accepted for HTTPS listeners.
func TLSPolicies() []string {
	return []string{
		"ELBSecurityPolicy-TLS13-1-2-2021-06",
		"ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
		"ELBSecurityPolicy-TLS13-1-3-2021-06",
		"ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
		"ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
	}
}

// StreamingLoadBalancerArgs configures a StreamingLoadBalancer.
type StreamingLoadBalancerArgs struct {
	// VpcID is the VPC of the load balancer and its target groups. Required.
	VpcID pulumi.StringInput
	// SubnetIDs are public subnets in at least two availability zones. Required.
	SubnetIDs pulumi.StringArrayInput
	// CertificateArn is an ACM certificate for the HTTPS listeners (443, 5443).
	// Defaults to none: only the HTTP listeners (80, 5080) are created.
	CertificateArn string
	// IssuedCertificateArn is an ACM certificate known only at deployment,
	// such as a DomainCertificate's CertificateArn; the HTTPS listeners wait
	// for it. Exclusive with CertificateArn. Defaults to none.
	IssuedCertificateArn pulumi.StringInput
	// PlainHTTP keeps the HTTP listeners (80, 5080) forwarding the
	// Applications' paths to the nodes when there is a certificate; the
	// panel and every other path still answer 301 to HTTPS. Defaults to
	// false: with a certificate they answer 301 to the HTTPS listener of
	// their role (443, 5443) for every path.
	PlainHTTP bool
	// DeletionProtection stops the load balancer from being deleted until it
	// is turned off again. Defaults to false.
	DeletionProtection bool
	// AccessLogsBucket is the S3 bucket (an AccessLogBucket's BucketName) the
	// load balancer writes access logs to. Defaults to none: no access logs.
	AccessLogsBucket pulumi.StringInput
	// AccessLogsPrefix is the key prefix of the access logs, as the bucket's
	// policy allows. Defaults to "alb".
	AccessLogsPrefix string
	// TLSPolicy is the security policy of the HTTPS listeners, one of
	// TLSPolicies(). Defaults to "ELBSecurityPolicy-TLS13-1-2-2021-06".
	TLSPolicy string
	// IdleTimeoutSeconds is how long an idle connection stays open; WebSocket
	// signaling needs it well above AWS's 60 s. 1 to 4000. Defaults to 600.
	IdleTimeoutSeconds int
	// HealthCheckPath is the path probed on every node. Defaults to
	// HealthPath, the node agent's capacity-aware endpoint, which answers
	// 503 while the node is full or Ant Media Server is down.
	HealthCheckPath string
	// HealthCheckPort is the node port probed, 1 to 65535. Defaults to
	// HealthPort, where the node's agent answers.
	HealthCheckPort int
	// HealthCheckIntervalSeconds is the time between probes, 5 to 300. Defaults to 10.
	HealthCheckIntervalSeconds int
	// HealthCheckTimeoutSeconds is how long a probe may take, 2 to 120 and
	// below the interval. Defaults to 5.
	HealthCheckTimeoutSeconds int
	// HealthyThreshold is the count of passed probes that makes a node healthy,
	// 2 to 10. Defaults to 2.
	HealthyThreshold int
	// UnhealthyThreshold is the count of failed probes that takes a node out,
	// 2 to 10. Defaults to 2: with the default interval a dead node is noticed
	// within 20 s.
	UnhealthyThreshold int
	// DeregistrationDelaySeconds is how long a leaving node keeps serving its
	// open connections, 0 to 3600. Defaults to 300.
	DeregistrationDelaySeconds int
	// OriginStickinessSeconds is the lifetime of the cookie that keeps a
	// publisher on one origin, 1 to 604800. Defaults to 86400.
	OriginStickinessSeconds int
	// IngressCIDRs may reach the listeners. Defaults to ["0.0.0.0/0"].
	IngressCIDRs []string
	// AdminCIDRs are the IPv4 networks that reach the web panel and the
	// server REST API (/rest/...), at most MaxAdminCIDRs, never 0.0.0.0/0;
	// everybody else reaches only the Applications' paths. Defaults to
	// none: the panel is not reachable through the load balancer at all.
	AdminCIDRs []string
	// Applications are the streaming applications whose paths (/<App>/...)
	// every listener forwards to everybody, at most MaxApplications.
	// Defaults to DefaultApplications().
	Applications []string
	// Tags are added to every resource the load balancer creates. Defaults to none.
	Tags map[string]string
}

// StreamingLoadBalancer is the Application Load Balancer in front of the
// cluster: one target group per role and the seed's listener layout, with
// ?target=origin and ?target=edge rules on the publish listeners. Only the
// streaming applications' paths are public; the web panel and the server
// REST API answer AdminCIDRs alone (see panelDoor).
type StreamingLoadBalancer struct {
	pulumi.ResourceState

	// DNSName is the load balancer's public name.
	DNSName pulumi.StringOutput `pulumi:"dnsName"`
	// Arn is the load balancer's ARN.
	Arn pulumi.StringOutput `pulumi:"arn"`
	// SecurityGroupID is the load balancer's own security group.
	SecurityGroupID pulumi.StringOutput `pulumi:"securityGroupId"`
	// OriginTargetGroupArn is the target group of the origin nodes.
	OriginTargetGroupArn pulumi.StringOutput `pulumi:"originTargetGroupArn"`
	// EdgeTargetGroupArn is the target group of the edge nodes.
	EdgeTargetGroupArn pulumi.StringOutput `pulumi:"edgeTargetGroupArn"`
	// ZoneID is the Route 53 hosted zone of DNSName, for alias records.
	ZoneID pulumi.StringOutput `pulumi:"zoneId"`
	// HTTPSEnabled tells whether the HTTPS listeners exist.
	HTTPSEnabled pulumi.BoolOutput `pulumi:"httpsEnabled"`
	// ArnSuffix is the load balancer's CloudWatch dimension (app/<name>/<id>).
	ArnSuffix pulumi.StringOutput `pulumi:"arnSuffix"`
	// OriginTargetGroupArnSuffix and EdgeTargetGroupArnSuffix are the target
	// groups' CloudWatch dimensions (targetgroup/<name>/<id>).
	OriginTargetGroupArnSuffix pulumi.StringOutput `pulumi:"originTargetGroupArnSuffix"`
	EdgeTargetGroupArnSuffix   pulumi.StringOutput `pulumi:"edgeTargetGroupArnSuffix"`
}

// Validate applies the defaults to a copy of the arguments and reports the
// first one that is not acceptable.
func (a *StreamingLoadBalancerArgs) Validate() error {
	_, err := a.withDefaults()
	return err
}

func (a *StreamingLoadBalancerArgs) withDefaults() (StreamingLoadBalancerArgs, error) {
	const component = "StreamingLoadBalancer"
	bad := fieldErrors{component: component}
	out := StreamingLoadBalancerArgs{}
	if a != nil {
		out = *a
	}
	setDefault(&out.TLSPolicy, "ELBSecurityPolicy-TLS13-1-2-2021-06")
	setDefault(&out.HealthCheckPath, HealthPath)
	setDefaultInt(&out.HealthCheckPort, HealthPort)
	setDefaultInt(&out.IdleTimeoutSeconds, 600)
	setDefaultInt(&out.OriginStickinessSeconds, 86400)
	setDefault(&out.AccessLogsPrefix, "alb")
	health := targetHealth{&out.HealthCheckIntervalSeconds, &out.HealthCheckTimeoutSeconds, &out.HealthyThreshold, &out.UnhealthyThreshold, &out.DeregistrationDelaySeconds}
	health.defaults()
	if len(out.IngressCIDRs) == 0 {
		out.IngressCIDRs = []string{"0.0.0.0/0"}
	}
	if len(out.Applications) == 0 {
		out.Applications = DefaultApplications()
	}
	if out.VpcID == nil {
		bad.reject("VpcID", "", "a VPC ID (required)")
	}
	if out.SubnetIDs == nil {
		bad.reject("SubnetIDs", "", "public subnets in two or more zones (required)")
	}
	if out.CertificateArn != "" && !certificateArnPattern.MatchString(out.CertificateArn) {
		bad.reject("CertificateArn", out.CertificateArn, "empty (HTTP only) or an ACM certificate ARN such as arn:aws:acm:eu-central-1:123456789012:certificate/<uuid>")
	}
	if out.CertificateArn != "" && out.IssuedCertificateArn != nil {
		bad.reject("IssuedCertificateArn", "(set)", "unset when CertificateArn is set: one certificate or the other")
	}
	if !slices.Contains(TLSPolicies(), out.TLSPolicy) {
		bad.reject("TLSPolicy", out.TLSPolicy, strings.Join(TLSPolicies(), ", "))
	}
	bad.within("IdleTimeoutSeconds", out.IdleTimeoutSeconds, 1, 4000, "seconds")
	if !strings.HasPrefix(out.HealthCheckPath, "/") {
		bad.reject("HealthCheckPath", out.HealthCheckPath, "a path starting with /")
	}
	bad.within("HealthCheckPort", out.HealthCheckPort, 1, 65535, "a TCP port")
	bad.within("OriginStickinessSeconds", out.OriginStickinessSeconds, 1, 604800, "seconds")
	health.validate(&bad)
	bad.add(validateIngressCIDRs(component, out.IngressCIDRs))
	validateAdminCIDRs(&bad, out.AdminCIDRs)
	validateApplications(&bad, out.Applications)
	return out, bad.err()
}

// NewStreamingLoadBalancer creates the load balancer, its security group,
// the origin and edge target groups, the listeners and their rules.
func NewStreamingLoadBalancer(ctx *pulumi.Context, name string, args *StreamingLoadBalancerArgs, opts ...pulumi.ResourceOption) (*StreamingLoadBalancer, error) {
	a, err := args.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &StreamingLoadBalancer{}
	if err := ctx.RegisterComponentResource(typePrefix+"StreamingLoadBalancer", name, s, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(s)
	tags := func(suffix string) pulumi.StringMap {
		return tagMap(a.Tags, map[string]string{"Name": name + suffix})
	}
	https := a.CertificateArn != "" || a.IssuedCertificateArn != nil
	certificate := a.IssuedCertificateArn
	if a.CertificateArn != "" {
		certificate = pulumi.String(a.CertificateArn)
	}
	listeners := Listeners(https)

	sg, err := ec2.NewSecurityGroup(ctx, name, &ec2.SecurityGroupArgs{
		VpcId:       a.VpcID,
		Description: pulumi.String("Load balancer of the Ant Media cluster"),
		Tags:        tags(""),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("load balancer %s: security group: %w", name, err)
	}
	rules := &ruleSet{ctx: ctx, group: sg.ID(), parent: s}
	for _, l := range listeners {
		rules.ingressFromCIDRs(fmt.Sprintf("%s-%d", name, l.Port), "tcp", l.Port, a.IngressCIDRs, fmt.Sprintf("%s %d (%s)", l.Protocol, l.Port, l.Role))
	}
	if rules.err != nil {
		return nil, fmt.Errorf("load balancer %s: %w", name, rules.err)
	}

	alb, err := lb.NewLoadBalancer(ctx, name, &lb.LoadBalancerArgs{
		LoadBalancerType:         pulumi.String("application"),
		Internal:                 pulumi.Bool(false),
		Subnets:                  a.SubnetIDs,
		SecurityGroups:           pulumi.StringArray{sg.ID()},
		IdleTimeout:              pulumi.Int(a.IdleTimeoutSeconds),
		DropInvalidHeaderFields:  pulumi.Bool(true),
		EnableHttp2:              pulumi.Bool(true),
		EnableDeletionProtection: pulumi.Bool(a.DeletionProtection),
		AccessLogs:               accessLogs(a.AccessLogsBucket, a.AccessLogsPrefix),
		Tags:                     tags(""),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("load balancer %s: %w", name, err)
	}

	groups := map[Role]*lb.TargetGroup{}
	for _, role := range Roles() {
		tg, err := lb.NewTargetGroup(ctx, name+"-"+string(role), &lb.TargetGroupArgs{
			VpcId:                      a.VpcID,
			Port:                       pulumi.Int(AMSHTTPPort),
			Protocol:                   pulumi.String("HTTP"),
			TargetType:                 pulumi.String("instance"),
			LoadBalancingAlgorithmType: pulumi.String("least_outstanding_requests"),
			DeregistrationDelay:        pulumi.Int(a.DeregistrationDelaySeconds),
			HealthCheck: &lb.TargetGroupHealthCheckArgs{
				Enabled:            pulumi.Bool(true),
				Protocol:           pulumi.String("HTTP"),
				Port:               pulumi.String(strconv.Itoa(a.HealthCheckPort)),
				Path:               pulumi.String(a.HealthCheckPath),
				Matcher:            pulumi.String("200"),
				Interval:           pulumi.Int(a.HealthCheckIntervalSeconds),
				Timeout:            pulumi.Int(a.HealthCheckTimeoutSeconds),
				HealthyThreshold:   pulumi.Int(a.HealthyThreshold),
				UnhealthyThreshold: pulumi.Int(a.UnhealthyThreshold),
			},
			// A publisher's WebSocket and REST calls stay on the origin that holds its stream.
			Stickiness: &lb.TargetGroupStickinessArgs{
				Type:           pulumi.String("lb_cookie"),
				Enabled:        pulumi.Bool(role == RoleOrigin),
				CookieDuration: pulumi.Int(a.OriginStickinessSeconds),
			},
			Tags: tagMap(a.Tags, map[string]string{"Name": name + "-" + string(role), "ams:role": string(role)}),
		}, parent)
		if err != nil {
			return nil, fmt.Errorf("load balancer %s: %s target group: %w", name, role, err)
		}
		groups[role] = tg
	}

	for _, l := range listeners {
		redirectTo, beside := HTTPSCounterpart(l, listeners)
		redirects := beside && !a.PlainHTTP
		args := &lb.ListenerArgs{
			LoadBalancerArn: alb.Arn,
			Port:            pulumi.Int(l.Port),
			Protocol:        pulumi.String(l.Protocol),
			// Only the applications' rules forward to everybody (see panelDoor).
			DefaultActions: lb.ListenerDefaultActionArray{gatedDefaultAction(redirectTo, beside)},
			Tags:           tagMap(a.Tags, map[string]string{"Name": fmt.Sprintf("%s-%d", name, l.Port), "ams:role": string(l.Role)}),
		}
		if redirects {
			args.DefaultActions = lb.ListenerDefaultActionArray{redirectAction(redirectTo)}
		}
		if l.Protocol == "HTTPS" {
			args.CertificateArn = certificate
			args.SslPolicy = pulumi.String(a.TLSPolicy)
		}
		listener, err := lb.NewListener(ctx, fmt.Sprintf("%s-%d", name, l.Port), args, parent)
		if err != nil {
			return nil, fmt.Errorf("load balancer %s: listener %d: %w", name, l.Port, err)
		}
		// Whoever reaches users/initial while the cluster has no user owns
		// the panel; the nodes claim it on localhost, nobody else needs it.
		// The first rule keeps its name; the patterns take several rules.
		for i, patterns := range PatternRules(InitialUserPathPatterns()) {
			ruleName := fmt.Sprintf("%s-%d-deny-initial-user", name, l.Port)
			if i > 0 {
				ruleName = fmt.Sprintf("%s-%d", ruleName, i+1)
			}
			if _, err := lb.NewListenerRule(ctx, ruleName, &lb.ListenerRuleArgs{
				ListenerArn: listener.Arn,
				Priority:    pulumi.Int(DenyRulePriority + i),
				Conditions:  lb.ListenerRuleConditionArray{pathCondition(patterns)},
				Actions:     forbidden(),
				Tags:        tagMap(a.Tags),
			}, parent); err != nil {
				return nil, fmt.Errorf("load balancer %s: listener %d rule refusing users/initial: %w", name, l.Port, err)
			}
		}
		if redirects {
			continue
		}
		door := &panelDoor{ctx: ctx, name: name, parent: parent, tags: a.Tags, apps: a.Applications, admins: a.AdminCIDRs,
			listener: l, arn: listener.Arn, groups: groups}
		// The panel is never served over plain HTTP beside a certificate.
		if err := door.rules(!beside); err != nil {
			return nil, err
		}
	}

	s.DNSName = alb.DnsName
	s.Arn = alb.Arn
	s.ZoneID = alb.ZoneId
	s.SecurityGroupID = sg.ID().ToStringOutput()
	s.OriginTargetGroupArn = groups[RoleOrigin].Arn
	s.EdgeTargetGroupArn = groups[RoleEdge].Arn
	s.HTTPSEnabled = pulumi.Bool(https).ToBoolOutput()
	s.ArnSuffix = alb.ArnSuffix
	s.OriginTargetGroupArnSuffix = groups[RoleOrigin].ArnSuffix
	s.EdgeTargetGroupArnSuffix = groups[RoleEdge].ArnSuffix
	if err := ctx.RegisterResourceOutputs(s, pulumi.Map{
		"arnSuffix":                  s.ArnSuffix,
		"originTargetGroupArnSuffix": s.OriginTargetGroupArnSuffix,
		"edgeTargetGroupArnSuffix":   s.EdgeTargetGroupArnSuffix,
		"dnsName":                    s.DNSName,
		"arn":                        s.Arn,
		"zoneId":                     s.ZoneID,
		"securityGroupId":            s.SecurityGroupID,
		"originTargetGroupArn":       s.OriginTargetGroupArn,
		"edgeTargetGroupArn":         s.EdgeTargetGroupArn,
		"httpsEnabled":               s.HTTPSEnabled,
	}); err != nil {
		return nil, err
	}
	return s, nil
}

// TargetGroupArn returns the target group of a role; a role other than
// RoleOrigin and RoleEdge is an error.
func (s *StreamingLoadBalancer) TargetGroupArn(role Role) (pulumi.StringOutput, error) {
	switch role {
	case RoleOrigin:
		return s.OriginTargetGroupArn, nil
	case RoleEdge:
		return s.EdgeTargetGroupArn, nil
	}
	return pulumi.StringOutput{}, fmt.Errorf("StreamingLoadBalancer has no target group for role %q; roles are %q and %q", role, RoleOrigin, RoleEdge)
}
