package tests

import (
	"fmt"
	"sort"
	"strings"
	"testing"
)

// TestBadConfigurationFailsBeforeAnyResource runs the stack with one bad
// value at a time: each must fail with a message naming the key, the value
// and what is accepted, and no resource may have been registered.
func TestBadConfigurationFailsBeforeAnyResource(t *testing.T) {
	const vpc, subnetA, subnetB = "vpc-0a1b2c3d4e5f60718", "subnet-0a1b2c3d4e5f60718", "subnet-0b1c2d3e4f5a60718"
	for _, tc := range []struct {
		name   string
		config map[string]string
		secret []string
		key    string // the key the message must name
		value  string // the value the message must quote
	}{
		{"malformed VPC CIDR", map[string]string{"vpcCidr": "10.20.0.0/33"}, nil, "vpcCidr", "10.20.0.0/33"},
		{"VPC CIDR with host bits", map[string]string{"vpcCidr": "10.20.0.1/16"}, nil, "vpcCidr", "10.20.0.1/16"},
		{"VPC CIDR too large", map[string]string{"vpcCidr": "10.0.0.0/8"}, nil, "vpcCidr", "10.0.0.0/8"},
		{"VPC CIDR not a network", map[string]string{"vpcCidr": "my-network"}, nil, "vpcCidr", "my-network"},
		{"fewer than two zones", map[string]string{"zoneCount": "1"}, nil, "zoneCount", "1"},
		{"zones as words", map[string]string{"zoneCount": "two"}, nil, "zoneCount", "two"},
		{"malformed VPC ID", map[string]string{"existingVpcId": "vpc-xyz", "existingSubnetIds": `["` + subnetA + `","` + subnetB + `"]`}, nil, "existingVpcId", "vpc-xyz"},
		{"one existing subnet", map[string]string{"existingVpcId": vpc, "existingSubnetIds": `["` + subnetA + `"]`}, nil, "existingSubnetIds", subnetA},
		{"malformed subnet ID", map[string]string{"existingVpcId": vpc, "existingSubnetIds": `["` + subnetA + `","subnet-12"]`}, nil, "existingSubnetIds", "subnet-12"},
		{"overlapping subnets: one listed twice", map[string]string{"existingVpcId": vpc, "existingSubnetIds": `["` + subnetA + `","` + subnetA + `"]`}, nil, "existingSubnetIds", subnetA},
		{"subnets without their VPC", map[string]string{"existingSubnetIds": `["` + subnetA + `","` + subnetB + `"]`}, nil, "existingSubnetIds", subnetA},
		{"subnet list that is not a list", map[string]string{"existingVpcId": vpc, "existingSubnetIds": subnetA}, nil, "existingSubnetIds", subnetA},
		{"SSH from the whole internet", map[string]string{"adminCidr": "0.0.0.0/0"}, nil, "adminCidr", "0.0.0.0/0"},
		{"SSH from the whole IPv6 internet", map[string]string{"adminCidr": "::/0"}, nil, "adminCidr", "::/0"},
		{"admin address without prefix", map[string]string{"adminCidr": "203.0.113.7"}, nil, "adminCidr", "203.0.113.7"},
		{"public key without admin network", map[string]string{"sshPublicKey": testPublicKey, "sshPrivateKey": testPrivateKey}, []string{"ams-cluster:sshPrivateKey"}, "adminCidr", ""},
		{"public key without its private key", map[string]string{"adminCidr": "203.0.113.7/32", "sshPublicKey": testPublicKey}, nil, "sshPrivateKey", ""},
		{"private key without its public key", map[string]string{"adminCidr": "203.0.113.7/32", "sshPrivateKey": testPrivateKey}, []string{"ams-cluster:sshPrivateKey"}, "sshPublicKey", ""},
		{"private key in plain text", map[string]string{"adminCidr": "203.0.113.7/32", "sshPublicKey": testPublicKey, "sshPrivateKey": testPrivateKey}, nil, "sshPrivateKey", "not shown"},
		{"not a public key", map[string]string{"adminCidr": "203.0.113.7/32", "sshPublicKey": "hello", "sshPrivateKey": testPrivateKey}, []string{"ams-cluster:sshPrivateKey"}, "sshPublicKey", "hello"},
		{"malformed instance type", map[string]string{"mongoInstanceType": "m5xlarge"}, nil, "mongoInstanceType", "m5xlarge"},
		{"data volume beyond EBS", map[string]string{"mongoDataVolumeGiB": "16385"}, nil, "mongoDataVolumeGiB", "16385"},
		{"negative data volume", map[string]string{"mongoDataVolumeGiB": "-5"}, nil, "mongoDataVolumeGiB", "-5"},
		{"data volume in words", map[string]string{"mongoDataVolumeGiB": "fifty"}, nil, "mongoDataVolumeGiB", "fifty"},
		{"end-of-life MongoDB", map[string]string{"mongoVersion": "4.2"}, nil, "mongoVersion", "4.2"},
		{"malformed MongoDB image", map[string]string{"mongoImageId": "ami-123"}, nil, "mongoImageId", "ami-123"},
		{"more snapshots than DLM keeps", map[string]string{"snapshotRetentionCount": "1001"}, nil, "snapshotRetentionCount", "1001"},
		{"snapshot interval DLM refuses", map[string]string{"snapshotIntervalHours": "5"}, nil, "snapshotIntervalHours", "5"},
		{"snapshot at 25 o'clock", map[string]string{"snapshotTime": "25:00"}, nil, "snapshotTime", "25:00"},
		{"malformed AMS image", map[string]string{"amsImageId": "ami-ZZZZZZZZ"}, nil, "amsImageId", "ami-ZZZZZZZZ"},
		{"malformed origin type", map[string]string{"originInstanceType": "big"}, nil, "originInstanceType", "big"},
		{"Graviton origin on the x86_64 Marketplace image", map[string]string{"originInstanceType": "c7g.xlarge"}, nil, "originInstanceType", "c7g.xlarge"},
		{"Graviton edge on the x86_64 Marketplace image", map[string]string{"edgeInstanceType": "c6gn.large"}, nil, "edgeInstanceType", "c6gn.large"},
		{"following the newest image as maybe", map[string]string{"amsFollowLatestImage": "sometimes"}, nil, "amsFollowLatestImage", "sometimes"},
		{"pinned image that follows the newest", map[string]string{"amsImageId": "ami-0fedcba9876543210", "amsFollowLatestImage": "true"}, nil, "amsFollowLatestImage", "true"},
		{"negative origin group", map[string]string{"originMinSize": "-1"}, nil, "originMinSize", "-1"},
		{"origin max below min", map[string]string{"originMinSize": "5", "originMaxSize": "3"}, nil, "originMaxSize", "3"},
		{"edge desired above max", map[string]string{"edgeDesiredCapacity": "20", "edgeMaxSize": "10"}, nil, "edgeDesiredCapacity", "20"},
		{"CPU target above 90", map[string]string{"originCpuTargetPercent": "95"}, nil, "originCpuTargetPercent", "95"},
		{"CPU target as a fraction", map[string]string{"edgeCpuTargetPercent": "0.6"}, nil, "edgeCpuTargetPercent", "0.6"},
		{"grace shorter than AMS start", map[string]string{"healthCheckGraceSeconds": "10"}, nil, "healthCheckGraceSeconds", "10"},
		{"drain window too short", map[string]string{"drainSeconds": "10"}, nil, "drainSeconds", "10"},
		{"drain window in words", map[string]string{"drainSeconds": "five minutes"}, nil, "drainSeconds", "five minutes"},
		{"drain window beyond the deregistration limit", map[string]string{"drainSeconds": "7200"}, nil, "drainSeconds", "7200"},
		{"root volume below the image", map[string]string{"amsRootVolumeGiB": "8"}, nil, "amsRootVolumeGiB", "8"},
		{"WebRTC range upside down", map[string]string{"webrtcPortMin": "50000", "webrtcPortMax": "40000"}, nil, "webrtcPortMax", "40000"},
		{"WebRTC on privileged ports", map[string]string{"webrtcPortMin": "80"}, nil, "webrtcPortMin", "80"},
		{"IAM certificate instead of ACM", map[string]string{"certificateArn": "arn:aws:iam::123456789012:server-certificate/ams"}, nil, "certificateArn", "arn:aws:iam::123456789012:server-certificate/ams"},
		{"TLS 1.0 policy", map[string]string{"tlsPolicy": "ELBSecurityPolicy-2016-08"}, nil, "tlsPolicy", "ELBSecurityPolicy-2016-08"},
		{"idle timeout beyond the ALB limit", map[string]string{"idleTimeoutSeconds": "5000"}, nil, "idleTimeoutSeconds", "5000"},
		{"health checks too frequent", map[string]string{"healthCheckIntervalSeconds": "3"}, nil, "healthCheckIntervalSeconds", "3"},
		{"one failed probe takes a node out", map[string]string{"unhealthyThreshold": "1"}, nil, "unhealthyThreshold", "1"},
		{"spread as maybe", map[string]string{"spreadAcrossZones": "maybe"}, nil, "spreadAcrossZones", "maybe"},
		{"zone layout as a number", map[string]string{"zoneLayout": "3"}, nil, "zoneLayout", "3"},
		{"ingress address without prefix", map[string]string{"ingressCidrs": `["198.51.100.7"]`}, nil, "ingressCidrs", "198.51.100.7"},
		{"ingress network twice", map[string]string{"ingressCidrs": `["198.51.100.0/24","198.51.100.0/24"]`}, nil, "ingressCidrs", "distinct IPv4 networks"},
		{"panel login that is no e-mail", map[string]string{"panelAdminEmail": "admin"}, nil, "panelAdminEmail", "admin"},
		{"negative warm pool", map[string]string{"originWarmPoolSize": "-1"}, nil, "originWarmPoolSize", "-1"},
		{"warm pool beyond any group", map[string]string{"edgeWarmPoolSize": "1001"}, nil, "edgeWarmPoolSize", "1001"},
		{"viewers per node as words", map[string]string{"edgeScaleViewersPerNode": "many"}, nil, "edgeScaleViewersPerNode", "many"},
		{"negative publishers per node", map[string]string{"originScalePublishersPerNode": "-5"}, nil, "originScalePublishersPerNode", "-5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := rejectedConfig(t, tc.config, []string{"ams-cluster:" + tc.key + " = ", tc.value, "accepted: "}, tc.secret...)
			if strings.Contains(msg, testPrivateKey[:30]) {
				t.Errorf("message leaks the private key")
			}
		})
	}
}

