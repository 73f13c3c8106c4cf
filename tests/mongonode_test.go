package tests

import (
	"slices"
	"strings"
	"testing"
)

const (
	testPublicKey  = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHd1c3Rlc3RrZXlmb3JhbXNjbHVzdGVyc3RhY2tz ops@example"
	testPrivateKey = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----\n"
)

// sshAccess is the configuration of an operator who can SSH in.
func sshAccess() map[string]string {
	return map[string]string{
		"adminCidr":     "203.0.113.7/32",
		"sshPublicKey":  testPublicKey,
		"sshPrivateKey": testPrivateKey,
	}
}

func TestMongoDataSurvivesReplacementAndNewImages(t *testing.T) {
	r := deploy(t, nil)
	volume := r.one(t, "aws:ebs/volume:Volume", "-mongo-data")
	if !volume.Protect || !volume.RetainOnDelete {
		t.Errorf("data volume: protect=%v retainOnDelete=%v, want both true", volume.Protect, volume.RetainOnDelete)
	}
	expectInputs(t, volume, map[string]string{"encrypted": "true", "type": "gp3", "size": "20", "finalSnapshot": "true"})
	instance := r.one(t, "aws:ec2/instance:Instance", "-mongo")
	if !slices.Contains(instance.IgnoreChanges, "ami") {
		t.Errorf("instance ignoreChanges = %v, want it to include ami so a new Ubuntu image never replaces it", instance.IgnoreChanges)
	}
	if !instance.DeleteBeforeReplace {
		t.Errorf("instance must be deleted before its replacement exists: the data volume and address move to it")
	}
	if got := instance.str("ami"); got != ubuntuAMI {
		t.Errorf("instance ami = %q, want the image from Canonical's SSM parameter %q", got, ubuntuAMI)
	}
	attachment := r.one(t, "aws:ec2/volumeAttachment:VolumeAttachment", "-mongo-data")
	if attachment.str("volumeId") != volume.ID || attachment.str("instanceId") != instance.ID {
		t.Errorf("attachment joins %s to %s, want %s to %s", attachment.str("volumeId"), attachment.str("instanceId"), volume.ID, instance.ID)
	}
	if attachment.str("stopInstanceBeforeDetaching") != "true" || !attachment.DeleteBeforeReplace {
		t.Errorf("attachment must stop the old instance before detaching and detach before re-attaching")
	}
	// The address in the connection URL belongs to a network interface that outlives the instance.
	nic := r.one(t, "aws:ec2/networkInterface:NetworkInterface", "-mongo")
	if got := instance.str("networkInterfaces.0.networkInterfaceId"); got != nic.ID {
		t.Errorf("instance primary interface = %q, want the stable interface %q", got, nic.ID)
	}
	if got, want := r.outputString(t, "mongoPrivateIp"), nic.State["privateIp"].StringValue(); got != want {
		t.Errorf("mongoPrivateIp = %q, want the interface address %q", got, want)
	}
}

func TestMongoImageFollowsTheInstanceArchitecture(t *testing.T) {
	for _, tc := range []struct{ instanceType, wantAMI, wantParam string }{
		{"m5.xlarge", ubuntuAMI, "/amd64/"},
		{"m7g.xlarge", armAMI, "/arm64/"},
		{"t4g.medium", armAMI, "/arm64/"},
	} {
		t.Run(tc.instanceType, func(t *testing.T) {
			r := deploy(t, map[string]string{"mongoInstanceType": tc.instanceType})
			if got := r.one(t, "aws:ec2/instance:Instance", "-mongo").str("ami"); got != tc.wantAMI {
				t.Errorf("ami = %q, want %q", got, tc.wantAMI)
			}
			found := false
			for _, c := range r.calls {
				if c.Token == "aws:ssm/getParameter:getParameter" && strings.Contains(c.Args["name"].StringValue(), tc.wantParam) {
					found = true
				}
			}
			if !found {
				t.Errorf("no look-up of Canonical's %s image parameter", tc.wantParam)
			}
		})
	}
	r := deploy(t, map[string]string{"mongoImageId": "ami-0123456789abcdef0"})
	if got := r.one(t, "aws:ec2/instance:Instance", "-mongo").str("ami"); got != "ami-0123456789abcdef0" {
		t.Errorf("pinned ami = %q", got)
	}
}

