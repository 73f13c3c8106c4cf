package tests

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"testing"

	"github.com/ams-cluster/ams-aws/internal/sandbox/coturn"
)

const (
	typeTurnServer = "ams:cluster:TurnServer"
	typeASG        = "aws:autoscaling/group:Group"
	typeLT         = "aws:ec2/launchTemplate:LaunchTemplate"
	typeEIP        = "aws:ec2/eip:Eip"
)

func TestTurnIsOffByDefault(t *testing.T) {
	r := deploy(t, nil)
	if n := len(r.ofType(typeTurnServer)); n != 0 {
		t.Errorf("%d TurnServers on a default stack, want none", n)
	}
	if _, ok := r.outputs["turnUris"]; ok {
		t.Error("turnUris exported without TURN")
	}
}

// turnRules describes the TURN group's rules as "in udp 3478 from 0.0.0.0/0".
func turnRules(t *testing.T, r *run, sgID string) []string {
	t.Helper()
	var got []string
	for _, typ := range []string{"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"} {
		for _, rule := range r.ofType(typ) {
			if rule.str("securityGroupId") != sgID {
				continue
			}
			dir := map[bool]string{true: "in", false: "out"}[strings.Contains(typ, "Ingress")]
			ports := rule.str("fromPort")
			if rule.str("toPort") != ports {
				ports += "-" + rule.str("toPort")
			}
			peer := rule.str("cidrIpv4") + rule.str("referencedSecurityGroupId")
			got = append(got, strings.TrimSpace(fmt.Sprintf("%s %s %s %s", dir, rule.str("ipProtocol"), ports, peer)))
		}
	}
	sort.Strings(got)
	return got
}

// What reaches AWS with turn on: the group's rules, a fixed-size group of
// Ubuntu nodes with an Elastic IP each, a SecureString password that the
// nodes alone read, a role that claims only its own group's addresses.
func TestTurnServerReachesAWS(t *testing.T) {
	r := deploy(t, map[string]string{"turn": "true", "turnRelayPorts": "50000-50999"})
	sg := r.one(t, "aws:ec2/securityGroup:SecurityGroup", "-turn")
	want := []string{
		"in tcp 3478 0.0.0.0/0", "in udp 3478 0.0.0.0/0", "in udp 50000-50999 0.0.0.0/0", "out -1  0.0.0.0/0",
	}
	if got := turnRules(t, r, sg.ID); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("TURN rules %q, want %q", got, want)
	}

	group := r.one(t, typeASG, "-turn")
	expectInputs(t, group, map[string]string{
		"minSize": "1", "maxSize": "1", "desiredCapacity": "1", "healthCheckType": "EC2",
		"initialLifecycleHooks.0.lifecycleTransition": "autoscaling:EC2_INSTANCE_LAUNCHING",
		"initialLifecycleHooks.0.defaultResult":       "ABANDON",
	})
	if tag := groupTag(group, "ams:role"); tag != "turn" {
		t.Errorf("TURN group's ams:role tag %q, want turn", tag)
	}
	lt := r.one(t, typeLT, "-turn")
	expectInputs(t, lt, map[string]string{
		"imageId": ubuntuAMI, "instanceType": "c6i.large",
		"metadataOptions.httpTokens": "required", "metadataOptions.httpPutResponseHopLimit": "1",
		"blockDeviceMappings.0.ebs.encrypted":  "true",
		"networkInterfaces.0.securityGroups.0": sg.ID,
	})
	script := userData(t, lt)
	checkShell(t, "turn-node.sh", script)
	eips := turnAddresses(r)
	if len(eips) != 1 {
		t.Fatalf("%d Elastic IPs tagged with the TURN group, want one", len(eips))
	}

	param := r.one(t, "aws:ssm/parameter:Parameter", "-turn-password")
	if param.str("type") != "SecureString" || !param.input("value").IsSecret() || param.str("name") != "/ams-cluster/dev/turn/password" {
		t.Errorf("TURN password parameter %s: type %s secret %v", param.str("name"), param.str("type"), param.input("value").IsSecret())
	}
	if strings.Contains(script, unsecret(param.input("value")).StringValue()) {
		t.Error("the TURN password is in the user data")
	}

	// The role: its password only, its own group's lifecycle and addresses.
	var profileRole string
	for _, p := range r.ofType("aws:iam/instanceProfile:InstanceProfile") {
		if stateString(p, "arn") == lt.str("iamInstanceProfile.arn") {
			profileRole = p.str("role")
		}
	}
	var statements []map[string]any
	for _, rp := range r.ofType("aws:iam/rolePolicy:RolePolicy") {
		if role := r.byID(rp.str("role")); rp.str("role") != profileRole && (role == nil || stateString(role, "name") != profileRole) {
			continue
		}
		var doc struct{ Statement []map[string]any }
		if err := json.Unmarshal([]byte(rp.str("policy")), &doc); err != nil {
			t.Fatal(err)
		}
		statements = append(statements, doc.Statement...)
	}
	bySid := map[string]map[string]any{}
	for _, s := range statements {
		bySid[fmt.Sprint(s["Sid"])] = s
	}
	if got := fmt.Sprint(bySid["ReadOwnParameters"]["Resource"]); got != "["+stateString(param, "arn")+"]" {
		t.Errorf("TURN nodes read %s, want only their password %s", got, stateString(param, "arn"))
	}
	claim := bySid["ClaimOwnGroupAddress"]
	if fmt.Sprint(claim["Action"]) != "[ec2:AssociateAddress]" ||
		fmt.Sprint(claim["Condition"]) != "map[StringEquals:map[aws:ResourceTag/ams:group:ams-cluster/dev/ams-cluster-dev-turn]]" {
		t.Errorf("address claim statement %v, want AssociateAddress on the group's own tag", claim)
	}
	if _, ok := bySid["OwnGroupLifecycle"]; !ok || len(bySid) != 5 {
		t.Errorf("TURN role statements %v, want SessionManager, ReadOwnParameters, OwnGroupLifecycle, FindAddresses, ClaimOwnGroupAddress", keys(bySid))
	}

	uris, _ := r.output(t, "turnUris").Value.([]string)
	ip := stateString(eips[0], "publicIp")
	if len(uris) != 2 || uris[0] != "turn:"+ip+":3478?transport=udp" || uris[1] != "turn:"+ip+":3478?transport=tcp" {
		t.Errorf("turnUris %v, want UDP and TCP URIs of %s", uris, ip)
	}
	if o := r.output(t, "turnPassword"); !o.Secret {
		t.Error("turnPassword is not a secret output")
	}
}

