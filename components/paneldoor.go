package components

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lb"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// The web panel and the server REST API (/rest/...) are an administrator's
// door: Ant Media serves them from its root context, and a panel
// administrator can deploy applications (code) on every node. Streaming
// applications live under /<App>/. On every listener that forwards, the
// StreamingLoadBalancer therefore forwards only the applications' paths to
// everybody, and everything else (the panel, /rest/..., any other path)
// only to AdminCIDRs; the default action refuses. ALB evaluates rules by
// priority, lowest first:
//
//	1-9    users/initial: 403, for everybody (from DenyRulePriority)
//	10-19  dot-dot segments, plain or percent-encoded: 403, for everybody
//	20, 21 ?target=edge / ?target=origin on an application path (publish listeners)
//	30     an application path: forward
//	40-43  from AdminCIDRs: forward (the panel, /rest/...)
//	default 403, or on a plain-HTTP listener beside a certificate the
//	        redirect to HTTPS: the panel is never served over plain HTTP
//	        when there is a certificate.
const (
	dotSegmentRulePriority  = 10
	targetRulePriority      = 20
	applicationRulePriority = 30
	adminRulePriority       = 40
)

// albValuesPerRule is the most match evaluations (values over all
// conditions) one ALB listener rule takes, and albWildcardsPerRule the most
// wildcards (* and ?) over all its values (Elastic Load Balancing quotas,
// "Rules").
const (
	albValuesPerRule    = 5
	albWildcardsPerRule = 5
)

// PatternRules splits path patterns, in order, into the fewest runs that
// each fit in one rule: at most albValuesPerRule values and
// albWildcardsPerRule wildcards. A pattern with more wildcards than a rule
// takes is a run of its own (and refused by AWS).
func PatternRules(patterns []string) [][]string {
	var out [][]string
	var run []string
	wild := 0
	for _, p := range patterns {
		n := strings.Count(p, "*") + strings.Count(p, "?")
		if len(run) > 0 && (len(run) == albValuesPerRule || wild+n > albWildcardsPerRule) {
			out, run, wild = append(out, run), nil, 0
		}
		run, wild = append(run, p), wild+n
	}
	if len(run) > 0 {
		out = append(out, run)
	}
	return out
}

// MaxAdminCIDRs is how many networks AdminCIDRs may list: four rules of
// five source-IP values.
const MaxAdminCIDRs = 20

// MaxApplications is how many streaming applications the load balancer
// routes: a ?target rule takes one query value and one path per application.
const MaxApplications = albValuesPerRule - 1

// DefaultApplications are the streaming applications of the Marketplace image.
func DefaultApplications() []string { return []string{"LiveApp", "WebRTCAppEE"} }

// ApplicationPathPatterns are the ALB path patterns of the applications:
// /<App>/ and everything under it.
func ApplicationPathPatterns(apps []string) []string {
	out := make([]string, len(apps))
	for i, app := range apps {
		out[i] = "/" + app + "/*"
	}
	return out
}

// DotSegmentPathPatterns match a path with a ".." segment, as sent or
// percent-encoded (%2e, %2E; "?" stands for the "%", which a pattern may
// not contain): Ant Media's servlet container decodes and resolves them, so
// /WebRTCAppEE/%2e%2e/rest/v2/... would reach the server REST through an
// application's path. A segment's parameters (..;x) do not hide it.
func DotSegmentPathPatterns() []string {
	return []string{
		"*/..*", "*/.?2e*", "*/.?2E*", "*/?2e.*", "*/?2E.*",
		"*/?2e?2e*", "*/?2e?2E*", "*/?2E?2e*", "*/?2E?2E*",
	}
}

// panelDoor is what decides who reaches the panel on one listener.
type panelDoor struct {
	ctx      *pulumi.Context
	name     string // the load balancer's name
	parent   pulumi.ResourceOption
	tags     map[string]string
	apps     []string
	admins   []string
	listener Listener
	arn      pulumi.StringOutput
	groups   map[Role]*lb.TargetGroup
}

// defaultAction is a gated listener's default: 403, or the redirect to
// httpsPort when the listener is plain HTTP beside a certificate.
func gatedDefaultAction(redirectTo int, plainBesideHTTPS bool) *lb.ListenerDefaultActionArgs {
	if plainBesideHTTPS {
		return redirectAction(redirectTo)
	}
	return &lb.ListenerDefaultActionArgs{
		Type: pulumi.String("fixed-response"),
		FixedResponse: &lb.ListenerDefaultActionFixedResponseArgs{
			ContentType: pulumi.String("text/plain"),
			MessageBody: pulumi.String("Forbidden"),
			StatusCode:  pulumi.String("403"),
		},
	}
}

// forbidden is the 403 a refusing rule answers.
func forbidden() lb.ListenerRuleActionArray {
	return lb.ListenerRuleActionArray{&lb.ListenerRuleActionArgs{
		Type: pulumi.String("fixed-response"),
		FixedResponse: &lb.ListenerRuleActionFixedResponseArgs{
			ContentType: pulumi.String("text/plain"),
			MessageBody: pulumi.String("Forbidden"),
			StatusCode:  pulumi.String("403"),
		},
	}}
}

