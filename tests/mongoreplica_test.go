package tests

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ams-cluster/ams-aws/components"
)

// replicaConfig is a stack with a three-member replica set.
func replicaConfig() map[string]string {
	return map[string]string{"mongoMembers": "3", "zoneCount": "3"}
}

// mongoMembers are the registered instances of the MongoDB members, in
// member order: member 0 keeps the single node's name.
func mongoMembers(t *testing.T, r *run) []*registered {
	t.Helper()
	var out []*registered
	for _, suffix := range []string{"-mongo", "-mongo-1", "-mongo-2"} {
		out = append(out, r.one(t, "aws:ec2/instance:Instance", suffix))
	}
	return out
}

func TestReplicaMembersEachHaveAZoneVolumeInterfaceAndAlarm(t *testing.T) {
	r := deploy(t, replicaConfig())
	members := mongoMembers(t, r)
	policy := r.one(t, "aws:dlm/lifecyclePolicy:LifecyclePolicy", "-mongo-snapshots")
	snapshotTag := policy.str("policyDetails.targetTags." + "ams:snapshot-policy")
	zones, nics, volumes := map[string]int{}, map[string]bool{}, map[string]bool{}
	for i, inst := range members {
		suffix := strings.TrimPrefix(inst.Name, "ams-cluster-dev")
		nic := r.byID(inst.str("networkInterfaces.0.networkInterfaceId"))
		if nic == nil {
			t.Fatalf("member %d: no stable network interface", i)
		}
		nics[nic.ID] = true
		zone := r.byID(nic.str("subnetId")).str("availabilityZone")
		zones[zone]++
		volume := r.one(t, "aws:ebs/volume:Volume", suffix+"-data")
		volumes[volume.ID] = true
		if got := volume.str("availabilityZone"); got != zone {
			t.Errorf("member %d: data volume in %s, its interface in %s", i, got, zone)
		}
		if !volume.Protect || !volume.RetainOnDelete || volume.str("encrypted") != "true" || volume.str("type") != "gp3" {
			t.Errorf("member %d: data volume protect=%v retain=%v encrypted=%s type=%s, want a protected, retained, encrypted gp3 volume",
				i, volume.Protect, volume.RetainOnDelete, volume.str("encrypted"), volume.str("type"))
		}
		if got := volume.str("tags.ams:snapshot-policy"); got == "" || got != snapshotTag {
			t.Errorf("member %d: data volume snapshot tag %q, want the snapshot policy's target %q", i, got, snapshotTag)
		}
		attachment := r.one(t, "aws:ec2/volumeAttachment:VolumeAttachment", suffix+"-data")
		if attachment.str("volumeId") != volume.ID || attachment.str("instanceId") != inst.ID {
			t.Errorf("member %d: attachment joins %s to %s, want its own volume to its own instance", i, attachment.str("volumeId"), attachment.str("instanceId"))
		}
		if !inst.DeleteBeforeReplace || !slices.Contains(inst.IgnoreChanges, "ami") || inst.str("disableApiTermination") != "true" || inst.str("metadataOptions.httpTokens") != "required" {
			t.Errorf("member %d: want delete-before-replace, a pinned image, termination protection and IMDSv2", i)
		}
		if r.one(t, "aws:ec2/eip:Eip", suffix).str("networkInterface") != nic.ID {
			t.Errorf("member %d: its Elastic IP is not on its interface", i)
		}
		alarm := r.one(t, "aws:cloudwatch/metricAlarm:MetricAlarm", suffix+"-recover")
		if alarm.str("dimensions.InstanceId") != inst.ID || !strings.Contains(fmt.Sprint(alarm.input("alarmActions").V), components.RecoverActionArn(region)) {
			t.Errorf("member %d: recovery alarm watches %s with actions %v, want its instance %s recovered", i, alarm.str("dimensions.InstanceId"), alarm.input("alarmActions"), inst.ID)
		}
	}
	if len(zones) != 3 || len(nics) != 3 || len(volumes) != 3 {
		t.Errorf("members span zones %v with %d interfaces and %d volumes, want three of each", zones, len(nics), len(volumes))
	}
	// Members talk to each other on 27017 (heartbeats, replication).
	sg := r.one(t, "aws:ec2/securityGroup:SecurityGroup", "-mongo")
	rule := r.one(t, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "-mongo-mongodb-members")
	if rule.str("referencedSecurityGroupId") != sg.ID || rule.str("securityGroupId") != sg.ID || rule.num("fromPort") != 27017 {
		t.Errorf("member rule: %s from %s port %v, want 27017 between members", rule.str("securityGroupId"), rule.str("referencedSecurityGroupId"), rule.num("fromPort"))
	}
}