// turnAddresses are the Elastic IPs the TURN nodes claim: those tagged with their group.
func turnAddresses(r *run) []*registered {
	var out []*registered
	for _, eip := range r.ofType(typeEIP) {
		if strings.HasSuffix(eip.str("tags.ams:group"), "-turn") {
			out = append(out, eip)
		}
	}
	return out
}

func groupTag(group *registered, key string) string {
	for i := 0; ; i++ {
		k := group.str(fmt.Sprintf("tags.%d.key", i))
		if k == "" {
			return ""
		}
		if k == key {
			return group.str(fmt.Sprintf("tags.%d.value", i))
		}
	}
}

// In production (requireHttps) TURN has a node in every zone, and fewer
// are refused by key.
func TestTurnProductionHasANodeInEveryZone(t *testing.T) {
	cfg := stackConfig(t, "Pulumi.prod.yaml", map[string]string{"certificateArn": testCertificate, "turn": "true"})
	r := runProgram(t, cfg)
	if r.err != nil {
		t.Fatal(r.err)
	}
	expectInputs(t, r.one(t, typeASG, "-turn"), map[string]string{"minSize": "3", "maxSize": "3"})
	if n := len(turnAddresses(r)); n != 3 {
		t.Errorf("%d TURN Elastic IPs, want 3", n)
	}
	cfg["ams-cluster:turnNodes"] = "2"
	r = runProgram(t, cfg)
	if r.err == nil || !strings.Contains(r.err.Error(), "ams-cluster:turnNodes = 2 is not valid; accepted: at least zoneCount (3)") {
		t.Errorf("two TURN nodes over three zones: %v", r.err)
	}
}

func TestTurnKeysAreValidatedByKey(t *testing.T) {
	rejectedConfig(t, map[string]string{"turn": "true", "turnRelayPorts": "3000-3999", "turnInstanceType": "huge", "turnMaxAllocations": "0"},
		[]string{"ams-cluster:turnRelayPorts = 3000", "ams-cluster:turnInstanceType = \"huge\"", "ams-cluster:turnMaxAllocations = 0"})
	rejectedConfig(t, map[string]string{"turn": "true", "turnRelayPorts": "many"}, []string{"ams-cluster:turnRelayPorts = \"many\""})
}

// relayLeaks lists the addresses a relay configured by conf could send to
// although it must not: the VPC (vpcCIDR's first, middle and last
// address), the instance metadata service over IPv4 and IPv6, and the
// edges of every private, shared, link-local, loopback and "this network"
// range. It checks on the way that public neighbours stay reachable.
func relayLeaks(t *testing.T, conf, vpcCIDR string) []string {
	t.Helper()
	c := coturn.Parse(conf)
	vpc := netip.MustParsePrefix(vpcCIDR)
	last := vpc.Addr().As4()
	last[2], last[3] = last[2]|^byte(0), 255
	must := []string{
		vpc.Addr().String(), vpc.Addr().Next().Next().String(), netip.AddrFrom4(last).String(),
		"169.254.169.254", "169.254.169.253", "fd00:ec2::254", "169.254.0.0", "169.254.255.255",
		"10.0.0.0", "10.255.255.255", "172.16.0.0", "172.31.255.255", "192.168.0.0", "192.168.255.255",
		"100.64.0.0", "100.127.255.255", "127.0.0.1", "0.0.0.0", "0.255.255.255", "::1", "fe80::1", "fc00::1",
		"::ffff:169.254.169.254",
	}
	var leaks []string
	for _, a := range must {
		if ok, _ := c.PeerAllowed(netip.MustParseAddr(a)); ok {
			leaks = append(leaks, a)
		}
	}
	for _, a := range []string{"8.8.8.8", "9.255.255.255", "11.0.0.0", "100.63.255.255", "100.128.0.0", "172.15.255.255", "172.32.0.0", "169.253.255.255", "2001:db8::1"} {
		if ok, why := c.PeerAllowed(netip.MustParseAddr(a)); !ok {
			t.Errorf("public peer %s refused (%s): the relay would not relay to the internet", a, why)
		}
	}
	return leaks
}

