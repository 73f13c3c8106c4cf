package tests

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/property"

	"github.com/ams-cluster/ams-aws/policy/rules"
)

const (
	polIngressRuleType    = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
	polSGRuleType         = "aws:ec2/securityGroupRule:SecurityGroupRule"
	polSecurityGroupType  = "aws:ec2/securityGroup:SecurityGroup"
	polVolumeType         = "aws:ebs/volume:Volume"
	polInstanceType       = "aws:ec2/instance:Instance"
	polLaunchTemplateType = "aws:ec2/launchTemplate:LaunchTemplate"
)

// policyView is what the policy pack would show the rules of res.
func policyView(res *registered) rules.Resource {
	return rules.Resource{
		Type:       res.Type,
		Name:       res.Name,
		Properties: rules.FromPropertyMap(res.Inputs),
		Protect:    res.Protect,
	}
}

// violations applies rule to r and returns its messages prefixed with the
// rule's name.
func policyViolations(rule rules.Rule, r rules.Resource) []string {
	var out []string
	for _, msg := range rule.Check(r) {
		out = append(out, rule.Name+": "+msg)
	}
	return out
}

func TestPolicyRuleSet(t *testing.T) {
	kebab := regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	seen := map[string]bool{}
	for _, rule := range rules.All() {
		if !kebab.MatchString(rule.Name) {
			t.Errorf("rule name %q: want kebab-case", rule.Name)
		}
		if seen[rule.Name] {
			t.Errorf("rule name %q appears twice in rules.All()", rule.Name)
		}
		seen[rule.Name] = true
		if rule.Description == "" || rule.Check == nil || len(rule.Types) == 0 {
			t.Errorf("rule %q: want a description, a check and the types it inspects; got description %q, check set %v, types %v",
				rule.Name, rule.Description, rule.Check != nil, rule.Types)
		}
		if got, ok := rules.ByName(rule.Name); !ok || got.Name != rule.Name {
			t.Errorf("rules.ByName(%q) = %q, %v; want the rule", rule.Name, got.Name, ok)
		}
	}
	want := []string{rules.NoPublicIngress, rules.EncryptedVolumes, rules.IMDSv2Required,
		rules.NoPlaintextSecretInUserData, rules.StatefulResourcesProtected}
	for _, name := range want {
		if !seen[name] {
			t.Errorf("rules.All() lacks %q; has %v", name, keys(seen))
		}
	}
}

// policyStackInspects names, per rule, the types the stack must register for the
// rule to have something to inspect.
var policyStackInspects = map[string][]string{
	rules.NoPublicIngress:             {polIngressRuleType},
	rules.EncryptedVolumes:            {polVolumeType, polInstanceType, polLaunchTemplateType},
	rules.IMDSv2Required:              {polInstanceType, polLaunchTemplateType},
	rules.NoPlaintextSecretInUserData: {polInstanceType, polLaunchTemplateType},
	rules.StatefulResourcesProtected:  {polVolumeType},
}

var policyStacks = []struct {
	name      string
	overrides map[string]string
}{
	{"dev defaults", nil},
	{"https and admin access", map[string]string{
		"certificateArn": "arn:aws:acm:eu-central-1:123456789012:certificate/0f3c2d1e-4b5a-4c6d-8e7f-9a0b1c2d3e4f",
		"adminCidr":      "203.0.113.7/32",
	}},
}

func TestPolicyStackComplies(t *testing.T) {
	for _, stack := range policyStacks {
		t.Run(stack.name, func(t *testing.T) {
			r := deploy(t, stack.overrides)
			var found []string
			for _, res := range r.resources {
				for _, rule := range rules.All() {
					found = append(found, policyViolations(rule, policyView(res))...)
				}
			}
			if len(found) > 0 {
				t.Errorf("want no policy violations in %d resources, got %s", len(r.resources), policyList(found))
			}
			for _, rule := range rules.All() {
				types, ok := policyStackInspects[rule.Name]
				if !ok {
					t.Errorf("rule %s: no entry in policyStackInspects; add the types the stack must register for it", rule.Name)
				}
				for _, typ := range types {
					if !slices.Contains(rule.Types, typ) {
						t.Errorf("rule %s inspects %v; want it to inspect %s", rule.Name, rule.Types, typ)
					}
					if n := len(r.ofType(typ)); n == 0 {
						t.Errorf("rule %s: want the stack to register at least one %s to inspect, got none", rule.Name, typ)
					}
				}
			}
		})
	}
}

