package tests

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ams-cluster/ams-aws/internal/mockaws"
	"github.com/ams-cluster/ams-aws/internal/plan"
	"github.com/ams-cluster/ams-aws/policy/rules"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lb"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

const (
	typeListener    = "aws:lb/listener:Listener"
	typeTargetGroup = "aws:lb/targetGroup:TargetGroup"
	typeRecord      = "aws:route53/record:Record"
	typeCertificate = "aws:acm/certificate:Certificate"
)

// turnTLS is what TURN over TLS registered: the TLS listener, its load
// balancer and target group.
type turnTLS struct {
	listener, balancer, targetGroup *registered
}

// turnTLSListeners returns the TLS listeners (the ALB's are HTTPS).
func turnTLSListeners(r *run) []*registered {
	var out []*registered
	for _, l := range r.ofType(typeListener) {
		if l.str("protocol") == "TLS" {
			out = append(out, l)
		}
	}
	return out
}

func findTurnTLS(t *testing.T, r *run) turnTLS {
	t.Helper()
	listeners := turnTLSListeners(r)
	if len(listeners) != 1 {
		t.Fatalf("%d TLS listeners, want one (TURN over TLS)", len(listeners))
	}
	l := listeners[0]
	out := turnTLS{listener: l, balancer: r.byArn(l.str("loadBalancerArn")), targetGroup: r.byArn(l.str("defaultActions.0.targetGroupArn"))}
	if out.balancer == nil || out.targetGroup == nil || l.str("defaultActions.0.type") != "forward" {
		t.Fatalf("TLS listener %s: load balancer %v, action %s to %v", l.Name, out.balancer, l.str("defaultActions.0.type"), out.targetGroup)
	}
	return out
}

// recordsNamed returns the Route 53 records of a name.
func recordsNamed(r *run, name string) []*registered {
	var out []*registered
	for _, rec := range r.ofType(typeRecord) {
		if rec.str("name") == name {
			out = append(out, rec)
		}
	}
	return out
}