func TestBootstrapCheckExistsExactlyWithSSHAccess(t *testing.T) {
	for _, tc := range []struct {
		name     string
		config   map[string]string
		secret   []string
		commands int
	}{
		{"no operator access", nil, nil, 0},
		{"admin network only", map[string]string{"adminCidr": "203.0.113.7/32"}, nil, 0},
		{"admin network and keys", sshAccess(), []string{"ams-cluster:sshPrivateKey"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := deploy(t, tc.config, tc.secret...)
			cmds := r.ofType("command:remote:Command")
			if len(cmds) != tc.commands {
				t.Fatalf("%d bootstrap check commands, want %d", len(cmds), tc.commands)
			}
			if tc.commands == 0 {
				if n := len(r.ofType("aws:ec2/keyPair:KeyPair")); n != 0 && tc.config["sshPublicKey"] == "" {
					t.Errorf("%d key pairs without a public key configured", n)
				}
				return
			}
			cmd := cmds[0]
			eip := r.one(t, "aws:ec2/eip:Eip", "-mongo")
			if got, want := cmd.str("connection.host"), eip.State["publicIp"].StringValue(); got != want {
				t.Errorf("check connects to %q, want the node's public address %q", got, want)
			}
			if got := cmd.str("connection.user"); got != "ubuntu" {
				t.Errorf("check connects as %q, want ubuntu", got)
			}
			if pk := cmd.input("connection.privateKey"); !pk.IsSecret() && !cmd.input("connection").IsSecret() {
				t.Errorf("the private key reaches the command in plain text")
			}
			instance := r.one(t, "aws:ec2/instance:Instance", "-mongo")
			if got := cmd.str("triggers.0"); got != instance.ID {
				t.Errorf("check triggers on %q, want the instance ID %q so a replacement is verified again", got, instance.ID)
			}
			attachment := r.one(t, "aws:ec2/volumeAttachment:VolumeAttachment", "-mongo-data")
			if !slices.Contains(cmd.Dependencies, attachment.URN) {
				t.Errorf("check does not wait for the data volume attachment; depends on %v", cmd.Dependencies)
			}
			key := r.one(t, "aws:ec2/keyPair:KeyPair", "-mongo")
			if instance.str("keyName") != key.State["keyName"].StringValue() || key.str("publicKey") != testPublicKey {
				t.Errorf("instance key %q is not the configured public key's pair", instance.str("keyName"))
			}
		})
	}
}

func TestMongoSnapshotsFollowConfiguration(t *testing.T) {
	r := deploy(t, map[string]string{"snapshotRetentionCount": "14", "snapshotIntervalHours": "12", "snapshotTime": "01:30"})
	policy := r.one(t, "aws:dlm/lifecyclePolicy:LifecyclePolicy", "-mongo-snapshots")
	volume := r.one(t, "aws:ebs/volume:Volume", "-mongo-data")
	expectInputs(t, policy, map[string]string{
		"policyDetails.schedules.0.retainRule.count":        "14",
		"policyDetails.schedules.0.createRule.interval":     "12",
		"policyDetails.schedules.0.createRule.intervalUnit": "HOURS",
		"policyDetails.schedules.0.createRule.times":        "01:30",
		"policyDetails.resourceTypes.0":                     "VOLUME",
		"state":                                             "ENABLED",
	})
	// The policy targets the data volume, and only it, by tag.
	targets := leaves(policy.input("policyDetails.targetTags").ObjectValue())
	if len(targets) != 1 {
		t.Fatalf("snapshot policy targets %v, want one tag", targets)
	}
	for k, v := range targets {
		if got := volume.str("tags." + k); got != v.value {
			t.Errorf("data volume tag %s = %q, policy targets %q", k, got, v.value)
		}
	}
	role := r.byArn(policy.str("executionRoleArn"))
	if role == nil || !strings.Contains(role.str("assumeRolePolicy"), "dlm.amazonaws.com") {
		t.Errorf("snapshot policy does not run as a role Data Lifecycle Manager can assume")
	}
}

// TestConnectionURLIsPublishedOnceMongoDBIsReady: AMS nodes learn the URL
// from its parameter, so the parameter waits for the node, its data volume
// and, when configured, the bootstrap check; and the launch templates wait
// for the parameter.
func TestConnectionURLIsPublishedOnceMongoDBIsReady(t *testing.T) {
	for _, tc := range []struct {
		name   string
		config map[string]string
		secret []string
		waits  []string
	}{
		{"without SSH", nil, nil, []string{"aws:ec2/instance:Instance", "aws:ec2/volumeAttachment:VolumeAttachment"}},
		{"with bootstrap check", sshAccess(), []string{"ams-cluster:sshPrivateKey"},
			[]string{"aws:ec2/instance:Instance", "aws:ec2/volumeAttachment:VolumeAttachment", "command:remote:Command"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := deploy(t, tc.config, tc.secret...)
			param := r.one(t, "aws:ssm/parameter:Parameter", "-mongo-url")
			for _, typ := range tc.waits {
				dep := r.ofType(typ)[0]
				if !slices.Contains(param.Dependencies, dep.URN) {
					t.Errorf("URL parameter does not wait for %s %s; waits for %v", typ, dep.Name, param.Dependencies)
				}
			}
			for _, lt := range r.ofType("aws:ec2/launchTemplate:LaunchTemplate") {
				if !slices.Contains(lt.Dependencies, param.URN) {
					t.Errorf("launch template %s does not wait for the URL parameter", lt.Name)
				}
			}
		})
	}
}