// TestPolicyRulesSeeStackResources breaks each kind of resource the stack
// registers in the way a rule forbids and requires the rule to notice, so
// that the rules read the properties the stack really sets.
func TestPolicyRulesSeeStackResources(t *testing.T) {
	r := deploy(t, policyStacks[1].overrides)
	cases := []struct {
		name, rule, typ string
		wantInMessage   []string
		breakIt         func(t *testing.T, res rules.Resource) rules.Resource
	}{
		{"ingress opens SSH to the world", rules.NoPublicIngress, polIngressRuleType, []string{`cidrIpv4 "0.0.0.0/0"`, "tcp 22"},
			func(t *testing.T, res rules.Resource) rules.Resource {
				res.Properties = res.Properties.Set("cidrIpv4", property.New("0.0.0.0/0")).
					Set("ipProtocol", property.New("tcp")).
					Set("fromPort", property.New(22.0)).
					Set("toPort", property.New(22.0))
				return res
			}},
		{"volume unencrypted", rules.EncryptedVolumes, polVolumeType, []string{"encrypted is false"},
			func(t *testing.T, res rules.Resource) rules.Resource {
				return policySetProperty(t, res, property.New(false), "encrypted")
			}},
		{"instance root volume unencrypted", rules.EncryptedVolumes, polInstanceType, []string{"rootBlockDevice.encrypted is false"},
			func(t *testing.T, res rules.Resource) rules.Resource {
				return policySetProperty(t, res, property.New(false), "rootBlockDevice", "encrypted")
			}},
		{"launch template mapping unencrypted", rules.EncryptedVolumes, polLaunchTemplateType, []string{`blockDeviceMappings[0].ebs.encrypted is "false"`},
			func(t *testing.T, res rules.Resource) rules.Resource {
				return policySetProperty(t, res, property.New("false"), "blockDeviceMappings", 0, "ebs", "encrypted")
			}},
		{"instance allows IMDSv1", rules.IMDSv2Required, polInstanceType, []string{`metadataOptions.httpTokens is "optional"`},
			func(t *testing.T, res rules.Resource) rules.Resource {
				return policySetProperty(t, res, property.New("optional"), "metadataOptions", "httpTokens")
			}},
		{"launch template allows IMDSv1", rules.IMDSv2Required, polLaunchTemplateType, []string{`metadataOptions.httpTokens is "optional"`},
			func(t *testing.T, res rules.Resource) rules.Resource {
				return policySetProperty(t, res, property.New("optional"), "metadataOptions", "httpTokens")
			}},
		{"instance boot script sets a password", rules.NoPlaintextSecretInUserData, polInstanceType, []string{"ADMIN_PASSWORD is assigned a literal"},
			func(t *testing.T, res rules.Resource) rules.Resource {
				return policyAppendToUserData(t, res, "ADMIN_PASSWORD=hunter2")
			}},
		{"launch template boot script sets a password", rules.NoPlaintextSecretInUserData, polLaunchTemplateType, []string{"ADMIN_PASSWORD is assigned a literal"},
			func(t *testing.T, res rules.Resource) rules.Resource {
				return policyAppendToUserData(t, res, "ADMIN_PASSWORD=hunter2")
			}},
		{"volume unprotected", rules.StatefulResourcesProtected, polVolumeType, []string{"protect is false"},
			func(t *testing.T, res rules.Resource) rules.Resource {
				res.Protect = false
				return res
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rule, ok := rules.ByName(tc.rule)
			if !ok {
				t.Fatalf("rules.ByName(%q): no such rule", tc.rule)
			}
			resources := r.ofType(tc.typ)
			if len(resources) == 0 {
				t.Fatalf("want the stack to register a %s, got none", tc.typ)
			}
			for _, res := range resources {
				broken := tc.breakIt(t, policyView(res))
				got := rule.Check(broken)
				if !policyAnyContainsAll(got, append([]string{res.Name}, tc.wantInMessage...)) {
					t.Errorf("%s %s, broken (%s): want a %s violation mentioning %q and %q, got %s",
						tc.typ, res.Name, tc.name, tc.rule, res.Name, tc.wantInMessage, policyList(got))
				}
				for _, msg := range got {
					if strings.Contains(msg, "hunter2") {
						t.Errorf("%s %s: violation prints the secret: %s", tc.typ, res.Name, msg)
					}
				}
			}
		})
	}
}

