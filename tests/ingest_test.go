package tests

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"testing"
)

// listenerTable describes every listener of both load balancers as
// "<alb|nlb> <port> <protocol> -> <default action>", the default action being
// a role (forward), "301 https:<port>" (redirect) or "403" (refusal), followed
// on an ALB listener by ", apps -> <role>" when its applications rule
// forwards the streaming applications' paths to a role. It checks on the way
// that HTTPS listeners carry wantCert.
func listenerTable(t *testing.T, r *run, wantCert string) []string {
	t.Helper()
	var got []string
	for _, l := range r.ofType("aws:lb/listener:Listener") {
		lb := r.byArn(l.str("loadBalancerArn"))
		if lb == nil {
			t.Fatalf("listener %s belongs to load balancer %q, which the stack did not create", l.Name, l.str("loadBalancerArn"))
		}
		kind := map[string]string{"application": "alb", "network": "nlb"}[lb.str("loadBalancerType")]
		action := l.input("defaultActions.0")
		var to string
		switch typ := lookup(action, "type").StringValue(); typ {
		case "forward":
			to = roleOfTargetGroup(t, r, lookup(action, "targetGroupArn").StringValue())
		case "redirect":
			redirect := func(k string) string { return lookup(action, "redirect."+k).StringValue() }
			to = fmt.Sprintf("%s %s:%s", strings.TrimPrefix(redirect("statusCode"), "HTTP_"), strings.ToLower(redirect("protocol")), redirect("port"))
			if redirect("host") != "#{host}" || redirect("path") != "/#{path}" || redirect("query") != "#{query}" {
				t.Errorf("listener %s redirects to host %q path %q query %q, want the request's own", l.Name, redirect("host"), redirect("path"), redirect("query"))
			}
		case "fixed-response":
			to = lookup(action, "fixedResponse.statusCode").StringValue()
		default:
			t.Errorf("listener %s default action %q", l.Name, typ)
		}
		for _, rule := range r.ofType("aws:lb/listenerRule:ListenerRule") {
			if rule.Name != l.Name+"-applications" {
				continue
			}
			if r.byID(rule.str("listenerArn")) != l || rule.str("actions.0.type") != "forward" {
				t.Errorf("applications rule %s is not a forward on listener %s", rule.Name, l.Name)
				continue
			}
			to += ", apps -> " + roleOfTargetGroup(t, r, rule.str("actions.0.targetGroupArn"))
		}
		got = append(got, fmt.Sprintf("%s %s %s -> %s", kind, l.str("port"), l.str("protocol"), to))
		if l.str("protocol") == "HTTPS" && l.str("certificateArn") != wantCert {
			t.Errorf("HTTPS listener %s uses certificate %q, want %q", l.Name, l.str("certificateArn"), wantCert)
		}
		if l.str("protocol") != "HTTPS" && l.str("certificateArn") != "" {
			t.Errorf("%s listener %s carries a certificate", l.str("protocol"), l.Name)
		}
	}
	sort.Strings(got)
	return got
}

// validatedCertificate is the ARN the stack's CertificateValidation gives back.
func validatedCertificate(t *testing.T, r *run) string {
	t.Helper()
	return stateString(r.one(t, "aws:acm/certificateValidation:CertificateValidation", ""), "certificateArn")
}