func (d *panelDoor) forward(role Role) lb.ListenerRuleActionArray {
	return lb.ListenerRuleActionArray{&lb.ListenerRuleActionArgs{Type: pulumi.String("forward"), TargetGroupArn: d.groups[role].Arn}}
}

func pathCondition(patterns []string) *lb.ListenerRuleConditionArgs {
	return &lb.ListenerRuleConditionArgs{PathPattern: &lb.ListenerRuleConditionPathPatternArgs{Values: pulumi.ToStringArray(patterns)}}
}

// rule creates one listener rule named <lb>-<port>-<what>.
func (d *panelDoor) rule(what string, priority int, actions lb.ListenerRuleActionArray, conditions ...*lb.ListenerRuleConditionArgs) error {
	var cs lb.ListenerRuleConditionArray
	for _, c := range conditions {
		cs = append(cs, c)
	}
	if _, err := lb.NewListenerRule(d.ctx, fmt.Sprintf("%s-%d-%s", d.name, d.listener.Port, what), &lb.ListenerRuleArgs{
		ListenerArn: d.arn,
		Priority:    pulumi.Int(priority),
		Conditions:  cs,
		Actions:     actions,
		Tags:        tagMap(d.tags),
	}, d.parent); err != nil {
		return fmt.Errorf("load balancer %s: listener %d rule %s: %w", d.name, d.listener.Port, what, err)
	}
	return nil
}

// rules creates the rules of a gated listener: the dot-segment refusal,
// the ?target rules (publish listeners), the applications' forward and,
// when panel is true, the administrators' forward.
func (d *panelDoor) rules(panel bool) error {
	for i, chunk := range PatternRules(DotSegmentPathPatterns()) {
		if err := d.rule(fmt.Sprintf("deny-dot-segments-%d", i+1), dotSegmentRulePriority+i, forbidden(), pathCondition(chunk)); err != nil {
			return err
		}
	}
	apps := ApplicationPathPatterns(d.apps)
	if d.listener.Role == RoleOrigin {
		// As in Ant Media's own template: ?target=edge and ?target=origin
		// pick the group explicitly on the publish listeners.
		for i, role := range []Role{RoleEdge, RoleOrigin} {
			query := &lb.ListenerRuleConditionArgs{QueryStrings: lb.ListenerRuleConditionQueryStringArray{
				&lb.ListenerRuleConditionQueryStringArgs{Key: pulumi.String("target"), Value: pulumi.String(string(role))},
			}}
			if err := d.rule("target-"+string(role), targetRulePriority+i, d.forward(role), query, pathCondition(apps)); err != nil {
				return err
			}
		}
	}
	if err := d.rule("applications", applicationRulePriority, d.forward(d.listener.Role), pathCondition(apps)); err != nil {
		return err
	}
	if !panel {
		return nil
	}
	for i := 0; i*albValuesPerRule < len(d.admins); i++ {
		chunk := d.admins[i*albValuesPerRule : min(len(d.admins), (i+1)*albValuesPerRule)]
		source := &lb.ListenerRuleConditionArgs{SourceIp: &lb.ListenerRuleConditionSourceIpArgs{Values: pulumi.ToStringArray(chunk)}}
		if err := d.rule(fmt.Sprintf("admin-%d", i+1), adminRulePriority+i, d.forward(d.listener.Role), source); err != nil {
			return err
		}
	}
	return nil
}

// validateApplications checks application names: what Ant Media accepts as
// an application (letters and digits), at most MaxApplications, each once.
func validateApplications(bad *fieldErrors, apps []string) {
	accepted := fmt.Sprintf("1 to %d distinct application names of letters and digits, such as %s", MaxApplications, strings.Join(DefaultApplications(), ", "))
	if len(apps) == 0 || len(apps) > MaxApplications {
		bad.reject("Applications", strings.Join(apps, ","), accepted)
		return
	}
	seen := map[string]bool{}
	for _, app := range apps {
		if !applicationPattern.MatchString(app) || seen[app] || app == "rest" {
			bad.reject("Applications", app, accepted)
			return
		}
		seen[app] = true
	}
}

// applicationPattern is an Ant Media application name.
var applicationPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]{0,63}$`)

// validateAdminCIDRs checks the administrators' networks: distinct IPv4
// networks narrower than 0.0.0.0/0, at most MaxAdminCIDRs.
func validateAdminCIDRs(bad *fieldErrors, cidrs []string) {
	accepted := fmt.Sprintf("empty (the panel only through Session Manager) or up to %d distinct IPv4 networks narrower than 0.0.0.0/0, e.g. 203.0.113.7/32", MaxAdminCIDRs)
	if len(cidrs) > MaxAdminCIDRs {
		bad.reject("AdminCIDRs", fmt.Sprintf("%d networks", len(cidrs)), accepted)
		return
	}
	seen := map[string]bool{}
	for _, cidr := range cidrs {
		if _, err := parseIPv4CIDR(cidr); err != nil || isOpenToWorld(cidr) || seen[cidr] {
			bad.reject("AdminCIDRs", cidr, accepted)
			return
		}
		seen[cidr] = true
	}
}