// With the stack's domain, TURN over TLS: a TLS listener on 443 with a
// certificate for turns.<domain> under a TLS 1.2+ policy, forwarding TCP to
// coturn's 3478 on the TURN group's nodes with client addresses kept.
func TestTurnOverTLSOnTheStacksDomain(t *testing.T) {
	r := deploy(t, map[string]string{"turn": "true", "turnNodes": "2", "domainName": testDomain, "hostedZoneId": testZoneID})
	tls := findTurnTLS(t, r)
	tlsName := "turns." + testDomain

	// The certificate: its own, for the TLS name, validated in the zone.
	var cert *registered
	for _, c := range r.ofType(typeCertificate) {
		if c.str("domainName") == tlsName {
			cert = c
		}
	}
	if cert == nil {
		t.Fatalf("no certificate for %s", tlsName)
	}
	var validation *registered
	for _, v := range r.ofType("aws:acm/certificateValidation:CertificateValidation") {
		if v.str("certificateArn") == stateString(cert, "arn") {
			validation = v
		}
	}
	if validation == nil {
		t.Fatalf("certificate %s is not validated", tlsName)
	}
	expectInputs(t, tls.listener, map[string]string{
		"port": "443", "protocol": "TLS", "certificateArn": stateString(cert, "arn"),
		"sslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
	})
	if !slices.Contains(tls.listener.Dependencies, validation.URN) {
		t.Errorf("the TLS listener does not wait for ACM to issue its certificate; depends on %v", tls.listener.Dependencies)
	}
	expectInputs(t, tls.balancer, map[string]string{
		"loadBalancerType": "network", "internal": "false", "enableCrossZoneLoadBalancing": "true",
	})
	if tls.balancer == r.byArn(r.one(t, typeListener, "-ingest-rtmp").str("loadBalancerArn")) {
		t.Error("TURN over TLS shares the ingest load balancer")
	}
	expectInputs(t, tls.targetGroup, map[string]string{
		"protocol": "TCP", "port": "3478", "targetType": "instance", "preserveClientIp": "true",
		"healthCheck.protocol": "TCP", "healthCheck.port": "3478", "healthCheck.enabled": "true",
	})

	// The TURN group, and it alone, joins the target group.
	tgArn := stateString(tls.targetGroup, "arn")
	for _, g := range r.ofType(typeASG) {
		joined := slices.Contains(strs(g, "targetGroupArns"), tgArn)
		if isTurn := strings.HasSuffix(g.Name, "-turn"); joined != isTurn {
			t.Errorf("group %s joins the TURN target group: %v", g.Name, joined)
		}
		if strings.HasSuffix(g.Name, "-turn") && len(strs(g, "targetGroupArns")) != 1 {
			t.Errorf("TURN group joins %v, want only the TURN target group", strs(g, "targetGroupArns"))
		}
	}

	// Least privilege: TLS in, TURN TCP out to the TURN nodes only; the
	// nodes' own rules do not change (TCP 3478 is open to clients anyway).
	nodes := r.one(t, "aws:ec2/securityGroup:SecurityGroup", "-turn")
	lbGroups := strs(tls.balancer, "securityGroups")
	if len(lbGroups) != 1 {
		t.Fatalf("TLS load balancer security groups %v, want one", lbGroups)
	}
	if got, want := turnRules(t, r, lbGroups[0]), []string{"in tcp 443 0.0.0.0/0", "out tcp 3478 " + nodes.ID}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("TLS load balancer rules %q, want %q", got, want)
	}
	if got, want := turnRules(t, r, nodes.ID), []string{"in tcp 3478 0.0.0.0/0", "in udp 3478 0.0.0.0/0", "in udp 49152-65535 0.0.0.0/0", "out -1  0.0.0.0/0"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("TURN node rules %q, want %q", got, want)
	}

	// Names: turns.<domain> aliases the load balancer; turn.<domain> holds
	// every node's Elastic IP.
	alias := recordsNamed(r, tlsName)
	if len(alias) != 1 || alias[0].str("type") != "A" || alias[0].str("zoneId") != testZoneID ||
		alias[0].str("aliases.0.name") != stateString(tls.balancer, "dnsName") || alias[0].str("aliases.0.zoneId") != stateString(tls.balancer, "zoneId") {
		t.Errorf("%s records %v, want one A alias of the TLS load balancer", tlsName, alias)
	}
	plain := recordsNamed(r, "turn."+testDomain)
	var eips []string
	for _, eip := range turnAddresses(r) {
		eips = append(eips, stateString(eip, "publicIp"))
	}
	if len(plain) != 1 || plain[0].str("type") != "A" || plain[0].str("zoneId") != testZoneID ||
		strings.Join(strs(plain[0], "records"), " ") != strings.Join(eips, " ") || len(eips) != 2 {
		t.Errorf("turn.%s records %v (values %v), want one A record of the nodes' addresses %v", testDomain, plain, strs(plain[0], "records"), eips)
	}

	uris, _ := r.output(t, "turnUris").Value.([]string)
	want := []string{
		"turn:turn." + testDomain + ":3478?transport=udp", "turn:turn." + testDomain + ":3478?transport=tcp",
		"turns:" + tlsName + ":443?transport=tcp",
	}
	if strings.Join(uris, " ") != strings.Join(want, " ") {
		t.Errorf("turnUris %v, want %v", uris, want)
	}
	// The applications name the nodes, without a query (WhipEndpoint appends one).
	for _, role := range []string{"origin", "edge"} {
		var d struct{ Settings map[string]any }
		doc := r.one(t, "aws:ssm/parameter:Parameter", "-"+role+"-app-settings")
		if err := json.Unmarshal([]byte(unsecret(doc.input("value")).StringValue()), &d); err != nil {
			t.Fatal(err)
		}
		if got := d.Settings["stunServerURI"]; got != "turn:turn."+testDomain+":3478" {
			t.Errorf("%s stunServerURI %v, want turn:turn.%s:3478", role, got, testDomain)
		}
	}
}

// strs lists the strings of an input array.
func strs(res *registered, path string) []string {
	var out []string
	for i := 0; ; i++ {
		s := res.str(fmt.Sprintf("%s.%d", path, i))
		if s == "" {
			return out
		}
		out = append(out, s)
	}
}

