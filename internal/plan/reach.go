package plan

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/ams-cluster/ams-aws/internal/mockaws"
)

// permission is one rule of a security group: traffic between the group and
// a peer (a network, another group or a prefix list) on some ports.
type permission struct {
	group    *mockaws.Resource // the group the rule belongs to
	peer     string            // a CIDR, prefix list ID or security group ID
	ports    string            // "tcp 443", "udp 50000-60000", "all"
	protocol string            // as the rule says it: "tcp", "udp", "-1"
	from, to int
}

// admits reports whether the rule lets a listener's traffic (protocol as
// a load balancer names it: HTTP, HTTPS, TLS, TCP, UDP, TCP_UDP) to port through.
func (p permission) admits(listenerProtocol string, port int) bool {
	if p.from > port || port > p.to {
		if p.protocol == "-1" || p.protocol == "all" {
			return true
		}
		return false
	}
	switch strings.ToUpper(listenerProtocol) {
	case "UDP":
		return p.protocol == "udp" || p.protocol == "17" || p.protocol == "-1"
	case "TCP_UDP":
		return p.protocol != "icmp"
	default:
		return p.protocol == "tcp" || p.protocol == "6" || p.protocol == "-1"
	}
}

// ports formats a protocol and port range as "tcp 443", "udp 50000-60000", "all".
func ports(protocol string, from, to float64) string {
	switch protocol {
	case "-1", "all", "":
		return "all"
	case "6":
		protocol = "tcp"
	case "17":
		protocol = "udp"
	}
	if from < 0 || (from == 0 && to == 65535) || (from == 0 && to == 0 && protocol != "icmp") {
		return protocol + " all"
	}
	if from == to {
		return fmt.Sprintf("%s %d", protocol, int(from))
	}
	return fmt.Sprintf("%s %d-%d", protocol, int(from), int(to))
}

// permissions lists the ingress (egress false) or egress rules of every
// security group: standalone rule resources and rules inline in a group.
func (p *Plan) permissions(egress bool) []permission {
	typ, inline := typeIngress, "ingress"
	if egress {
		typ, inline = typeEgress, "egress"
	}
	var out []permission
	for _, r := range p.r.OfType(typ) {
		g := p.r.ByID(r.Str("securityGroupId"))
		if g == nil {
			continue
		}
		spec := ports(r.Str("ipProtocol"), r.Num("fromPort"), r.Num("toPort"))
		for _, key := range []string{"cidrIpv4", "cidrIpv6", "referencedSecurityGroupId", "prefixListId"} {
			if peer := r.Str(key); peer != "" {
				out = append(out, permission{group: g, peer: peer, ports: spec, protocol: r.Str("ipProtocol"), from: int(r.Num("fromPort")), to: int(r.Num("toPort"))})
			}
		}
	}
	for _, g := range p.r.OfType(typeSecurityGroup) {
		for i := 0; i < count(g, inline); i++ {
			path := inline + "." + strconv.Itoa(i)
			spec := ports(g.Str(path+".protocol"), g.Num(path+".fromPort"), g.Num(path+".toPort"))
			var peers []string
			for _, key := range []string{"cidrBlocks", "ipv6CidrBlocks", "securityGroups", "prefixListIds"} {
				peers = append(peers, strs(g, path+"."+key)...)
			}
			if g.Str(path+".self") == "true" {
				peers = append(peers, g.ID)
			}
			for _, peer := range peers {
				out = append(out, permission{group: g, peer: peer, ports: spec, protocol: g.Str(path + ".protocol"), from: int(g.Num(path + ".fromPort")), to: int(g.Num(path + ".toPort"))})
			}
		}
	}
	return out
}

// groupLabel names a security group by the component that owns it
// ("NodeSecurityGroup"), with the group's name where a component owns several.
func (p *Plan) groupLabel(g *mockaws.Resource) string {
	c := p.componentOf(g)
	if c == nil {
		return g.Name
	}
	kind := c.Type[strings.LastIndex(c.Type, ":")+1:]
	same := 0
	for _, other := range p.r.OfType(typeSecurityGroup) {
		if oc := p.componentOf(other); oc != nil && oc.Type == c.Type {
			same++
		}
	}
	if same > 1 {
		return kind + " " + g.Name
	}
	return kind
}

// peerLabel names a rule's peer: "internet (0.0.0.0/0)", a network, or a
// security group's label.
func (p *Plan) peerLabel(peer string) string {
	switch peer {
	case "0.0.0.0/0", "::/0":
		return "internet (" + peer + ")"
	}
	if g := p.r.ByID(peer); g != nil && g.Type == typeSecurityGroup {
		return p.groupLabel(g)
	}
	return peer
}

