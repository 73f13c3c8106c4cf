// Package plan describes what a stack program registered under the AWS-like
// mocks (internal/mockaws), the way `pulumi up` would build it: the
// resources by component, the public entry points (load balancers, their
// listeners and the groups behind them), who can reach what (from the
// security groups and their rules), the surge timeline of each Auto Scaling
// group, a monthly cost estimate (EstimateCost, from the price table of
// ListPrices) and the stack outputs; and the architecture as a Mermaid
// flowchart.
//
// Everything is derived from the registered resources and their inputs, not
// from a list of the stack's resources, and printed sorted, so the same
// program and configuration always print the same plan.
package plan

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/ams-cluster/ams-aws/internal/mockaws"
)

// Type tokens of the resources the plan reads.
const (
	typeLoadBalancer  = "aws:lb/loadBalancer:LoadBalancer"
	typeListener      = "aws:lb/listener:Listener"
	typeListenerRule  = "aws:lb/listenerRule:ListenerRule"
	typeTargetGroup   = "aws:lb/targetGroup:TargetGroup"
	typeGroup         = "aws:autoscaling/group:Group"
	typeLaunchTmpl    = "aws:ec2/launchTemplate:LaunchTemplate"
	typeInstance      = "aws:ec2/instance:Instance"
	typeENI           = "aws:ec2/networkInterface:NetworkInterface"
	typeSecurityGroup = "aws:ec2/securityGroup:SecurityGroup"
	typeIngress       = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
	typeEgress        = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
	typeRecord        = "aws:route53/record:Record"
	typeAlarm         = "aws:cloudwatch/metricAlarm:MetricAlarm"
	typePolicy        = "aws:autoscaling/policy:Policy"
)

// Plan is what one run of a stack program registered, ready to print.
type Plan struct {
	// Stack names the stack in the headings.
	Stack string
	r     *mockaws.Result
}

// New returns the plan of a run that succeeded (r.Err is nil).
func New(stack string, r *mockaws.Result) *Plan { return &Plan{Stack: stack, r: r} }

// WriteText prints the whole plan as aligned plain text: resources,
// entry points, reachability, surge timeline, monthly cost estimate and
// outputs.
func (p *Plan) WriteText(w io.Writer) error {
	var b strings.Builder
	p.resources(&b)
	p.entryPoints(&b)
	p.reachability(&b)
	p.surge(&b)
	if err := p.EstimateCost(ListPrices(), DefaultAssumptions()).WriteCost(&b); err != nil {
		return err
	}
	p.outputs(&b)
	_, err := io.WriteString(w, b.String())
	return err
}

// shortType is a type token without the provider's "aws:" and module path:
// "aws:ec2/subnet:Subnet" -> "ec2:Subnet".
func shortType(t string) string {
	parts := strings.Split(t, ":")
	if len(parts) != 3 {
		return t
	}
	module := parts[1]
	if i := strings.Index(module, "/"); i >= 0 {
		module = module[:i]
	}
	if parts[0] == "aws" {
		return module + ":" + parts[2]
	}
	return parts[0] + ":" + module + ":" + parts[2]
}

// resources prints the tree of components and their children.
func (p *Plan) resources(b *strings.Builder) {
	children := map[string][]*mockaws.Resource{}
	byURN := map[string]bool{}
	for _, res := range p.r.Resources {
		byURN[res.URN] = true
	}
	var top []*mockaws.Resource
	for _, res := range p.r.Resources {
		if byURN[res.Parent] {
			children[res.Parent] = append(children[res.Parent], res)
		} else {
			top = append(top, res)
		}
	}
	fmt.Fprintf(b, "Stack %s: %d resources\n\n", p.Stack, len(p.r.Resources))
	sortResources(top)
	var loose []*mockaws.Resource
	for _, res := range top {
		if res.Custom {
			loose = append(loose, res)
			continue
		}
		p.tree(b, res, children, 0)
	}
	if len(loose) > 0 {
		fmt.Fprintf(b, "(stack)\n")
		printChildren(b, loose, 1)
	}
	b.WriteString("\n")
}

func (p *Plan) tree(b *strings.Builder, c *mockaws.Resource, children map[string][]*mockaws.Resource, depth int) {
	fmt.Fprintf(b, "%s%s %s\n", strings.Repeat("  ", depth), c.Type, c.Name)
	kids := children[c.URN]
	sortResources(kids)
	var custom []*mockaws.Resource
	for _, k := range kids {
		if k.Custom {
			custom = append(custom, k)
		}
	}
	printChildren(b, custom, depth+1)
	for _, k := range kids {
		if !k.Custom {
			p.tree(b, k, children, depth+1)
		}
	}
}

func printChildren(b *strings.Builder, rs []*mockaws.Resource, depth int) {
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	for _, r := range rs {
		fmt.Fprintf(tw, "%s%s\t%s\n", strings.Repeat("  ", depth), shortType(r.Type), r.Name)
	}
	_ = tw.Flush()
}

func sortResources(rs []*mockaws.Resource) {
	sort.SliceStable(rs, func(i, j int) bool {
		if rs[i].Type != rs[j].Type {
			return rs[i].Type < rs[j].Type
		}
		return rs[i].Name < rs[j].Name
	})
}

// outputs prints the stack outputs; secrets stay hidden.
func (p *Plan) outputs(b *strings.Builder) {
	names := make([]string, 0, len(p.r.Outputs))
	for n := range p.r.Outputs {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(b, "Outputs\n")
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	for _, n := range names {
		o := p.r.Outputs[n]
		v := fmt.Sprint(o.Value)
		if o.Secret {
			v = "[secret]"
		}
		fmt.Fprintf(tw, "  %s\t%s\n", n, v)
	}
	_ = tw.Flush()
}

// strs is a list input (of strings) at path, or nil.
func strs(r *mockaws.Resource, path string) []string {
	v := mockaws.Unsecret(r.Input(path))
	if !v.IsArray() {
		return nil
	}
	var out []string
	for _, e := range v.ArrayValue() {
		if e = mockaws.Unsecret(e); e.IsString() {
			out = append(out, e.StringValue())
		}
	}
	return out
}

// count is the length of a list input at path.
func count(r *mockaws.Resource, path string) int {
	v := mockaws.Unsecret(r.Input(path))
	if !v.IsArray() {
		return 0
	}
	return len(v.ArrayValue())
}

// parentOf is a resource's parent, or nil.
func (p *Plan) parentOf(r *mockaws.Resource) *mockaws.Resource {
	if r.Parent == "" {
		return nil
	}
	return p.r.ByURN(r.Parent)
}

// componentOf is the outermost component above r that is not the stack, or nil.
func (p *Plan) componentOf(r *mockaws.Resource) *mockaws.Resource {
	var top *mockaws.Resource
	for c := p.parentOf(r); c != nil; c = p.parentOf(c) {
		top = c
	}
	return top
}

// label names a component "StreamingLoadBalancer ams-cluster-dev".
func label(c *mockaws.Resource) string {
	t := c.Type
	if i := strings.LastIndex(t, ":"); i >= 0 {
		t = t[i+1:]
	}
	return t + " " + c.Name
}
