package tests

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestBadEntryConfigurationFailsBeforeAnyResource is the issue 8 part of
// TestBadConfigurationFailsBeforeAnyResource: each bad value of the ingest,
// domain and hygiene keys is refused with key, value and what is accepted,
// before anything is registered.
func TestBadEntryConfigurationFailsBeforeAnyResource(t *testing.T) {
	for _, tc := range []struct {
		name   string
		config map[string]string
		key    string
		value  string
		accept string // part of what the message says is accepted
	}{
		{"domain without zone", map[string]string{"domainName": testDomain}, "hostedZoneId", `""`, "hosted zone that holds " + testDomain},
		{"zone without domain", map[string]string{"hostedZoneId": testZoneID}, "domainName", `""`, "inside hosted zone " + testZoneID},
		{"domain and certificate", map[string]string{"domainName": testDomain, "hostedZoneId": testZoneID, "certificateArn": testCertificate}, "domainName", testDomain, "empty when certificateArn is set"},
		{"domain with a scheme", map[string]string{"domainName": "https://live.example.com", "hostedZoneId": testZoneID}, "domainName", "https://live.example.com", "no scheme"},
		{"domain in capitals", map[string]string{"domainName": "Live.Example.com", "hostedZoneId": testZoneID}, "domainName", "Live.Example.com", "lower-case"},
		{"single-label domain", map[string]string{"domainName": "live", "hostedZoneId": testZoneID}, "domainName", `"live"`, "live.example.com"},
		{"wildcard domain", map[string]string{"domainName": "*.example.com", "hostedZoneId": testZoneID}, "domainName", "*.example.com", "wildcard"},
		{"domain with a trailing dot", map[string]string{"domainName": "live.example.com.", "hostedZoneId": testZoneID}, "domainName", "live.example.com.", "trailing dot"},
		{"zone ID that is a name", map[string]string{"domainName": testDomain, "hostedZoneId": "example.com"}, "hostedZoneId", "example.com", "hosted zone ID"},
		{"ingest as yes", map[string]string{"ingest": "yes"}, "ingest", `"yes"`, "true or false"},
		{"ingest as a number", map[string]string{"ingest": "2"}, "ingest", `"2"`, "true or false"},
		{"plainHttp as maybe", map[string]string{"plainHttp": "maybe"}, "plainHttp", "maybe", "true or false"},
		{"deletion protection as on", map[string]string{"deletionProtection": "on"}, "deletionProtection", `"on"`, "true or false"},
		{"log retention beyond ten years", map[string]string{"accessLogs": "true", "accessLogRetentionDays": "3651"}, "accessLogRetentionDays", "3651", "1 to 3650"},
		{"HTTPS required, none given", map[string]string{"requireHttps": "true"}, "domainName", `""`, "requireHttps"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rejectedConfig(t, tc.config, []string{"ams-cluster:" + tc.key + " = ", tc.value, "accepted: ", tc.accept})
		})
	}
}

// TestStackFilesLoadWithTheSchema checks every key a stack file sets
// against Pulumi.yaml's declaration: declared, and of the declared type.
func TestStackFilesLoadWithTheSchema(t *testing.T) {
	var p struct {
		Config map[string]struct {
			Type string `yaml:"type"`
		} `yaml:"config"`
	}
	readYAML(t, "../Pulumi.yaml", &p)
	for _, file := range []string{"Pulumi.dev.yaml", "Pulumi.prod.yaml"} {
		var stack struct {
			Config map[string]any `yaml:"config"`
		}
		readYAML(t, "../"+file, &stack)
		if len(stack.Config) == 0 {
			t.Errorf("%s sets nothing", file)
		}
		for key, value := range stack.Config {
			name, ok := strings.CutPrefix(key, project+":")
			if !ok {
				if !strings.HasPrefix(key, "aws:") {
					t.Errorf("%s sets %s, neither a project nor an aws key", file, key)
				}
				continue
			}
			decl, declared := p.Config[name]
			if !declared {
				t.Errorf("%s sets undeclared key %s", file, key)
				continue
			}
			var typeOK bool
			switch v := value.(type) {
			case string:
				typeOK = decl.Type == "string"
			case bool:
				typeOK = decl.Type == "boolean"
			case int:
				typeOK = decl.Type == "integer"
			case []any:
				typeOK = decl.Type == "array"
			default:
				t.Errorf("%s: %s has a value of type %T", file, key, v)
			}
			if !typeOK {
				t.Errorf("%s: %s = %v (%T), declared %s", file, key, value, value, decl.Type)
			}
		}
	}
	// The keys a user fills in are there, commented, in the production file.
	text, err := os.ReadFile("../Pulumi.prod.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"domainName", "hostedZoneId", "adminCidr"} {
		if !strings.Contains(string(text), "  # ams-cluster:"+key+": ") {
			t.Errorf("Pulumi.prod.yaml lacks the commented key %s", key)
		}
	}
}