// Turning TURN on leaves the domain's own certificate, its validation
// record and the HTTPS listeners exactly as they were: nothing of an
// existing stack's HTTPS is replaced.
func TestTurnLeavesTheDomainCertificateAlone(t *testing.T) {
	domain := map[string]string{"domainName": testDomain, "hostedZoneId": testZoneID}
	before := deploy(t, domain)
	domain["turn"] = "true"
	after := deploy(t, domain)
	for _, typ := range []string{typeCertificate, "aws:acm/certificateValidation:CertificateValidation", typeRecord, typeListener} {
		for _, b := range before.ofType(typ) {
			a := after.byURN(b.URN)
			if a == nil {
				t.Errorf("%s %s is gone with turn on", typ, b.Name)
				continue
			}
			if !a.Inputs.DeepEquals(b.Inputs) {
				t.Errorf("%s %s changes with turn on:\nbefore %v\nafter  %v", typ, b.Name, b.Inputs, a.Inputs)
			}
		}
	}
	if n := len(after.ofType(typeCertificate)); n != 2 {
		t.Errorf("%d certificates with turn on, want the domain's and turns.%s's", n, testDomain)
	}
}

// Without a domain there is no name to certify: no TLS, no records, the
// nodes' addresses in the URIs; certificateArn alone names no host either.
func TestTurnWithoutDomainHasNoTLS(t *testing.T) {
	for name, cfg := range map[string]map[string]string{
		"no certificate":      {"turn": "true"},
		"certificateArn only": {"turn": "true", "certificateArn": testCertificate},
	} {
		t.Run(name, func(t *testing.T) {
			r := deploy(t, cfg)
			if l := turnTLSListeners(r); len(l) != 0 {
				t.Errorf("%d TLS listeners without a domain", len(l))
			}
			if n := len(r.ofType(typeRecord)); n != 0 {
				t.Errorf("%d Route 53 records without a domain", n)
			}
			if got := strs(r.one(t, typeASG, "-turn"), "targetGroupArns"); len(got) != 0 {
				t.Errorf("TURN group joins %v without TLS", got)
			}
			uris, _ := r.output(t, "turnUris").Value.([]string)
			ip := stateString(turnAddresses(r)[0], "publicIp")
			if strings.Join(uris, " ") != "turn:"+ip+":3478?transport=udp turn:"+ip+":3478?transport=tcp" {
				t.Errorf("turnUris %v, want the node's address over UDP and TCP", uris)
			}
		})
	}
}

// turns.<domain> is the subject of an ACM certificate: with turn on, the
// domain must leave room for it, and the key says so before anything is built.
func TestTurnRefusesADomainTooLongForItsTLSCertificate(t *testing.T) {
	domain := strings.Repeat("a", 47) + ".example.com" // 59 characters: fits alone, not with "turns."
	deploy(t, map[string]string{"domainName": domain, "hostedZoneId": testZoneID})
	rejectedConfig(t, map[string]string{"turn": "true", "domainName": domain, "hostedZoneId": testZoneID},
		[]string{`ams-cluster:domainName = "` + domain + `" is not valid; accepted: at most 58 characters with turn on`})
}