func TestListenerTableOfBothLoadBalancers(t *testing.T) {
	// ALB listeners refuse by default and forward only the streaming
	// applications' paths, each to its role; beside a certificate, plain
	// HTTP redirects everything else (the panel never goes over plain HTTP)
	// and, with plainHttp, still forwards the applications' paths.
	ingest := []string{"nlb 1935 TCP -> origin", "nlb 4200 UDP -> origin"}
	unencrypted := []string{"alb 5080 HTTP -> 403, apps -> edge", "alb 80 HTTP -> 403, apps -> origin"}
	redirected := []string{"alb 443 HTTPS -> 403, apps -> origin", "alb 5080 HTTP -> 301 https:5443", "alb 5443 HTTPS -> 403, apps -> edge", "alb 80 HTTP -> 301 https:443"}
	plain := []string{"alb 443 HTTPS -> 403, apps -> origin", "alb 5080 HTTP -> 301 https:5443, apps -> edge",
		"alb 5443 HTTPS -> 403, apps -> edge", "alb 80 HTTP -> 301 https:443, apps -> origin"}
	domain := map[string]string{"domainName": testDomain, "hostedZoneId": testZoneID}
	with := func(a map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range a {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		config map[string]string
		cert   string // "" none, "arn" the configured one, "acm" the validated one
		want   []string
	}{
		{"no certificate", nil, "", append(unencrypted, ingest...)},
		{"no certificate, plainHttp changes nothing", map[string]string{"plainHttp": "true"}, "", append(unencrypted, ingest...)},
		{"no certificate, no ingest", map[string]string{"ingest": "false"}, "", unencrypted},
		{"certificateArn redirects", map[string]string{"certificateArn": testCertificate}, "arn", append(redirected, ingest...)},
		{"certificateArn with plainHttp", map[string]string{"certificateArn": testCertificate, "plainHttp": "true"}, "arn", append(plain, ingest...)},
		{"domain redirects", domain, "acm", append(redirected, ingest...)},
		{"domain with plainHttp", with(domain, "plainHttp", "true"), "acm", append(plain, ingest...)},
		{"domain, no ingest", with(domain, "ingest", "false"), "acm", redirected},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := deploy(t, tc.config)
			cert := map[string]string{"arn": testCertificate}[tc.cert]
			if tc.cert == "acm" {
				cert = validatedCertificate(t, r)
			}
			want := append([]string(nil), tc.want...)
			sort.Strings(want)
			if got := listenerTable(t, r, cert); strings.Join(got, "; ") != strings.Join(want, "; ") {
				t.Errorf("listeners:\n got %v\nwant %v", got, want)
			}
			// Beyond the users/initial refusal (on every listener,
			// albrules_test.go), rules live only on listeners that forward
			// the applications, never on one that only redirects; ?target=
			// rules only on the publish listeners among them.
			rules := r.ofType("aws:lb/listenerRule:ListenerRule")
			forwardsApps := map[string]bool{}
			for _, rule := range rules {
				if name, ok := strings.CutSuffix(rule.Name, "-applications"); ok {
					forwardsApps[name] = true
				}
			}
			for _, rule := range rules {
				if strings.Contains(rule.Name, "-deny-initial-user") {
					continue
				}
				l := r.byID(rule.str("listenerArn"))
				if l == nil {
					t.Errorf("rule %s sits on no listener of the stack", rule.Name)
					continue
				}
				if !strings.HasPrefix(rule.Name, l.Name+"-") || !forwardsApps[l.Name] {
					t.Errorf("rule %s sits on listener %s, which forwards no application", rule.Name, l.Name)
				}
				if strings.Contains(rule.Name, "-target-") && l.str("port") != "80" && l.str("port") != "443" {
					t.Errorf("rule %s sits on listener %s, want a publish listener", rule.Name, l.Name)
				}
			}
		})
	}
}