func TestProductionStackStopsWithoutHTTPS(t *testing.T) {
	r := runProgram(t, stackConfig(t, "Pulumi.prod.yaml", nil))
	if r.err == nil {
		t.Fatal("the production stack deployed without a domain or certificate")
	}
	for _, want := range []string{"ams-cluster:domainName = \"\"", "hostedZoneId", "certificateArn", "requireHttps", "plain HTTP"} {
		if !strings.Contains(r.err.Error(), want) {
			t.Errorf("message lacks %q:\n%s", want, r.err)
		}
	}
	if len(r.resources) != 0 {
		t.Errorf("%d resources registered by a production stack without HTTPS", len(r.resources))
	}
	// A certificate made by hand is enough too.
	if r := runProgram(t, stackConfig(t, "Pulumi.prod.yaml", map[string]string{"certificateArn": testCertificate})); r.err != nil {
		t.Errorf("production stack with certificateArn: %v", r.err)
	}
}

func TestProductionStackWithItsDomain(t *testing.T) {
	r := runProgram(t, stackConfig(t, "Pulumi.prod.yaml", map[string]string{"domainName": testDomain, "hostedZoneId": testZoneID}))
	if r.err != nil {
		t.Fatalf("production stack: %v", r.err)
	}
	for _, lb := range []*registered{r.alb(t), r.nlb(t)} {
		if lb.str("enableDeletionProtection") != "true" {
			t.Errorf("%s load balancer without deletion protection", lb.str("loadBalancerType"))
		}
	}
	if r.alb(t).str("accessLogs.enabled") != "true" {
		t.Errorf("ALB access logs %v", r.alb(t).input("accessLogs"))
	}
	for _, asg := range r.ofType("aws:autoscaling/group:Group") {
		if n := len(asg.input("vpcZoneIdentifiers").ArrayValue()); n != 3 {
			t.Errorf("%s spans %d subnets, want all 3 zones", asg.Name, n)
		}
		if asg.str("minSize") != "2" {
			t.Errorf("%s min size %s, want 2", asg.Name, asg.str("minSize"))
		}
	}
	for _, hook := range r.ofType("aws:autoscaling/lifecycleHook:LifecycleHook") {
		if hook.str("heartbeatTimeout") != "1800" {
			t.Errorf("%s drains for %s s, want 1800", hook.Name, hook.str("heartbeatTimeout"))
		}
	}
	// A replica set of three members, each sized as configured.
	if n := len(r.ofType("aws:ec2/instance:Instance")); n != 3 {
		t.Errorf("%d MongoDB instances, want a replica set of 3", n)
	}
	for _, inst := range r.ofType("aws:ec2/instance:Instance") {
		expectInputs(t, inst, map[string]string{"instanceType": "m5.2xlarge"})
	}
	for _, v := range r.ofType("aws:ebs/volume:Volume") {
		expectInputs(t, v, map[string]string{"size": "200"})
	}
	if got := fmt.Sprint(r.one(t, "aws:dlm/lifecyclePolicy:LifecyclePolicy", "").input("policyDetails.schedules.0.retainRule.count").V); got != "30" {
		t.Errorf("snapshots kept %s, want 30", got)
	}
	if got := r.outputString(t, "playUrl"); got != "https://"+testDomain+":5443/WebRTCAppEE/" {
		t.Errorf("playUrl %q", got)
	}
}