// policyRuleCase is a hand-built resource a rule must reject (want non-nil: one
// violation must contain every string) or accept (want nil).
type policyRuleCase struct {
	name string
	res  rules.Resource
	want []string
	// hide are strings no message may contain: secret values.
	hide []string
}

func TestPolicyRuleCases(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	secret := func(v any) resource.PropertyValue { return resource.MakeSecret(resource.NewPropertyValue(v)) }
	unknown := resource.MakeComputed(resource.NewProperty(""))
	ingress := func(cidrKey string, cidr, protocol any, from, to int) rules.Resource {
		return policyResource(polIngressRuleType, "web", map[string]any{
			cidrKey: cidr, "ipProtocol": protocol, "fromPort": from, "toPort": to, "securityGroupId": "sg-0123",
		}, false)
	}
	ltWithUserData := func(userData any) rules.Resource {
		return policyResource(polLaunchTemplateType, "origin", map[string]any{"userData": userData}, false)
	}
	instanceWithUserData := func(key string, userData any) rules.Resource {
		return policyResource(polInstanceType, "mongo", map[string]any{key: userData}, false)
	}
	goodInstance := map[string]any{
		"rootBlockDevice": map[string]any{"encrypted": true, "volumeSize": 20},
		"ebsBlockDevices": []any{
			map[string]any{"deviceName": "/dev/sdf", "encrypted": true},
			map[string]any{"deviceName": "/dev/sdg", "encrypted": true},
		},
		"metadataOptions": map[string]any{"httpTokens": "required"},
	}
	with := func(base map[string]any, key string, v any) map[string]any {
		out := map[string]any{}
		for k, x := range base {
			out[k] = x
		}
		out[key] = v
		return out
	}
	cases := map[string][]policyRuleCase{
		rules.NoPublicIngress: {
			{name: "ssh from the internet", res: ingress("cidrIpv4", "0.0.0.0/0", "tcp", 22, 22),
				want: []string{`cidrIpv4 "0.0.0.0/0"`, `ipProtocol "tcp"`, "fromPort 22", "tcp 22 to the internet"}},
			{name: "ssh from the admin network", res: ingress("cidrIpv4", "203.0.113.7/32", "tcp", 22, 22)},
			{name: "webrtc media from the internet", res: ingress("cidrIpv4", "0.0.0.0/0", "udp", 50000, 60000)},
			{name: "udp range starting below webrtc", res: ingress("cidrIpv4", "0.0.0.0/0", "udp", 49999, 60000),
				want: []string{"udp 49999-60000"}},
			{name: "tcp range straddling 5080", res: ingress("cidrIpv4", "0.0.0.0/0", "tcp", 5000, 5080),
				want: []string{"tcp 5000-5080 to the internet"}},
			{name: "load balancer play port", res: ingress("cidrIpv4", "0.0.0.0/0", "tcp", 5080, 5080)},
			{name: "rtmp over tcp", res: ingress("cidrIpv4", "0.0.0.0/0", "tcp", 1935, 1935)},
			{name: "rtmp port over udp", res: ingress("cidrIpv4", "0.0.0.0/0", "udp", 1935, 1935),
				want: []string{"udp 1935"}},
			{name: "srt over udp", res: ingress("cidrIpv4", "0.0.0.0/0", "udp", 4200, 4200)},
			{name: "ipv6 world on 8080", res: ingress("cidrIpv6", "::/0", "tcp", 8080, 8080),
				want: []string{`cidrIpv6 "::/0"`, "tcp 8080"}},
			{name: "ipv6 world on 443", res: ingress("cidrIpv6", "::/0", "tcp", 443, 443)},
			{name: "all protocols from the internet", res: ingress("cidrIpv4", "0.0.0.0/0", "-1", 0, 0),
				want: []string{`ipProtocol "-1"`, "all protocols and ports"}},
			{name: "all protocols from the vpc", res: ingress("cidrIpv4", "10.20.0.0/16", "-1", 0, 0)},
			{name: "protocol number 6 is tcp", res: ingress("cidrIpv4", "0.0.0.0/0", "6", 3306, 3306),
				want: []string{"tcp 3306"}},
			{name: "secret world cidr is still seen", res: ingress("cidrIpv4", secret("0.0.0.0/0"), "tcp", 22, 22),
				want: []string{"cidrIpv4 [secret]", "tcp 22"}, hide: []string{"0.0.0.0/0"}},
			{name: "unknown protocol during preview", res: ingress("cidrIpv4", "0.0.0.0/0", unknown, 22, 22)},
			{name: "security group rule with a world cidr among others",
				res: policyResource(polSGRuleType, "legacy", map[string]any{
					"type": "ingress", "cidrBlocks": []any{"10.0.0.0/8", "0.0.0.0/0"}, "protocol": "tcp", "fromPort": 22, "toPort": 22,
				}, false),
				want: []string{`cidrBlocks[1] "0.0.0.0/0"`, "tcp 22"}},
			{name: "security group rule ipv6 world", res: policyResource(polSGRuleType, "legacy6", map[string]any{
				"type": "ingress", "ipv6CidrBlocks": []any{"::/0"}, "protocol": "udp", "fromPort": 53, "toPort": 53,
			}, false), want: []string{`ipv6CidrBlocks[0] "::/0"`, "udp 53"}},
			{name: "security group egress rule to the world", res: policyResource(polSGRuleType, "out", map[string]any{
				"type": "egress", "cidrBlocks": []any{"0.0.0.0/0"}, "protocol": "-1", "fromPort": 0, "toPort": 0,
			}, false)},
			{name: "security group rule https", res: policyResource(polSGRuleType, "https", map[string]any{
				"type": "ingress", "cidrBlocks": []any{"0.0.0.0/0"}, "protocol": "tcp", "fromPort": 443, "toPort": 443,
			}, false)},
			{name: "inline rdp from the internet", res: policyResource(polSecurityGroupType, "inline", map[string]any{
				"ingress": []any{
					map[string]any{"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": []any{"0.0.0.0/0"}},
					map[string]any{"protocol": "tcp", "fromPort": 3389, "toPort": 3389, "cidrBlocks": []any{"0.0.0.0/0"}},
				},
			}, false), want: []string{`ingress[1].cidrBlocks[0] "0.0.0.0/0"`, `ingress[1].protocol "tcp"`, "tcp 3389"}},
			{name: "inline https and webrtc", res: policyResource(polSecurityGroupType, "inline-ok", map[string]any{
				"ingress": []any{
					map[string]any{"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": []any{"0.0.0.0/0"}},
					map[string]any{"protocol": "udp", "fromPort": 50000, "toPort": 60000, "ipv6CidrBlocks": []any{"::/0"}},
					map[string]any{"protocol": "-1", "fromPort": 0, "toPort": 0, "self": true},
				},
			}, false)},
		},
		rules.EncryptedVolumes: {
			{name: "volume unencrypted", res: policyResource(polVolumeType, "data", map[string]any{"encrypted": false, "size": 20}, true),
				want: []string{"encrypted is false"}},
			{name: "volume encryption unset", res: policyResource(polVolumeType, "data", map[string]any{"size": 20}, true),
				want: []string{"encrypted is unset"}},
			{name: "volume encrypted", res: policyResource(polVolumeType, "data", map[string]any{"encrypted": true, "size": 20}, true)},
			{name: "volume encrypted, flag secret", res: policyResource(polVolumeType, "data", map[string]any{"encrypted": secret(true)}, true)},
			{name: "instance root volume unencrypted",
				res:  policyResource(polInstanceType, "node", with(goodInstance, "rootBlockDevice", map[string]any{"encrypted": false}), false),
				want: []string{"rootBlockDevice.encrypted is false"}},
			{name: "instance without root block device", res: policyResource(polInstanceType, "node", with(goodInstance, "rootBlockDevice", nil), false),
				want: []string{"rootBlockDevice is unset"}},
			{name: "instance second ebs device unencrypted",
				res: policyResource(polInstanceType, "node", with(goodInstance, "ebsBlockDevices", []any{
					map[string]any{"deviceName": "/dev/sdf", "encrypted": true},
					map[string]any{"deviceName": "/dev/sdg"},
				}), false),
				want: []string{"ebsBlockDevices[1].encrypted is unset"}},
			{name: "instance fully encrypted", res: policyResource(polInstanceType, "node", goodInstance, false)},
			{name: "launch template mapping unencrypted", res: policyResource(polLaunchTemplateType, "lt", map[string]any{
				"blockDeviceMappings": []any{map[string]any{"deviceName": "/dev/sda1", "ebs": map[string]any{"encrypted": "false", "volumeSize": 50}}},
			}, false), want: []string{`blockDeviceMappings[0].ebs.encrypted is "false"`}},
			{name: "launch template mapping encryption unset", res: policyResource(polLaunchTemplateType, "lt", map[string]any{
				"blockDeviceMappings": []any{
					map[string]any{"deviceName": "/dev/sda1", "ebs": map[string]any{"encrypted": "true"}},
					map[string]any{"deviceName": "/dev/sdf", "ebs": map[string]any{"volumeSize": 100}},
				},
			}, false), want: []string{"blockDeviceMappings[1].ebs.encrypted is unset"}},
			{name: "launch template without mappings", res: policyResource(polLaunchTemplateType, "lt", map[string]any{"imageId": "ami-1"}, false),
				want: []string{"blockDeviceMappings is unset", "root volume"}},
			{name: "launch template with only an ephemeral mapping", res: policyResource(polLaunchTemplateType, "lt", map[string]any{
				"blockDeviceMappings": []any{map[string]any{"deviceName": "/dev/sdb", "virtualName": "ephemeral0"}},
			}, false), want: []string{"blockDeviceMappings is a list of 1, with no ebs mapping"}},
			{name: "launch template mapping encrypted", res: policyResource(polLaunchTemplateType, "lt", map[string]any{
				"blockDeviceMappings": []any{map[string]any{"deviceName": "/dev/sda1", "ebs": map[string]any{"encrypted": "true"}}},
			}, false)},
		},
		rules.IMDSv2Required: {
			{name: "launch template tokens optional", res: policyResource(polLaunchTemplateType, "lt", map[string]any{
				"metadataOptions": map[string]any{"httpEndpoint": "enabled", "httpTokens": "optional"},
			}, false), want: []string{`metadataOptions.httpTokens is "optional"`}},
			{name: "launch template tokens required", res: policyResource(polLaunchTemplateType, "lt", map[string]any{
				"metadataOptions": map[string]any{"httpEndpoint": "enabled", "httpTokens": "required"},
			}, false)},
			{name: "instance without metadata options", res: policyResource(polInstanceType, "node", map[string]any{"ami": "ami-1"}, false),
				want: []string{"metadataOptions.httpTokens is unset"}},
			{name: "instance tokens required", res: policyResource(polInstanceType, "node", map[string]any{
				"metadataOptions": map[string]any{"httpTokens": "required"},
			}, false)},
			{name: "instance tokens unknown during preview", res: policyResource(polInstanceType, "node", map[string]any{
				"metadataOptions": map[string]any{"httpTokens": unknown},
			}, false)},
		},
		rules.NoPlaintextSecretInUserData: {
			{name: "mongodb url with password", res: ltWithUserData(b64("#!/bin/bash\n./change_server_mode.sh cluster mongodb://ams:s3cret@10.0.0.5:27017/\n")),
				want: []string{"userData line 2", "mongodb://ams:****@"}, hide: []string{"s3cret"}},
			{name: "mongodb url read from ssm", res: ltWithUserData(b64("#!/bin/bash\n" +
				"readonly DATABASE_URL_PARAMETER='/ams/dev/mongo/url'\n" +
				"database_url=$(read_secret \"$DATABASE_URL_PARAMETER\")\n" +
				"./change_server_mode.sh cluster \"$database_url\"\n"))},
			{name: "mongodb url without credentials", res: ltWithUserData(b64("DB=mongodb://10.0.0.5:27017/ams\n"))},
			{name: "mongodb url with password from a variable", res: ltWithUserData(b64("DB=\"mongodb://ams:${MONGO_PASSWORD}@10.0.0.5:27017/\"\n"))},
			{name: "mongodb+srv url with password", res: instanceWithUserData("userData", "URL=mongodb+srv://ams:pw1@cluster0.example.net/\n"),
				want: []string{"userData line 1", "mongodb+srv://ams:****@"}, hide: []string{"pw1"}},
			{name: "redis url with password only", res: instanceWithUserData("userData", "REDIS=redis://:r3dis@cache:6379/0\n"),
				want: []string{"redis://:****@"}, hide: []string{"r3dis"}},
			{name: "postgres url with password", res: instanceWithUserData("userDataBase64", b64("DSN=postgres://app:pg-pass@db:5432/app\n")),
				want: []string{"userDataBase64 line 1", "postgres://app:****@"}, hide: []string{"pg-pass"}},
			{name: "admin password literal", res: instanceWithUserData("userData", "#!/bin/bash\nADMIN_PASSWORD=hunter2\n"),
				want: []string{"userData line 2", "ADMIN_PASSWORD is assigned a literal"}, hide: []string{"hunter2"}},
			{name: "exported quoted token literal", res: instanceWithUserData("userData", "export API_TOKEN='abc123'\n"),
				want: []string{"API_TOKEN"}, hide: []string{"abc123"}},
			{name: "cloud-config password", res: instanceWithUserData("userDataBase64", b64("#cloud-config\nusers:\n  - name: ams\n    password: hunter2\n")),
				want: []string{"userDataBase64 line 4", "password is assigned a literal"}, hide: []string{"hunter2"}},
			{name: "gzipped script with a secret", res: instanceWithUserData("userDataBase64", policyGzipBase64(t, "#!/bin/bash\nDB_SECRET=topsecret\n")),
				want: []string{"line 2", "DB_SECRET"}, hide: []string{"topsecret"}},
			{name: "password from ssm", res: instanceWithUserData("userData",
				"ADMIN_PASSWORD=$(aws ssm get-parameter --name /ams/admin --with-decryption --query Parameter.Value --output text)\n")},
			{name: "password from an argument", res: instanceWithUserData("userData", "PASSWORD=\"$1\"\nTOKEN=`cat /run/token`\n")},
			{name: "password parameter name", res: ltWithUserData(b64("readonly ADMIN_PASSWORD_PARAMETER='/ams/dev/mongodb/admin-password'\nAPP_SECRET_PARAM=/ams/app\n"))},
			{name: "embedded python reads its token", res: ltWithUserData(b64("python3 - <<'PY'\n    token = metadata_token()\n    headers = {\"x-amz-security-token\": session,\n}\nPY\n"))},
			{name: "embedded python with a literal token", res: ltWithUserData(b64("python3 - <<'PY'\ntoken = \"abc123\"\nPY\n")),
				want: []string{"userData line 2", "token is assigned a literal"}, hide: []string{"abc123"}},
			{name: "yaml token given a bare word", res: instanceWithUserData("userData", "#cloud-config\napi_token: abc123\n"),
				want: []string{"api_token is assigned a literal"}, hide: []string{"abc123"}},
			{name: "password declared without a value", res: instanceWithUserData("userData", "local token\nunset ADMIN_PASSWORD\nPASSWORD=\n")},
			{name: "aws secret access key", res: instanceWithUserData("userData",
				"aws configure set aws_secret_access_key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"),
				want: []string{"aws_secret_access_key"}, hide: []string{"wJalrXUtnFEMI"}},
			{name: "aws credentials file", res: instanceWithUserData("userData",
				"cat >~/.aws/credentials <<EOF\n[default]\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\nEOF\n"),
				want: []string{"line 3", "aws_secret_access_key"}, hide: []string{"wJalrXUtnFEMI"}},
			{name: "secret-marked user data", res: ltWithUserData(secret(b64("#!/bin/bash\necho hello\n"))),
				want: []string{"userData is [secret]", "no place for secrets"}, hide: []string{b64("#!/bin/bash\necho hello\n")}},
			{name: "secret-marked user data with a password", res: instanceWithUserData("userData", secret("ADMIN_PASSWORD=hunter2\n")),
				want: []string{"ADMIN_PASSWORD is assigned a literal"}, hide: []string{"hunter2"}},
			{name: "user data unknown during preview", res: ltWithUserData(unknown)},
		},
		rules.StatefulResourcesProtected: {
			{name: "volume unprotected", res: policyResource(polVolumeType, "data", map[string]any{"encrypted": true}, false),
				want: []string{"protect is false"}},
			{name: "volume protected", res: policyResource(polVolumeType, "data", map[string]any{"encrypted": true}, true)},
			{name: "bucket unprotected", res: policyResource("aws:s3/bucketV2:BucketV2", "media", nil, false), want: []string{"protect is false"}},
			{name: "documentdb cluster unprotected", res: policyResource("aws:docdb/cluster:Cluster", "db", nil, false), want: []string{"protect is false"}},
			{name: "vpc unprotected", res: policyResource("aws:ec2/vpc:Vpc", "net", nil, false)},
		},
	}
	for _, rule := range rules.All() {
		t.Run(rule.Name, func(t *testing.T) {
			policyRuleCases := cases[rule.Name]
			if len(policyRuleCases) == 0 {
				t.Fatalf("rule %s has no cases; add a bad and a near-miss good resource", rule.Name)
			}
			for _, tc := range policyRuleCases {
				t.Run(tc.name, func(t *testing.T) {
					got := rule.Check(tc.res)
					switch {
					case tc.want == nil && len(got) > 0:
						t.Errorf("%s %q: want no violation, got %s", tc.res.Type, tc.res.Name, policyList(got))
					case tc.want != nil && !policyAnyContainsAll(got, append([]string{tc.res.Type, fmt.Sprintf("%q", tc.res.Name)}, tc.want...)):
						t.Errorf("%s %q: want a violation mentioning the resource and %q, got %s",
							tc.res.Type, tc.res.Name, tc.want, policyList(got))
					}
					for _, msg := range got {
						for _, h := range tc.hide {
							if strings.Contains(msg, h) {
								t.Errorf("violation prints the secret %q: %s", h, msg)
							}
						}
					}
				})
			}
		})
	}
}