// The plan shows TURN over TLS: the listener among the entry points, TLS
// 443 from the internet in the reachability matrix, TCP 3478 to the TURN
// nodes as all the load balancer may send, and its hours in the TURN
// server's cost; without a domain, none of it.
func TestPlanShowsTurnOverTLS(t *testing.T) {
	for _, withDomain := range []bool{true, false} {
		set := map[string]string{"turn": "true"}
		if withDomain {
			set["domainName"], set["hostedZoneId"] = testDomain, testZoneID
		}
		p, text := planDev(t, set)
		lines := strings.Split(text, "\n")
		row := func(prefix string) string {
			for _, l := range lines {
				if strings.HasPrefix(strings.TrimSpace(l), prefix) {
					return l
				}
			}
			return ""
		}
		listener := row("TLS 443   tls://turns." + testDomain + ":443")
		sends := row("TurnServer ams-cluster-dev-turn-tls  ams-cluster-dev-turn-tls")
		nlbHours := 0.0
		for _, l := range p.EstimateCost(plan.ListPrices(), plan.DefaultAssumptions()).Lines {
			if strings.HasPrefix(l.Component, "TurnServer") && l.Item == "network load balancer" {
				nlbHours += l.Quantity
			}
		}
		if !withDomain {
			if listener != "" || sends != "" || nlbHours != 0 {
				t.Errorf("without a domain the plan shows TURN over TLS: %q %q, %v LB-hours", listener, sends, nlbHours)
			}
			continue
		}
		if !strings.Contains(listener, "forward ams-cluster-dev-turn-tls (TCP 3478)") || !strings.HasSuffix(strings.TrimSpace(listener), "turn") {
			t.Errorf("entry point %q, want TLS 443 forwarded to the TURN group's TCP 3478", listener)
		}
		if !strings.HasSuffix(strings.TrimSpace(row("internet (0.0.0.0/0)")), "udp 49152-65535  tcp 443") {
			t.Errorf("reachability: the internet reaches %q, want tcp 443 on the TURN TLS load balancer last", row("internet (0.0.0.0/0)"))
		}
		if !strings.HasSuffix(strings.TrimSpace(sends), "TurnServer ams-cluster-dev-turn: tcp 3478") {
			t.Errorf("the TLS load balancer may send %q, want only tcp 3478 to the TURN nodes", sends)
		}
		if nlbHours != 730 {
			t.Errorf("TURN server's network load balancer: %v hours a month, want 730", nlbHours)
		}
	}
}

// planDev plans the dev stack with overrides as `go run ./cmd/plan -set`
// does, and returns the plan and its text.
func planDev(t *testing.T, overrides map[string]string) (*plan.Plan, string) {
	t.Helper()
	cfg, secretKeys, err := mockaws.StackConfig("..", "dev", overrides)
	if err != nil {
		t.Fatal(err)
	}
	r := mockaws.RunStack(mockaws.New(), "dev", cfg, secretKeys)
	if r.Err != nil {
		t.Fatalf("dev stack with %v: %v", overrides, r.Err)
	}
	p := plan.New("dev", r)
	var b strings.Builder
	if err := p.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	return p, b.String()
}

// A stack with TURN over TLS breaks none of the policy pack's rules, with
// the public ports its configuration opens.
func TestPolicyTurnOverTLSStackComplies(t *testing.T) {
	overrides := map[string]string{"turn": "true", "domainName": testDomain, "hostedZoneId": testZoneID}
	r := deploy(t, overrides)
	var found []string
	for _, res := range r.resources {
		for _, rule := range rules.AllFor(portsOf(t, stackConfig(t, "Pulumi.dev.yaml", overrides))) {
			found = append(found, policyViolations(rule, policyView(res))...)
		}
	}
	if len(found) > 0 {
		t.Errorf("policy violations: %s", policyList(found))
	}
}

// The mock refuses a TLS listener without a certificate, as
// CreateListener does, so a stack that forgot one cannot pass.
func TestMockRefusesATLSListenerWithoutCertificate(t *testing.T) {
	_, err := runComponents(t, func(ctx *pulumi.Context) error {
		_, err := lb.NewListener(ctx, "turn-tls", &lb.ListenerArgs{
			LoadBalancerArn: pulumi.String("arn:aws:elasticloadbalancing:eu-central-1:123456789012:loadbalancer/net/turn/0123456789abcdef"),
			Port:            pulumi.Int(443), Protocol: pulumi.String("TLS"),
			DefaultActions: lb.ListenerDefaultActionArray{&lb.ListenerDefaultActionArgs{Type: pulumi.String("forward"),
				TargetGroupArn: pulumi.String("arn:aws:elasticloadbalancing:eu-central-1:123456789012:targetgroup/turn/0123456789abcdef")}},
		})
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "CertificateNotFound") {
		t.Errorf("TLS listener without a certificate: %v, want CertificateNotFound", err)
	}
}