func TestIngestTargetGroupsServeOnlyTheOriginGroup(t *testing.T) {
	r := deploy(t, map[string]string{"healthCheckIntervalSeconds": "15", "unhealthyThreshold": "3", "drainSeconds": "900"})
	nlb := r.nlb(t)
	expectInputs(t, nlb, map[string]string{"internal": "false", "enableCrossZoneLoadBalancing": "true", "enableDeletionProtection": "false"})
	if sgs := nlb.input("securityGroups").ArrayValue(); len(sgs) != 1 || groupRole(r.byID(sgs[0].StringValue()).Name) != "ingest" {
		t.Errorf("ingest load balancer security groups %v, want its own group", sgs)
	}
	if n := len(nlb.input("subnets").ArrayValue()); n != 2 {
		t.Errorf("ingest load balancer in %d subnets, want both zones", n)
	}
	alb := r.alb(t)
	var ingestGroups []string
	for _, tg := range r.ofType("aws:lb/targetGroup:TargetGroup") {
		if tg.str("protocol") == "HTTP" {
			continue
		}
		ingestGroups = append(ingestGroups, tg.str("protocol")+" "+tg.str("port"))
		if role := roleOfTargetGroup(t, r, tg.ID); role != "origin" {
			t.Errorf("%s target group is joined by the %s group, want origin only", tg.Name, role)
		}
		expectInputs(t, tg, map[string]string{
			"targetType": "instance", "deregistrationDelay": "900",
			// UDP cannot be probed: both groups ask the node's agent, which
			// takes a full or dead origin out of the encoders' rotation.
			"healthCheck.protocol": "HTTP", "healthCheck.port": "5090", "healthCheck.path": "/capacity", "healthCheck.matcher": "200",
		})
		// As fast as the ALB notices a dead node.
		albTG := r.albTargetGroups()[0]
		if got, want := tg.num("healthCheck.interval")*tg.num("healthCheck.unhealthyThreshold"),
			albTG.num("healthCheck.interval")*albTG.num("healthCheck.unhealthyThreshold"); got != want || got != 45 {
			t.Errorf("%s notices a dead node after %v s, the ALB after %v s, want both 45", tg.Name, got, want)
		}
		if tg.num("healthCheck.timeout") >= tg.num("healthCheck.interval") {
			t.Errorf("%s health check timeout %v not below its interval", tg.Name, tg.num("healthCheck.timeout"))
		}
	}
	sort.Strings(ingestGroups)
	if strings.Join(ingestGroups, ", ") != "TCP 1935, UDP 4200" {
		t.Errorf("ingest target groups %v, want TCP 1935 and UDP 4200", ingestGroups)
	}
	for _, asg := range r.ofType("aws:autoscaling/group:Group") {
		if n, want := len(asg.input("targetGroupArns").ArrayValue()), map[string]int{"origin": 3, "edge": 1}[asgTag(asg, "ams:role")]; n != want {
			t.Errorf("%s group joins %d target groups, want %d", asgTag(asg, "ams:role"), n, want)
		}
	}
	if alb.str("loadBalancerType") != "application" {
		t.Errorf("ALB type %q", alb.str("loadBalancerType"))
	}
}

func TestWebRTCOnlyClusterHasNoIngest(t *testing.T) {
	r := deploy(t, map[string]string{"ingest": "false"})
	if n := len(r.ofType("aws:lb/loadBalancer:LoadBalancer")); n != 1 {
		t.Errorf("%d load balancers with ingest off, want the ALB only", n)
	}
	if n := len(r.ofType("ams:cluster:IngestLoadBalancer")); n != 0 {
		t.Errorf("%d ingest load balancers with ingest off", n)
	}
	for _, rule := range r.ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") {
		if p := rule.str("fromPort"); p == "1935" || p == "4200" {
			t.Errorf("ingress rule %s opens %s with ingest off", rule.Name, p)
		}
	}
	for _, name := range []string{"rtmpUrl", "srtUrl", "ingestDnsName"} {
		if _, ok := r.outputs[name]; ok {
			t.Errorf("output %s exported with ingest off", name)
		}
	}
}

// ingestSource is a member of the ingest load balancer's security group.
var ingestNode = source{name: "ingest", group: "ingest"}

