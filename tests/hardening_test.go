package tests

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
)

// TestPasswordsAppearOnlyAsSecrets looks for every generated password in
// every input of every resource and every stack output.
func TestPasswordsAppearOnlyAsSecrets(t *testing.T) {
	r := deploy(t, sshAccess(), "ams-cluster:sshPrivateKey")
	if len(r.passwords) != 4 {
		t.Fatalf("%d generated passwords, want MongoDB admin, MongoDB app, panel admin and the JWT stream secret", len(r.passwords))
	}
	seen := 0
	for _, res := range r.resources {
		for path, l := range leaves(res.Inputs) {
			for _, pw := range r.passwords {
				if !strings.Contains(l.value, pw) {
					continue
				}
				seen++
				if !l.secret {
					t.Errorf("%s %s: %s carries a password in plain text", res.Type, res.Name, path)
				}
			}
			if strings.Contains(l.value, testPrivateKey[40:80]) && !l.secret {
				t.Errorf("%s %s: %s carries the SSH private key in plain text", res.Type, res.Name, path)
			}
		}
		if res.Type == "aws:ec2/launchTemplate:LaunchTemplate" || res.Type == "aws:ec2/instance:Instance" {
			script := userData(t, res)
			for _, pw := range r.passwords {
				if strings.Contains(script, pw) {
					t.Errorf("%s %s: user data contains a password", res.Type, res.Name)
				}
			}
		}
	}
	if seen < 4 {
		t.Errorf("passwords found in only %d inputs; the scan is not seeing the SSM parameters", seen)
	}
	for name, o := range r.outputs {
		for _, pw := range r.passwords {
			if strings.Contains(fmt.Sprint(o.Value), pw) && !o.Secret {
				t.Errorf("stack output %s shows a password in plain text", name)
			}
		}
	}
	if o := r.output(t, "panelAdminPassword"); !o.Secret || o.Value == "" {
		t.Errorf("panelAdminPassword secret=%v, want a secret output", o.Secret)
	}
	// Credentials live in secret SecureStrings; the only plain String
	// parameters are the recorded images and MongoDB's readiness, which the
	// stack seeds with values that are no secret.
	plain := map[string]string{
		"/ams-cluster/dev/ams-cluster-dev-origin/image-id":     amsAMI,
		"/ams-cluster/dev/ams-cluster-dev-edge/image-id":       amsAMI,
		"/ams-cluster/dev/ams-cluster-dev-mongo/mongodb/ready": "pending",
	}
	for _, p := range r.ofType("aws:ssm/parameter:Parameter") {
		if want, ok := plain[p.str("name")]; ok {
			if p.str("type") != "String" || p.str("insecureValue") != want || !p.input("value").IsNull() {
				t.Errorf("parameter %s: type %s, insecureValue %q, value %v; want a String seeded with %q", p.str("name"), p.str("type"), p.str("insecureValue"), p.input("value"), want)
			}
			delete(plain, p.str("name"))
			continue
		}
		if p.str("type") != "SecureString" || !p.input("value").IsSecret() {
			t.Errorf("parameter %s: type %s, secret value %v; want a secret SecureString", p.str("name"), p.str("type"), p.input("value").IsSecret())
		}
	}
	if len(plain) > 0 {
		t.Errorf("String parameters missing: %v", keys(plain))
	}
}

// policyOf returns the policy document of the role behind an instance profile ARN.
func policyOf(t *testing.T, r *run, profileArn string) map[string]any {
	t.Helper()
	var roleName string
	for _, p := range r.ofType("aws:iam/instanceProfile:InstanceProfile") {
		if stateString(p, "arn") == profileArn || stateString(p, "name") == profileArn {
			roleName = p.str("role")
		}
	}
	for _, rp := range r.ofType("aws:iam/rolePolicy:RolePolicy") {
		if role := r.byID(rp.str("role")); role != nil && stateString(role, "name") == roleName {
			var doc map[string]any
			if err := json.Unmarshal([]byte(rp.str("policy")), &doc); err != nil {
				t.Fatalf("policy of %s: %v", roleName, err)
			}
			return doc
		}
	}
	t.Fatalf("no inline policy for the role of %s", profileArn)
	return nil
}

// readableParameters lists the resources each statement allowing ssm:GetParameter names.
func readableParameters(doc map[string]any) []string {
	var out []string
	for _, s := range doc["Statement"].([]any) {
		st := s.(map[string]any)
		if !strings.Contains(fmt.Sprint(st["Action"]), "ssm:GetParameter") {
			continue
		}
		switch res := st["Resource"].(type) {
		case string:
			out = append(out, res)
		case []any:
			for _, v := range res {
				out = append(out, fmt.Sprint(v))
			}
		}
	}
	sort.Strings(out)
	return out
}