// res builds a resource as the engine would show it, through the same
// conversion the tests apply to registered resources.
func policyResource(typ, name string, props map[string]any, protect bool) rules.Resource {
	return rules.Resource{
		Type:       typ,
		Name:       name,
		Properties: rules.FromPropertyMap(resource.NewPropertyMapFromMap(props)),
		Protect:    protect,
	}
}

// policyList renders messages for a failure report.
func policyList(messages []string) string {
	if len(messages) == 0 {
		return "none"
	}
	return fmt.Sprintf("%d:\n  %s", len(messages), strings.Join(messages, "\n  "))
}

// policyAnyContainsAll reports whether one message contains every string in want.
func policyAnyContainsAll(messages, want []string) bool {
	for _, msg := range messages {
		all := true
		for _, w := range want {
			if !strings.Contains(msg, w) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

// setProperty sets the property at path (map keys and array indexes) of res,
// failing when an array index on the way does not exist.
func policySetProperty(t *testing.T, res rules.Resource, to property.Value, path ...any) rules.Resource {
	t.Helper()
	res.Properties = policySetIn(t, property.New(res.Properties), path, to).AsMap()
	return res
}

func policySetIn(t *testing.T, v property.Value, path []any, to property.Value) property.Value {
	t.Helper()
	if len(path) == 0 {
		return to
	}
	switch k := path[0].(type) {
	case string:
		m := property.Map{}
		if v.IsMap() {
			m = v.AsMap()
		}
		return property.New(m.Set(k, policySetIn(t, m.Get(k), path[1:], to)))
	case int:
		if !v.IsArray() || k >= v.AsArray().Len() {
			t.Fatalf("set %v: want an array with element %d, got %#v", path, k, v)
		}
		s := v.AsArray().AsSlice()
		s[k] = policySetIn(t, s[k], path[1:], to)
		return property.New(s)
	}
	t.Fatalf("set: bad path element %#v", path[0])
	return v
}

// appendToUserData adds a line to the resource's boot script, keeping its
// encoding.
func policyAppendToUserData(t *testing.T, res rules.Resource, line string) rules.Resource {
	t.Helper()
	for _, key := range []string{"userData", "userDataBase64"} {
		v := res.Properties.Get(key)
		if !v.IsString() {
			continue
		}
		decoded, err := base64.StdEncoding.DecodeString(v.AsString())
		if err != nil {
			return policySetProperty(t, res, property.New(v.AsString()+"\n"+line+"\n"), key)
		}
		if len(decoded) > 2 && decoded[0] == 0x1f && decoded[1] == 0x8b {
			// Gzipped user data, as the stack ships it: append inside.
			zr, err := gzip.NewReader(bytes.NewReader(decoded))
			if err != nil {
				t.Fatal(err)
			}
			plain, err := io.ReadAll(zr)
			if err != nil {
				t.Fatal(err)
			}
			return policySetProperty(t, res, property.New(policyGzipBase64(t, string(plain)+"\n"+line+"\n")), key)
		}
		return policySetProperty(t, res, property.New(base64.StdEncoding.EncodeToString(append(decoded, "\n"+line+"\n"...))), key)
	}
	t.Fatalf("%s %s: want userData or userDataBase64 to be a string, got %#v and %#v",
		res.Type, res.Name, res.Properties.Get("userData"), res.Properties.Get("userDataBase64"))
	return res
}

func policyGzipBase64(t *testing.T, s string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}
