package tests

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"mvdan.cc/sh/v3/syntax"
)

// checkShell fails the test unless script parses as bash and, where
// shellcheck is installed, passes it at style level. shellcheck is
// mandatory in CI (CI=true), where .ci/run installs it; elsewhere its
// absence skips only the lint, with a message.
func checkShell(t *testing.T, name, script string) {
	t.Helper()
	parser := syntax.NewParser(syntax.Variant(syntax.LangBash))
	if _, err := parser.Parse(strings.NewReader(script), name); err != nil {
		t.Errorf("%s does not parse as bash: %v", name, err)
	}
	if !strings.HasPrefix(script, "#!/bin/bash\n") {
		t.Errorf("%s must start with #!/bin/bash, starts with %q", name, firstLine(script))
	}
	shellcheck, err := exec.LookPath("shellcheck")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shellcheck is mandatory in CI and not installed: %v", err)
		}
		t.Logf("shellcheck is not on PATH (apt-get install shellcheck); %s was parsed but not linted", name)
		return
	}
	cmd := exec.Command(shellcheck, "--shell=bash", "--severity=style", "--format=gcc", "-")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("shellcheck rejects %s:\n%s", name, out)
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// flatten lists every leaf of a property value by dotted path, marking
// values that sit under a secret.
func flatten(prefix string, v resource.PropertyValue, secret bool, out map[string]leaf) {
	switch {
	case v.IsSecret():
		flatten(prefix, v.SecretValue().Element, true, out)
	case v.IsObject():
		for k, e := range v.ObjectValue() {
			flatten(join(prefix, string(k)), e, secret, out)
		}
	case v.IsArray():
		for i, e := range v.ArrayValue() {
			flatten(join(prefix, fmt.Sprint(i)), e, secret, out)
		}
	case v.IsComputed() || v.IsOutput():
		out[prefix] = leaf{value: "<unknown>", secret: secret}
	case v.IsNull():
	default:
		out[prefix] = leaf{value: fmt.Sprint(v.V), secret: secret}
	}
}

type leaf struct {
	value  string
	secret bool
}

func join(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

func leaves(m resource.PropertyMap) map[string]leaf {
	out := map[string]leaf{}
	flatten("", resource.NewProperty(m), false, out)
	return out
}

// probe is a connection attempt: protocol and destination port.
type probe struct {
	proto string
	port  int
}

func (p probe) String() string { return fmt.Sprintf("%s/%d", p.proto, p.port) }

// probes are the ports the reachability matrix asks about.
var probes = []probe{
	{"tcp", 22}, {"tcp", 80}, {"tcp", 443}, {"tcp", 1935}, {"tcp", 5000}, {"tcp", 5080},
	{"tcp", 5443}, {"tcp", 27017}, {"udp", 4200}, {"udp", 50000}, {"udp", 55000}, {"udp", 60000},
}

// network answers "can this source open this connection to this group?"
// from the security groups and rules the stack registered.
type network struct {
	groups  map[string]string // security group ID -> role
	ingress []*registered
	egress  []*registered
}

func newNetwork(t *testing.T, r *run) *network {
	t.Helper()
	n := &network{groups: map[string]string{}}
	for _, sg := range r.ofType("aws:ec2/securityGroup:SecurityGroup") {
		if inline := sg.input("ingress"); inline.IsArray() && len(inline.ArrayValue()) > 0 || sg.input("egress").IsArray() && len(sg.input("egress").ArrayValue()) > 0 {
			t.Errorf("security group %s has inline rules; the matrix reads standalone rules only", sg.Name)
		}
		n.groups[sg.ID] = groupRole(sg.Name)
	}
	n.ingress = r.ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
	n.egress = r.ofType("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
	return n
}

func groupRole(name string) string {
	switch {
	case strings.HasSuffix(name, "-mongo"):
		return "mongodb"
	case strings.HasSuffix(name, "-ams"):
		return "ams"
	case strings.HasSuffix(name, "-ingest"):
		return "ingest"
	default:
		return "loadbalancer"
	}
}

// allows reports whether a rule admits p from a source that is either a
// security group (role) or an address.
func allows(rule *registered, p probe, peerGroup string, peerAddr netip.Addr, roleOf map[string]string) bool {
	proto := rule.str("ipProtocol")
	if proto != "-1" {
		if proto != p.proto {
			return false
		}
		if p.port < int(rule.num("fromPort")) || p.port > int(rule.num("toPort")) {
			return false
		}
	}
	if ref := rule.str("referencedSecurityGroupId"); ref != "" {
		return peerGroup != "" && roleOf[ref] == peerGroup
	}
	if cidr := rule.str("cidrIpv4"); cidr != "" && peerAddr.IsValid() {
		return netip.MustParsePrefix(cidr).Contains(peerAddr)
	}
	return false
}

// source is who opens a connection: a group's member or an outside address.
type source struct {
	name  string
	group string
	addr  netip.Addr
}

func (n *network) reachable(src source, dstRole string, p probe) bool {
	var dst string
	for id, role := range n.groups {
		if role == dstRole {
			dst = id
		}
	}
	in := false
	for _, rule := range n.ingress {
		if rule.str("securityGroupId") == dst && allows(rule, p, src.group, src.addr, n.groups) {
			in = true
		}
	}
	if !in || src.group == "" {
		return in
	}
	// A member of a group must also be let out by its own group.
	// The destination is addressed by group; its members sit in the VPC.
	vpcAddr := netip.MustParseAddr("10.20.0.99")
	for _, rule := range n.egress {
		if n.groups[rule.str("securityGroupId")] != src.group {
			continue
		}
		if allows(rule, p, dstRole, vpcAddr, n.groups) {
			return true
		}
	}
	return false
}

// matrix lists, for every destination role and source, the probes that get through.
func (n *network) matrix(sources []source) map[string]string {
	out := map[string]string{}
	for _, dst := range []string{"loadbalancer", "ams", "mongodb"} {
		for _, src := range sources {
			var open []string
			for _, p := range probes {
				if n.reachable(src, dst, p) {
					open = append(open, p.String())
				}
			}
			sort.Strings(open)
			out[src.name+" -> "+dst] = strings.Join(open, " ")
		}
	}
	return out
}

// rejectedConfig runs the dev stack with overrides and wants it refused
// before any resource is registered, with a message that contains every
// one of want; it returns the message for further checks.
func rejectedConfig(t *testing.T, overrides map[string]string, want []string, secretKeys ...string) string {
	t.Helper()
	r := runProgram(t, stackConfig(t, "Pulumi.dev.yaml", overrides), secretKeys...)
	if r.err == nil {
		t.Fatalf("stack accepted %v", overrides)
	}
	msg := r.err.Error()
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("message lacks %q:\n%s", w, msg)
		}
	}
	if len(r.resources) != 0 {
		t.Errorf("%d resources registered before the configuration was rejected, first %s %s", len(r.resources), r.resources[0].Type, r.resources[0].Name)
	}
	return msg
}