// holders lists what a security group is attached to: load balancers,
// Auto Scaling groups (through their launch templates) and instances
// (directly or through their network interfaces).
func (p *Plan) holders(g *mockaws.Resource) []*mockaws.Resource {
	var out []*mockaws.Resource
	has := func(r *mockaws.Resource, paths ...string) bool {
		for _, path := range paths {
			for _, id := range strs(r, path) {
				if id == g.ID {
					return true
				}
			}
		}
		return false
	}
	for _, lb := range p.r.OfType(typeLoadBalancer) {
		if has(lb, "securityGroups") {
			out = append(out, lb)
		}
	}
	for _, asg := range p.r.OfType(typeGroup) {
		lt := p.r.ByID(asg.Str("launchTemplate.id"))
		if lt == nil {
			lt = p.r.ByID(asg.Str("mixedInstancesPolicy.launchTemplate.launchTemplateSpecification.launchTemplateId"))
		}
		if lt != nil && (has(lt, "vpcSecurityGroupIds", "securityGroupNames") || has(lt, networkInterfacePaths(lt, "securityGroups")...)) {
			out = append(out, asg)
		}
	}
	for _, in := range p.r.OfType(typeInstance) {
		attached := has(in, "vpcSecurityGroupIds")
		for i := 0; i < count(in, "networkInterfaces"); i++ {
			if eni := p.r.ByID(in.Str("networkInterfaces." + strconv.Itoa(i) + ".networkInterfaceId")); eni != nil && has(eni, "securityGroups") {
				attached = true
			}
		}
		if attached {
			out = append(out, in)
		}
	}
	return out
}

func networkInterfacePaths(r *mockaws.Resource, key string) []string {
	var out []string
	for i := 0; i < count(r, "networkInterfaces"); i++ {
		out = append(out, "networkInterfaces."+strconv.Itoa(i)+"."+key)
	}
	return out
}

// holderLabel describes a resource a group is attached to.
func holderLabel(r *mockaws.Resource) string {
	switch r.Type {
	case typeLoadBalancer:
		return r.Str("loadBalancerType") + " load balancer " + r.Name
	case typeGroup:
		return "Auto Scaling group " + r.Name + " (" + role(r) + ")"
	case typeInstance:
		return "instance " + r.Name
	}
	return shortType(r.Type) + " " + r.Name
}

// reachability prints who can reach what: a matrix of sources (networks,
// security groups) by destination security group, each cell the protocols
// and ports admitted; then what each group is attached to and may send.
func (p *Plan) reachability(b *strings.Builder) {
	groups := p.r.OfType(typeSecurityGroup)
	sort.Slice(groups, func(i, j int) bool { return p.groupLabel(groups[i]) < p.groupLabel(groups[j]) })
	cells := map[string]map[string][]string{} // source label -> group ID -> ports
	var cidrs, sgs []string
	seen := map[string]bool{}
	for _, perm := range p.permissions(false) {
		src := p.peerLabel(perm.peer)
		if !seen[src] {
			seen[src] = true
			if g := p.r.ByID(perm.peer); g != nil && g.Type == typeSecurityGroup {
				sgs = append(sgs, src)
			} else {
				cidrs = append(cidrs, src)
			}
			cells[src] = map[string][]string{}
		}
		cells[src][perm.group.ID] = append(cells[src][perm.group.ID], perm.ports)
	}
	sort.Strings(cidrs)
	sort.Strings(sgs)
	fmt.Fprintf(b, "Who can reach what (ingress rules: source down, destination security group across)\n")
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	header := []string{"FROM \\ TO"}
	for _, g := range groups {
		header = append(header, p.groupLabel(g))
	}
	fmt.Fprintf(tw, "  %s\n", strings.Join(header, "\t"))
	for _, src := range append(cidrs, sgs...) {
		row := []string{src}
		for _, g := range groups {
			cell := "-"
			if ps := cells[src][g.ID]; len(ps) > 0 {
				cell = strings.Join(sortedUnique(ps), ", ")
			}
			row = append(row, cell)
		}
		fmt.Fprintf(tw, "  %s\n", strings.Join(row, "\t"))
	}
	_ = tw.Flush()
	fmt.Fprintf(b, "\nSecurity groups\n")
	tw = tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  GROUP\tNAME\tATTACHED TO\tMAY SEND TO\n")
	egress := map[string]map[string][]string{} // group ID -> peer label -> ports
	for _, perm := range p.permissions(true) {
		if egress[perm.group.ID] == nil {
			egress[perm.group.ID] = map[string][]string{}
		}
		peer := p.peerLabel(perm.peer)
		egress[perm.group.ID][peer] = append(egress[perm.group.ID][peer], perm.ports)
	}
	for _, g := range groups {
		var attached []string
		for _, h := range p.holders(g) {
			attached = append(attached, holderLabel(h))
		}
		sort.Strings(attached)
		if len(attached) == 0 {
			attached = []string{"-"}
		}
		var out []string
		for peer, ps := range egress[g.ID] {
			out = append(out, peer+": "+strings.Join(sortedUnique(ps), ", "))
		}
		sort.Strings(out)
		if len(out) == 0 {
			out = []string{"nothing"}
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", p.groupLabel(g), g.Name, strings.Join(attached, "; "), strings.Join(out, "; "))
	}
	_ = tw.Flush()
	b.WriteString("\n")
}

// sortedUnique is in without repeats, sorted with numbers in numeric order
// ("tcp 80" before "tcp 5080").
func sortedUnique(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return naturalLess(out[i], out[j]) })
	return out
}

// naturalLess compares a and b with runs of digits compared as numbers.
func naturalLess(a, b string) bool {
	for a != "" && b != "" {
		da, db := digits(a), digits(b)
		if da > 0 && db > 0 {
			na, _ := strconv.Atoi(a[:da])
			nb, _ := strconv.Atoi(b[:db])
			if na != nb {
				return na < nb
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return a[0] < b[0]
		}
		a, b = a[1:], b[1:]
	}
	return len(a) < len(b)
}

func digits(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}