func TestReplicaKeyFileIsOneSecretOnlyTheMembersRead(t *testing.T) {
	r := deploy(t, replicaConfig())
	key := r.one(t, "aws:ssm/parameter:Parameter", "-mongo-keyfile")
	if key.str("type") != "SecureString" || !strings.HasSuffix(key.str("name"), "/mongodb/keyfile") {
		t.Errorf("key file parameter %s is %s, want a SecureString <prefix>/mongodb/keyfile", key.str("name"), key.str("type"))
	}
	pw := r.one(t, "random:index/randomPassword:RandomPassword", "-mongo-keyfile")
	if n := pw.num("length"); n < 6 || n > 1024 || pw.str("special") != "false" {
		t.Errorf("key file secret: length %v special %s, want 6 to 1024 letters and digits (MongoDB's key file rules)", n, pw.str("special"))
	}
	keyArn := stateString(key, "arn")
	arn := func(suffix string) string { return stateString(r.one(t, "aws:ssm/parameter:Parameter", suffix), "arn") }
	want := [][]string{
		{arn("-mongo-admin-password"), arn("-mongo-app-password"), keyArn},
		{keyArn},
		{keyArn},
	}
	for i, inst := range mongoMembers(t, r) {
		got := readableParameters(policyOf(t, r, inst.str("iamInstanceProfile")))
		slices.Sort(want[i])
		if !slices.Equal(got, want[i]) {
			t.Errorf("member %d may read %v, want exactly %v", i, got, want[i])
		}
		writes := fmt.Sprint(policyOf(t, r, inst.str("iamInstanceProfile")))
		if i > 0 && strings.Contains(writes, "ssm:PutParameter") {
			t.Errorf("member %d may write parameters; only member 0 publishes readiness", i)
		}
	}
	for _, lt := range r.ofType("aws:ec2/launchTemplate:LaunchTemplate") {
		if slices.Contains(readableParameters(policyOf(t, r, lt.str("iamInstanceProfile.arn"))), keyArn) {
			t.Errorf("%s may read the replica set's key file", lt.Name)
		}
	}
	for i, inst := range mongoMembers(t, r) {
		script := userData(t, inst)
		if strings.Contains(script, stateString(pw, "result")) || !strings.Contains(script, "readonly KEYFILE_PARAMETER='"+key.str("name")+"'") {
			t.Errorf("member %d: its user data must name the key file parameter and never hold the key", i)
		}
		if !strings.Contains(script, fmt.Sprintf("readonly MEMBER_INDEX='%d'", i)) {
			t.Errorf("member %d: its user data does not say which member it is", i)
		}
	}
}