func TestEveryBadValueIsReportedAtOnce(t *testing.T) {
	r := runProgram(t, stackConfig(t, "Pulumi.dev.yaml", map[string]string{
		"zoneCount": "1", "drainSeconds": "abc", "originMaxSize": "-1",
	}))
	if r.err == nil {
		t.Fatal("stack accepted three bad values")
	}
	for _, key := range []string{"zoneCount", "drainSeconds", "originMaxSize"} {
		if !strings.Contains(r.err.Error(), "ams-cluster:"+key+" = ") {
			t.Errorf("message does not report %s:\n%s", key, r.err)
		}
	}
}

// TestSchemaDefaultsAreTheComponentDefaults runs the stack once with every
// default Pulumi.yaml declares and once with none: the CLI applies the
// schema's defaults, a library user gets the components'. Both must build the
// same cluster.
func TestSchemaDefaultsAreTheComponentDefaults(t *testing.T) {
	withSchema := runProgram(t, stackConfig(t, "", map[string]string{"aws:region": region}))
	bare := runProgram(t, map[string]string{"aws:region": region})
	if withSchema.err != nil || bare.err != nil {
		t.Fatalf("schema defaults: %v; component defaults: %v", withSchema.err, bare.err)
	}
	a, b := inputsByResource(withSchema), inputsByResource(bare)
	if len(a) < 50 || len(a) != len(b) {
		t.Fatalf("%d resources with schema defaults, %d with component defaults", len(a), len(b))
	}
	for _, k := range keys(a) {
		if a[k] != b[k] {
			t.Errorf("%s differs:\n  schema defaults    %.200s\n  component defaults %.200s", k, a[k], b[k])
		}
	}
}

