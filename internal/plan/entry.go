package plan

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/ams-cluster/ams-aws/internal/mockaws"
)

// loadBalancer is one load balancer and what listens on it.
type loadBalancer struct {
	res       *mockaws.Resource
	host      string // its DNS alias, or its own DNS name
	listeners []*listener
}

// listener is one listener: its default action, then its rules.
type listener struct {
	res      *mockaws.Resource
	protocol string
	port     int
	def      action
	rules    []rule
}

// rule is one listener rule: its priority, conditions and action.
type rule struct {
	priority  int
	condition string
	action    action
}

// action is what a listener or rule does: forward to a target group,
// redirect, or answer.
type action struct {
	what   string
	target *mockaws.Resource // the target group forwarded to
}

func (a action) String() string {
	if a.target != nil {
		return fmt.Sprintf("forward %s (%s %s)", a.target.Name, a.target.Str("protocol"), a.target.Str("port"))
	}
	return a.what
}

// loadBalancers lists the load balancers with their listeners and rules, sorted.
func (p *Plan) loadBalancers() []*loadBalancer {
	aliases := map[string]string{}
	for _, rec := range p.r.OfType(typeRecord) {
		if dns := strings.TrimSuffix(rec.Str("aliases.0.name"), "."); dns != "" {
			name := strings.TrimSuffix(rec.Str("name"), ".")
			if old, ok := aliases[strings.ToLower(dns)]; !ok || name < old {
				aliases[strings.ToLower(dns)] = name
			}
		}
	}
	var out []*loadBalancer
	for _, res := range p.r.OfType(typeLoadBalancer) {
		lb := &loadBalancer{res: res, host: res.StateStr("dnsName")}
		if a, ok := aliases[strings.ToLower(lb.host)]; ok {
			lb.host = a
		}
		arn := res.StateStr("arn")
		for _, l := range p.r.OfType(typeListener) {
			if l.Str("loadBalancerArn") != arn {
				continue
			}
			ls := &listener{res: l, protocol: l.Str("protocol"), port: int(l.Num("port")), def: p.action(l, "defaultActions.0")}
			for _, lr := range p.r.OfType(typeListenerRule) {
				if lr.Str("listenerArn") == l.StateStr("arn") {
					ls.rules = append(ls.rules, rule{priority: int(lr.Num("priority")), condition: conditions(lr), action: p.action(lr, "actions.0")})
				}
			}
			sort.Slice(ls.rules, func(i, j int) bool { return ls.rules[i].priority < ls.rules[j].priority })
			lb.listeners = append(lb.listeners, ls)
		}
		sort.Slice(lb.listeners, func(i, j int) bool {
			a, b := lb.listeners[i], lb.listeners[j]
			if a.port != b.port {
				return a.port < b.port
			}
			return a.protocol < b.protocol
		})
		out = append(out, lb)
	}
	return out
}

// action reads the action at path of a listener or rule.
func (p *Plan) action(r *mockaws.Resource, path string) action {
	switch r.Str(path + ".type") {
	case "forward":
		arn := r.Str(path + ".targetGroupArn")
		if arn == "" {
			arn = r.Str(path + ".forward.targetGroups.0.arn")
		}
		if tg := p.r.ByArn(arn); tg != nil {
			return action{target: tg}
		}
		return action{what: "forward to an unknown target group"}
	case "redirect":
		proto, port := r.Str(path+".redirect.protocol"), r.Str(path+".redirect.port")
		return action{what: strings.TrimSpace(fmt.Sprintf("redirect %s %s (%s)", proto, port, strings.TrimPrefix(r.Str(path+".redirect.statusCode"), "HTTP_")))}
	case "fixed-response":
		return action{what: "answer " + r.Str(path+".fixedResponse.statusCode")}
	case "":
		return action{what: "none"}
	default:
		return action{what: r.Str(path + ".type")}
	}
}