func TestReplicaURLNamesEveryMemberAndTheSet(t *testing.T) {
	r := deploy(t, replicaConfig())
	var hosts []string
	for _, inst := range mongoMembers(t, r) {
		nic := r.byID(inst.str("networkInterfaces.0.networkInterfaceId"))
		hosts = append(hosts, stateString(nic, "privateIp")+":27017")
	}
	url := r.one(t, "aws:ssm/parameter:Parameter", "-mongo-url")
	pw := stateString(r.one(t, "random:index/randomPassword:RandomPassword", "-mongo-app-password"), "result")
	want := "mongodb://ams:" + pw + "@" + strings.Join(hosts, ",")
	if got := url.str("value"); got != want {
		t.Errorf("URL = %q, want %q", redact(got), redact(want))
	}
	if url.str("type") != "SecureString" {
		t.Errorf("the URL parameter is %s, want a SecureString", url.str("type"))
	}
	// Every member's script names all members, in member order.
	for i, inst := range mongoMembers(t, r) {
		ips := strings.ReplaceAll(strings.Join(hosts, ","), ":27017", "")
		if !strings.Contains(userData(t, inst), "readonly MEMBER_HOSTS='"+ips+"'") {
			t.Errorf("member %d: its script does not name the members %s", i, ips)
		}
	}
	// A single node keeps its URL format and has no key file.
	one := deploy(t, nil)
	if got := one.one(t, "aws:ssm/parameter:Parameter", "-mongo-url").str("value"); strings.Contains(got, "?") || strings.Count(got, ":27017") != 1 {
		t.Errorf("single node URL %q, want one host and no options", redact(got))
	}
	for _, p := range one.ofType("aws:ssm/parameter:Parameter") {
		if strings.HasSuffix(p.Name, "-keyfile") {
			t.Errorf("a single node has a key file parameter %s", p.Name)
		}
	}
}

func TestMongoMembersConfiguration(t *testing.T) {
	for _, tc := range []struct {
		name   string
		config map[string]string
		want   []string
	}{
		{"an even count", map[string]string{"mongoMembers": "2", "zoneCount": "3"}, []string{"mongoMembers = 2", "1 (a single node) or 3"}},
		{"more members than zones", map[string]string{"mongoMembers": "3", "zoneCount": "2"}, []string{"mongoMembers = 3", "zoneCount"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runProgram(t, stackConfig(t, "Pulumi.dev.yaml", tc.config))
			if r.err == nil {
				t.Fatal("the stack accepted it")
			}
			for _, w := range tc.want {
				if !strings.Contains(r.err.Error(), w) {
					t.Errorf("error %q does not mention %q", r.err, w)
				}
			}
			if len(r.resources) > 0 {
				t.Errorf("%d resources registered before the configuration was refused", len(r.resources))
			}
		})
	}
	// The production stack file runs a replica set.
	prod := runProgram(t, stackConfig(t, "Pulumi.prod.yaml", map[string]string{"domainName": "live.example.com", "hostedZoneId": "Z0123456789ABCDEFGHIJ"}))
	if prod.err != nil {
		t.Fatalf("the production stack fails: %v", prod.err)
	}
	if got := len(prod.ofType("aws:ec2/instance:Instance")); got != 3 {
		t.Errorf("the production stack runs %d MongoDB instances, want 3", got)
	}
}

// TestReplicaBootScriptsAreLintedBash: each member's rendered script parses
// and passes shellcheck, holds no password and fits in EC2's user data.
func TestReplicaBootScriptsAreLintedBash(t *testing.T) {
	r := deploy(t, replicaConfig())
	for i, inst := range mongoMembers(t, r) {
		script := userData(t, inst)
		checkShell(t, fmt.Sprintf("member %d mongo-bootstrap.sh", i), script)
		for _, pw := range r.passwords {
			if strings.Contains(script, pw) {
				t.Errorf("member %d: the script holds a generated secret", i)
			}
		}
		raw, err := base64.StdEncoding.DecodeString(inst.str("userDataBase64"))
		if err != nil || len(raw) > 16384 {
			t.Errorf("member %d: user data is %d bytes gzipped (%v), EC2 takes 16384", i, len(raw), err)
		}
		if !strings.Contains(script, "replSetName: $REPLICA_SET") || !strings.Contains(script, "readonly REPLICA_SET='ams'") {
			t.Errorf("member %d: the script does not configure replica set ams", i)
		}
	}
}