// The relay cannot reach the VPC or the instance metadata service, proved
// on the configuration the launch template carries, through a model of
// coturn's own peer check; and the proof fails on a configuration that
// lacks a line, or writes the ranges as CIDR, as coturn would drop them.
func TestTurnRelayCannotReachVPCOrMetadata(t *testing.T) {
	// A VPC outside the private ranges: only its explicit line denies it.
	const vpcCIDR = "198.18.0.0/16"
	r := deploy(t, map[string]string{"turn": "true", "vpcCidr": vpcCIDR})
	conf := heredoc(t, userData(t, r.one(t, typeLT, "-turn")), "CONF")
	if leaks := relayLeaks(t, conf, vpcCIDR); len(leaks) > 0 {
		t.Errorf("the relay may reach %v:\n%s", leaks, conf)
	}
	if !strings.Contains(conf, "denied-peer-ip=198.18.0.0-198.18.255.255\n") {
		t.Errorf("the VPC is not denied by its own line:\n%s", conf)
	}
	mutations := map[string]func(string) string{
		"without the VPC line": func(s string) string {
			return strings.Replace(s, "denied-peer-ip=198.18.0.0-198.18.255.255\n", "", 1)
		},
		"without the link-local line": func(s string) string {
			return strings.Replace(s, "denied-peer-ip=169.254.0.0-169.254.255.255\n", "", 1)
		},
		"in CIDR notation": func(s string) string {
			return strings.Replace(s, "denied-peer-ip=169.254.0.0-169.254.255.255", "denied-peer-ip=169.254.0.0/16", 1)
		},
	}
	for name, mutate := range mutations {
		mutated := mutate(conf)
		if mutated == conf {
			t.Fatalf("mutation %s changed nothing", name)
		}
		if leaks := relayLeaks(t, mutated, vpcCIDR); len(leaks) == 0 {
			t.Errorf("a configuration %s passes the proof", name)
		}
	}
}

// The streaming applications get the TURN server: the origins' and edges'
// settings documents carry its URI and user, and name the password's
// SecureString, which their roles may read; the password itself is in
// neither the document nor the user data.
func TestApplicationsUseTheTurnServer(t *testing.T) {
	r := deploy(t, map[string]string{"turn": "true"})
	param := r.one(t, "aws:ssm/parameter:Parameter", "-turn-password")
	password := unsecret(param.input("value")).StringValue()
	ip := stateString(turnAddresses(r)[0], "publicIp")
	for _, role := range []string{"origin", "edge"} {
		doc := r.one(t, "aws:ssm/parameter:Parameter", "-"+role+"-app-settings")
		raw := unsecret(doc.input("value")).StringValue()
		var d struct {
			Settings map[string]any
			Secrets  map[string]string
		}
		if err := json.Unmarshal([]byte(raw), &d); err != nil {
			t.Fatalf("%s settings document: %v", role, err)
		}
		if d.Settings["stunServerURI"] != "turn:"+ip+":3478" || d.Settings["turnServerUsername"] != "ams" ||
			d.Secrets["turnServerCredential"] != "/ams-cluster/dev/turn/password" {
			t.Errorf("%s settings: stunServerURI %v, turnServerUsername %v, turnServerCredential from %q", role,
				d.Settings["stunServerURI"], d.Settings["turnServerUsername"], d.Secrets["turnServerCredential"])
		}
		if strings.Contains(raw, password) {
			t.Errorf("%s settings document carries the TURN password", role)
		}
		lt := r.one(t, typeLT, "-"+role)
		if strings.Contains(userData(t, lt), password) {
			t.Errorf("%s user data carries the TURN password", role)
		}
		var readable []string
		for _, rp := range r.ofType("aws:iam/rolePolicy:RolePolicy") {
			if strings.HasSuffix(rp.Name, "-"+role) {
				var doc map[string]any
				if err := json.Unmarshal([]byte(rp.str("policy")), &doc); err != nil {
					t.Fatal(err)
				}
				readable = append(readable, readableParameters(doc)...)
			}
		}
		if !strings.Contains(strings.Join(readable, " "), stateString(param, "arn")) {
			t.Errorf("%s nodes may read %v, not the TURN password %s", role, readable, stateString(param, "arn"))
		}
	}
}