// conditions describes a listener rule's conditions: "path /a /b",
// "?target=edge", "host live.example.com".
func conditions(r *mockaws.Resource) string {
	var parts []string
	for i := 0; i < count(r, "conditions"); i++ {
		c := "conditions." + strconv.Itoa(i)
		if v := strs(r, c+".pathPattern.values"); len(v) > 0 {
			parts = append(parts, "path "+strings.Join(v, " "))
		}
		if v := strs(r, c+".hostHeader.values"); len(v) > 0 {
			parts = append(parts, "host "+strings.Join(v, " "))
		}
		for j := 0; j < count(r, c+".queryStrings"); j++ {
			q := c + ".queryStrings." + strconv.Itoa(j)
			parts = append(parts, "?"+r.Str(q+".key")+"="+r.Str(q+".value"))
		}
		if v := strs(r, c+".sourceIp.values"); len(v) > 0 {
			parts = append(parts, "from "+strings.Join(v, " "))
		}
		if h := r.Str(c + ".httpHeader.httpHeaderName"); h != "" {
			parts = append(parts, "header "+h+": "+strings.Join(strs(r, c+".httpHeader.values"), " "))
		}
	}
	return strings.Join(parts, " and ")
}

// groupsBehind lists the Auto Scaling groups that join a target group.
func (p *Plan) groupsBehind(tg *mockaws.Resource) []*mockaws.Resource {
	var out []*mockaws.Resource
	arn := tg.StateStr("arn")
	for _, g := range p.r.OfType(typeGroup) {
		for _, a := range strs(g, "targetGroupArns") {
			if a == arn {
				out = append(out, g)
			}
		}
	}
	return out
}

// role names a group by its ams:role tag, or by its name.
func role(g *mockaws.Resource) string {
	if r := g.Tag("ams:role"); r != "" {
		return r
	}
	return g.Name
}

// behind says which groups serve a target group: "origin (ams-cluster-dev-origin)".
func (p *Plan) behind(a action) string {
	if a.target == nil {
		return "-"
	}
	var names []string
	for _, g := range p.groupsBehind(a.target) {
		names = append(names, role(g))
	}
	if len(names) == 0 {
		return "no group joins it"
	}
	return strings.Join(names, ", ")
}

// entryPoints prints each load balancer, its listeners' URLs, and the
// target group and role behind each listener and rule.
func (p *Plan) entryPoints(b *strings.Builder) {
	fmt.Fprintf(b, "Entry points\n")
	for _, lb := range p.loadBalancers() {
		scheme := "internet-facing"
		if lb.res.Str("internal") == "true" {
			scheme = "internal"
		}
		fmt.Fprintf(b, "  %s load balancer %s (%s), %s\n", lb.res.Str("loadBalancerType"), lb.res.Name, scheme, lb.host)
		tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "    LISTENER\tURL\tWHEN\tACTION\tROLE\n")
		for _, l := range lb.listeners {
			url := fmt.Sprintf("%s://%s:%d", strings.ToLower(l.protocol), lb.host, l.port)
			fmt.Fprintf(tw, "    %s %d\t%s\t%s\t%s\t%s\n", l.protocol, l.port, url, "default", l.def, p.behind(l.def))
			for _, r := range l.rules {
				fmt.Fprintf(tw, "    \t\t%s\t%s\t%s\n", fmt.Sprintf("rule %d: %s", r.priority, r.condition), r.action, p.behind(r.action))
			}
		}
		_ = tw.Flush()
		if lb.res.Str("loadBalancerType") == "application" {
			fmt.Fprintf(b, "    web panel and server REST API (/, /rest/...): %s\n", panelReach(lb))
		}
	}
	b.WriteString("\n")
}

// panelReach says who reaches the web panel through a load balancer: the
// source networks of the rules that forward on a source-IP condition alone,
// by listener. Every other rule that forwards names application paths.
func panelReach(lb *loadBalancer) string {
	var doors []string
	for _, l := range lb.listeners {
		var from []string
		for _, r := range l.rules {
			if r.action.target != nil && strings.HasPrefix(r.condition, "from ") {
				from = append(from, strings.TrimPrefix(r.condition, "from "))
			}
		}
		if l.def.target != nil {
			from = []string{"everybody"}
		}
		if len(from) > 0 {
			doors = append(doors, fmt.Sprintf("%s %d from %s", l.protocol, l.port, strings.Join(from, " ")))
		}
	}
	if len(doors) == 0 {
		return "nobody (adminCidrs is empty; the panelLogin output says how to forward it with Session Manager)"
	}
	return strings.Join(doors, "; ")
}
