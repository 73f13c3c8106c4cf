package plan

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/ams-cluster/ams-aws/internal/mockaws"
)

// flowchart collects a Mermaid flowchart: nodes inside the subgraph of
// their component, and edges, each written once and printed sorted.
type flowchart struct {
	subgraphs map[string]string              // ID -> title
	nodes     map[string]map[string]struct{} // subgraph ID ("" for none) -> node definitions
	edges     map[string]struct{}
}

func (f *flowchart) node(subgraph, title, def string) {
	if subgraph != "" {
		f.subgraphs[subgraph] = title
	}
	if f.nodes[subgraph] == nil {
		f.nodes[subgraph] = map[string]struct{}{}
	}
	f.nodes[subgraph][def] = struct{}{}
}

func (f *flowchart) edge(e string) { f.edges[e] = struct{}{} }

// id makes a Mermaid node ID from a kind and a resource name.
func id(kind, name string) string {
	var b strings.Builder
	b.WriteString(kind)
	b.WriteByte('_')
	for _, r := range name {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// quote is text as a quoted Mermaid label.
func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, "#quot;") + `"` }

// WriteMermaid prints the architecture as a Mermaid flowchart drawn from
// the registered resources: each component a subgraph; the networks that
// may connect, the load balancers' listeners, their target groups and the
// groups behind them; the traffic the security groups admit between the
// load balancers, groups and instances, by port; the AWS APIs the
// instance roles allow; the DNS names and access log buckets of the load
// balancers.
func (p *Plan) WriteMermaid(w io.Writer) error {
	f := &flowchart{subgraphs: map[string]string{}, nodes: map[string]map[string]struct{}{}, edges: map[string]struct{}{}}
	sub := func(r *mockaws.Resource) (string, string) {
		c := p.componentOf(r)
		if c == nil {
			return "", ""
		}
		return id("c", c.Type+" "+c.Name), label(c)
	}
	holderID := map[string]string{} // resource URN -> node ID
	place := func(r *mockaws.Resource) string {
		if n, ok := holderID[r.URN]; ok {
			return n
		}
		var n, def string
		switch r.Type {
		case typeGroup:
			n = id("g", r.Name)
			def = n + "[[" + quote("Auto Scaling group<br/>"+role(r)) + "]]"
		case typeInstance:
			n = id("i", r.Name)
			def = n + "[(" + quote("instance<br/>"+r.Name) + ")]"
		default:
			n = id("r", r.Name)
			def = n + "[" + quote(shortType(r.Type)+"<br/>"+r.Name) + "]"
		}
		s, title := sub(r)
		f.node(s, title, def)
		holderID[r.URN] = n
		return n
	}
	network := func(cidr string) string {
		n := id("net", cidr)
		f.node("", "", n+"(["+quote(p.peerLabel(cidr))+"])")
		return n
	}
	ingress := p.permissions(false)
	// Load balancers: networks -> listeners -> target groups -> groups.
	for _, lb := range p.loadBalancers() {
		s, title := sub(lb.res)
		lbGroups := map[string]bool{}
		for _, g := range strs(lb.res, "securityGroups") {
			lbGroups[g] = true
		}
		for _, l := range lb.listeners {
			ln := id("l", l.res.Name)
			text := fmt.Sprintf("%s %d", l.protocol, l.port)
			if l.def.target == nil {
				text += "<br/>" + l.def.what
			}
			f.node(s, title, ln+"["+quote(text)+"]")
			if lb.res.Str("internal") != "true" {
				admitted := false
				for _, perm := range ingress {
					if lbGroups[perm.group.ID] && p.r.ByID(perm.peer) == nil && perm.admits(l.protocol, l.port) {
						f.edge(network(perm.peer) + " --> " + ln)
						admitted = true
					}
				}
				if len(lbGroups) == 0 && !admitted {
					f.edge(network("0.0.0.0/0") + " --> " + ln)
				}
			}
			forward := func(a action, cond string) {
				if a.target == nil {
					return
				}
				tn := id("tg", a.target.Name)
				f.node(s, title, tn+"["+quote("target group<br/>"+a.target.Name)+"]")
				if cond == "" {
					f.edge(ln + " --> " + tn)
				} else {
					f.edge(ln + " -->|" + quote(cond) + "| " + tn)
				}
				for _, g := range p.groupsBehind(a.target) {
					f.edge(tn + " -->|" + quote(a.target.Str("protocol")+" "+a.target.Str("port")) + "| " + place(g))
				}
			}
			forward(l.def, "")
			for _, r := range l.rules {
				forward(r.action, r.condition)
			}
		}
	}
	// Traffic the security groups admit between what they are attached to
	// (load balancers' traffic is drawn through their listeners above).
	between := map[[2]string][]string{}
	for _, perm := range ingress {
		dests := p.holders(perm.group)
		src := p.r.ByID(perm.peer)
		if src == nil || src.Type != typeSecurityGroup {
			for _, d := range dests {
				if d.Type != typeLoadBalancer {
					key := [2]string{network(perm.peer), place(d)}
					between[key] = append(between[key], perm.ports)
				}
			}
			continue
		}
		for _, from := range p.holders(src) {
			if from.Type == typeLoadBalancer {
				continue
			}
			for _, d := range dests {
				if d.Type == typeLoadBalancer || d.URN == from.URN {
					continue
				}
				key := [2]string{place(from), place(d)}
				between[key] = append(between[key], perm.ports)
			}
		}
	}
	for key, ps := range between {
		label := strings.Join(sortedUnique(ps), ", ")
		back := between[[2]string{key[1], key[0]}]
		switch {
		case back != nil && strings.Join(sortedUnique(back), ", ") == label:
			if key[0] < key[1] {
				f.edge(key[0] + " <-->|" + quote(label) + "| " + key[1])
			}
		default:
			f.edge(key[0] + " -->|" + quote(label) + "| " + key[1])
		}
	}
	// Names that alias a load balancer, and where it writes access logs.
	for _, lb := range p.loadBalancers() {
		s, _ := sub(lb.res)
		if s == "" {
			continue
		}
		for _, rec := range p.r.OfType(typeRecord) {
			if strings.EqualFold(strings.TrimSuffix(rec.Str("aliases.0.name"), "."), lb.res.StateStr("dnsName")) {
				name := strings.TrimSuffix(rec.Str("name"), ".")
				n := id("dns", name)
				f.node("", "", n+"[("+quote("Route 53<br/>"+name)+")]")
				f.edge(n + " -.->|" + quote("alias "+rec.Str("type")) + "| " + s)
			}
		}
		if lb.res.Str("accessLogs.enabled") == "true" {
			if bucket := lb.res.Str("accessLogs.bucket"); bucket != "" {
				n := id("s3", bucket)
				f.node("", "", n+"[("+quote("S3 bucket<br/>access logs")+")]")
				f.edge(s + " -.->|" + quote("access logs") + "| " + n)
			}
		}
	}
	// What the instance roles let the nodes call.
	for urn, n := range holderID {
		if services := p.services(p.r.ByURN(urn)); len(services) > 0 {
			f.node("", "", `aws_apis[("AWS APIs")]`)
			f.edge(n + " -.->|" + quote(strings.Join(services, ", ")) + "| aws_apis")
		}
	}
	return f.write(w)
}

func (f *flowchart) write(w io.Writer) error {
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	for _, def := range sortedKeys(f.nodes[""]) {
		fmt.Fprintf(&b, "    %s\n", def)
	}
	subs := make([]string, 0, len(f.subgraphs))
	for s := range f.subgraphs {
		subs = append(subs, s)
	}
	sort.Strings(subs)
	for _, s := range subs {
		fmt.Fprintf(&b, "    subgraph %s [%s]\n", s, quote(f.subgraphs[s]))
		for _, def := range sortedKeys(f.nodes[s]) {
			fmt.Fprintf(&b, "        %s\n", def)
		}
		b.WriteString("    end\n")
	}
	for _, e := range sortedKeys(f.edges) {
		fmt.Fprintf(&b, "    %s\n", e)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func sortedKeys(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