func TestSchemaDeclaresEveryKeyWithTypeDescriptionAndDefault(t *testing.T) {
	var p struct {
		Config map[string]map[string]any `yaml:"config"`
	}
	readYAML(t, "../Pulumi.yaml", &p)
	if len(p.Config) < 30 {
		t.Fatalf("Pulumi.yaml declares %d keys", len(p.Config))
	}
	for key, decl := range p.Config {
		for _, field := range []string{"type", "description", "default"} {
			if _, ok := decl[field]; !ok {
				t.Errorf("config key %s has no %s", key, field)
			}
		}
	}
	// Every key in the dev stack file is declared (or belongs to a provider).
	var dev struct {
		Config map[string]any `yaml:"config"`
	}
	readYAML(t, "../Pulumi.dev.yaml", &dev)
	for key := range dev.Config {
		name, ok := strings.CutPrefix(key, project+":")
		if !ok {
			continue
		}
		if _, declared := p.Config[name]; !declared {
			t.Errorf("Pulumi.dev.yaml sets undeclared key %s", key)
		}
	}
	if dev.Config["aws:region"] != "eu-central-1" {
		t.Errorf("dev stack region %v, want the seed's eu-central-1", dev.Config["aws:region"])
	}
}

// inputsByResource renders every registered resource's inputs as one line,
// keyed by type and name.
func inputsByResource(r *run) map[string]string {
	out := map[string]string{}
	for _, res := range r.resources {
		l := leaves(res.Inputs)
		var parts []string
		for _, k := range keys(l) {
			parts = append(parts, fmt.Sprintf("%s=%s(secret=%v)", k, l[k].value, l[k].secret))
		}
		sort.Strings(parts)
		out[res.Type+" "+res.Name] = strings.Join(parts, " ") + fmt.Sprintf(" protect=%v retain=%v dbr=%v ignore=%v deps=%d",
			res.Protect, res.RetainOnDelete, res.DeleteBeforeReplace, res.IgnoreChanges, len(res.Dependencies))
	}
	return out
}