func TestNodesReadExactlyTheirOwnParameters(t *testing.T) {
	r := deploy(t, nil)
	arn := func(suffix string) string {
		return stateString(r.one(t, "aws:ssm/parameter:Parameter", suffix), "arn")
	}
	urlArn, panelArn, readyArn := arn("-mongo-url"), arn("-panel-admin"), arn("-mongo-ready")
	// The node that creates <panel>-claim claims an empty panel; all read it.
	claimArn := panelArn + "-claim"
	// Each group's settings document and the JWT secret it names (publishAuth jwt).
	jwtArn := arn("-jwt-stream-secret")
	want := map[string][]string{
		"origin": {panelArn, claimArn, urlArn, readyArn, arn("-origin-app-settings"), jwtArn},
		"edge":   {panelArn, claimArn, urlArn, readyArn, arn("-edge-app-settings"), jwtArn},
		"mongo":  {arn("-mongo-admin-password"), arn("-mongo-app-password")},
	}
	sort.Strings(want["origin"])
	sort.Strings(want["edge"])
	sort.Strings(want["mongo"])
	got := map[string][]string{}
	for _, lt := range r.ofType("aws:ec2/launchTemplate:LaunchTemplate") {
		got[strings.TrimPrefix(lt.Name, "ams-cluster-dev-")] = readableParameters(policyOf(t, r, lt.str("iamInstanceProfile.arn")))
	}
	got["mongo"] = readableParameters(policyOf(t, r, r.one(t, "aws:ec2/instance:Instance", "-mongo").str("iamInstanceProfile")))
	for role, w := range want {
		if strings.Join(got[role], " ") != strings.Join(w, " ") {
			t.Errorf("%s may read %v, want exactly %v", role, got[role], w)
		}
	}
	for _, a := range r.ofType("aws:iam/rolePolicyAttachment:RolePolicyAttachment") {
		if strings.Contains(a.str("policyArn"), "AmazonSSMManagedInstanceCore") {
			t.Errorf("%s attaches AmazonSSMManagedInstanceCore, which reads every parameter", a.Name)
		}
	}
}

func TestInstancesRequireIMDSv2AndEncryptDisks(t *testing.T) {
	r := deploy(t, nil)
	for _, lt := range r.ofType("aws:ec2/launchTemplate:LaunchTemplate") {
		expectInputs(t, lt, map[string]string{
			"metadataOptions.httpTokens":                    "required",
			"metadataOptions.httpPutResponseHopLimit":       "1",
			"blockDeviceMappings.0.ebs.encrypted":           "true",
			"blockDeviceMappings.0.ebs.volumeType":          "gp3",
			"monitoring.enabled":                            "true",
			"networkInterfaces.0.associatePublicIpAddress":  "true",
			"blockDeviceMappings.0.ebs.deleteOnTermination": "true",
		})
	}
	instance := r.one(t, "aws:ec2/instance:Instance", "-mongo")
	expectInputs(t, instance, map[string]string{
		"metadataOptions.httpTokens": "required",
		"rootBlockDevice.encrypted":  "true",
		"rootBlockDevice.volumeType": "gp3",
		"monitoring":                 "true",
	})
}

func TestDrainWindowAgreesEverywhere(t *testing.T) {
	for _, drain := range []string{"60", "300", "900"} {
		t.Run(drain+"s", func(t *testing.T) {
			r := deploy(t, map[string]string{"drainSeconds": drain})
			var hooks []*registered
			for _, h := range r.ofType("aws:autoscaling/lifecycleHook:LifecycleHook") {
				if strings.HasSuffix(h.Name, "-drain") {
					hooks = append(hooks, h)
				}
			}
			if len(hooks) != 2 {
				t.Fatalf("%d lifecycle hooks, want one per group", len(hooks))
			}
			groups := map[string]bool{}
			for _, h := range hooks {
				if h.str("lifecycleTransition") != "autoscaling:EC2_INSTANCE_TERMINATING" || h.str("heartbeatTimeout") != drain || h.str("defaultResult") != "CONTINUE" {
					t.Errorf("hook %s: %s after %s s -> %s, want a terminating hook holding %s s then CONTINUE",
						h.Name, h.str("lifecycleTransition"), h.str("heartbeatTimeout"), h.str("defaultResult"), drain)
				}
				groups[h.str("autoscalingGroupName")] = true
			}
			for _, asg := range r.ofType("aws:autoscaling/group:Group") {
				if !groups[stateString(asg, "name")] {
					t.Errorf("group %s has no drain hook", asg.Name)
				}
			}
			for _, tg := range r.ofType("aws:lb/targetGroup:TargetGroup") {
				if got := tg.str("deregistrationDelay"); got != drain {
					t.Errorf("target group %s deregistration delay %s s, want the drain window %s s", tg.Name, got, drain)
				}
			}
		})
	}
}