// matrixTo is matrix over the given destinations.
func (n *network) matrixTo(dsts []string, sources []source) map[string]string {
	out := map[string]string{}
	for _, dst := range dsts {
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

func TestReachabilityMatrixWithIngest(t *testing.T) {
	const webrtc = "udp/50000 udp/55000 udp/60000"
	base := map[string]string{
		"loadbalancer -> loadbalancer": "", "ingest -> loadbalancer": "", "ams -> loadbalancer": "", "mongodb -> loadbalancer": "",
		"loadbalancer -> ingest": "", "ingest -> ingest": "", "ams -> ingest": "", "mongodb -> ingest": "",
		"loadbalancer -> ams": "tcp/5080", "ams -> ams": "tcp/5000 tcp/5080", "mongodb -> ams": "",
		"internet -> mongodb": "", "admin -> mongodb": "", "loadbalancer -> mongodb": "", "ingest -> mongodb": "",
		"ams -> mongodb": "tcp/27017", "mongodb -> mongodb": "",
	}
	cells := func(extra map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range base {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		config map[string]string
		want   map[string]string
	}{
		{"ingest on: encoders reach the NLB, never a node directly", nil, cells(map[string]string{
			"internet -> loadbalancer": "tcp/5080 tcp/80", "admin -> loadbalancer": "tcp/5080 tcp/80",
			"internet -> ingest": "tcp/1935 udp/4200", "admin -> ingest": "tcp/1935 udp/4200",
			"internet -> ams": webrtc, "admin -> ams": webrtc,
			"ingest -> ams": "tcp/1935 udp/4200",
		})},
		{"ingest limited to the encoders' network", map[string]string{"ingressCidrs": `["198.51.100.0/24"]`}, cells(map[string]string{
			"internet -> loadbalancer": "tcp/5080 tcp/80", "admin -> loadbalancer": "",
			"internet -> ingest": "tcp/1935 udp/4200", "admin -> ingest": "",
			"internet -> ams": webrtc, "admin -> ams": webrtc,
			"ingest -> ams": "tcp/1935 udp/4200",
		})},
		{"ingest off", map[string]string{"ingest": "false"}, cells(map[string]string{
			"internet -> loadbalancer": "tcp/5080 tcp/80", "admin -> loadbalancer": "tcp/5080 tcp/80",
			"internet -> ingest": "", "admin -> ingest": "",
			"internet -> ams": webrtc, "admin -> ams": webrtc,
			"ingest -> ams": "",
		})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := deploy(t, tc.config)
			got := newNetwork(t, r).matrixTo([]string{"loadbalancer", "ingest", "ams", "mongodb"},
				[]source{internet, admin, lbNode, ingestNode, amsNode, mongo})
			for _, k := range keys(tc.want) {
				if got[k] != tc.want[k] {
					t.Errorf("%-28s open %-40q want %q", k, got[k], tc.want[k])
				}
			}
			if len(got) != len(tc.want) {
				t.Errorf("matrix has %d cells, want %d", len(got), len(tc.want))
			}
		})
	}
}

func TestIngestURLsNameTheLoadBalancerOrTheDomain(t *testing.T) {
	r := deploy(t, nil)
	host := stateString(r.nlb(t), "dnsName")
	if !strings.HasSuffix(host, ".elb."+region+".amazonaws.com") {
		t.Fatalf("NLB DNS name %q", host)
	}
	for name, want := range map[string]string{
		"rtmpUrl":       "rtmp://" + host + "/WebRTCAppEE/stream1",
		"srtUrl":        "srt://" + host + ":4200?streamid=WebRTCAppEE/stream1",
		"ingestDnsName": host,
	} {
		if got := r.outputString(t, name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	r = deploy(t, map[string]string{"domainName": testDomain, "hostedZoneId": testZoneID})
	for name, want := range map[string]string{
		"rtmpUrl":    "rtmp://ingest." + testDomain + "/WebRTCAppEE/stream1",
		"srtUrl":     "srt://ingest." + testDomain + ":4200?streamid=WebRTCAppEE/stream1",
		"publishUrl": "https://" + testDomain + "/WebRTCAppEE/",
		"playUrl":    "https://" + testDomain + ":5443/WebRTCAppEE/",
		"panelUrl":   "https://" + testDomain + "/",
	} {
		if got := r.outputString(t, name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if got := r.outputString(t, "https"); !strings.HasPrefix(got, "enabled") {
		t.Errorf("https output %q with a domain", got)
	}
}

func TestAddressesOfTheReachabilitySources(t *testing.T) {
	// The restricted-ingress case above relies on these.
	if !netip.MustParsePrefix("198.51.100.0/24").Contains(internet.addr) || netip.MustParsePrefix("198.51.100.0/24").Contains(admin.addr) {
		t.Fatal("internet must be inside 198.51.100.0/24 and admin outside")
	}
}