func TestSecondRunRegistersIdenticalInputs(t *testing.T) {
	config := seedLike()
	for k, v := range sshAccess() {
		config[k] = v
	}
	first := inputsByResource(deploy(t, config, "ams-cluster:sshPrivateKey"))
	second := inputsByResource(deploy(t, config, "ams-cluster:sshPrivateKey"))
	if len(first) != len(second) {
		t.Fatalf("first run %d resources, second %d", len(first), len(second))
	}
	for _, k := range keys(first) {
		if first[k] != second[k] {
			t.Errorf("%s changed between runs:\n  %.300s\n  %.300s", k, first[k], second[k])
		}
	}
}

func TestWholeStackUnderDevAndSeedLikeConfiguration(t *testing.T) {
	for _, tc := range []struct {
		name        string
		config      map[string]string
		https       bool
		originType  string
		maxSize     string
		listeners   int
		publishPort string
		playPort    string
	}{
		// Two listeners of the ingest load balancer (RTMP, SRT) on top of the ALB's.
		{"dev", nil, false, "c5.xlarge", "2", 2 + 2, "http://", ":5080/"},
		{"seed-like", seedLike(), true, "m5.2xlarge", "10", 4 + 2, "https://", ":5443/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := deploy(t, tc.config)
			counts := map[string]int{}
			for _, res := range r.resources {
				counts[res.Type]++
			}
			for typ, want := range map[string]int{
				"ams:cluster:Network": 1, "ams:cluster:MongoNode": 1, "ams:cluster:ScalingGroup": 2,
				"ams:cluster:StreamingLoadBalancer": 1, "ams:cluster:NodeSecurityGroup": 1, "ams:cluster:IngestLoadBalancer": 1,
				"aws:ec2/vpc:Vpc": 1, "aws:ec2/subnet:Subnet": 2, "aws:ec2/instance:Instance": 1, "aws:ebs/volume:Volume": 1,
				"aws:autoscaling/group:Group": 2, "aws:ec2/launchTemplate:LaunchTemplate": 2, "aws:lb/loadBalancer:LoadBalancer": 2,
				"aws:lb/targetGroup:TargetGroup": 4, "aws:lb/listener:Listener": tc.listeners, "aws:dlm/lifecyclePolicy:LifecyclePolicy": 1,
				"aws:autoscaling/policy:Policy": 2 + 2 + 2, "aws:cloudwatch/metricAlarm:MetricAlarm": 2 + 12 + 4, "aws:autoscaling/lifecycleHook:LifecycleHook": 4, "aws:ec2/securityGroup:SecurityGroup": 4,
			} {
				if counts[typ] != want {
					t.Errorf("%d × %s, want %d", counts[typ], typ, want)
				}
			}
			// Every child of a component is parented to it and named from it.
			for _, res := range r.resources {
				parent := r.byURN(res.Parent)
				if res.Custom && (parent == nil || !strings.HasPrefix(parent.Type, "ams:cluster:")) && !strings.HasSuffix(res.Name, "-panel-admin") && !strings.HasSuffix(res.Name, "-jwt-stream-secret") {
					t.Errorf("%s %s is not parented to a component", res.Type, res.Name)
				}
				if parent != nil && strings.HasPrefix(parent.Type, "ams:cluster:") && !strings.HasPrefix(res.Name, parent.Name) {
					t.Errorf("%s %s is not named from its component %s", res.Type, res.Name, parent.Name)
				}
			}
			for _, lt := range r.ofType("aws:ec2/launchTemplate:LaunchTemplate") {
				if strings.HasSuffix(lt.Name, "-origin") && lt.str("instanceType") != tc.originType {
					t.Errorf("origin instance type %s, want %s", lt.str("instanceType"), tc.originType)
				}
			}
			for _, asg := range r.ofType("aws:autoscaling/group:Group") {
				if asg.str("maxSize") != tc.maxSize {
					t.Errorf("%s max %s, want %s", asg.Name, asg.str("maxSize"), tc.maxSize)
				}
			}
			dns := r.outputString(t, "loadBalancerDnsName")
			if !strings.HasSuffix(dns, ".eu-central-1.elb.amazonaws.com") {
				t.Errorf("loadBalancerDnsName %q", dns)
			}
			for name, want := range map[string]string{
				"publishUrl": tc.publishPort + dns + "/WebRTCAppEE/",
				"playUrl":    tc.publishPort + dns + tc.playPort + "WebRTCAppEE/",
				"panelUrl":   tc.publishPort + dns + "/",
			} {
				if got := r.outputString(t, name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			for _, name := range []string{"mongoPrivateIp", "originGroupName", "edgeGroupName", "panelLogin", "panelAdminEmail", "panelAdminPassword", "https", "mongoUrlParameter"} {
				if v := r.outputString(t, name); v == "" || v == "<nil>" {
					t.Errorf("output %s is empty", name)
				}
			}
			if got := r.outputString(t, "https"); strings.HasPrefix(got, "enabled") != tc.https {
				t.Errorf("https output %q, want enabled=%v", got, tc.https)
			}
			if !strings.Contains(r.outputString(t, "panelLogin"), "pulumi stack output panelAdminPassword --show-secrets") {
				t.Errorf("panelLogin does not say how to read the password")
			}
		})
	}
}
