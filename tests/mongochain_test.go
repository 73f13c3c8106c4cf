package tests

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/ams-cluster/ams-aws/components"
)

// memberWaits are the replica set members' waits (one per member, in
// member order): commands that return once the member is back in the set.
func memberWaits(t *testing.T, r *run) []*registered {
	t.Helper()
	var out []*registered
	for _, suffix := range []string{"-mongo-in-set", "-mongo-1-in-set", "-mongo-2-in-set"} {
		out = append(out, r.one(t, "command:local:Command", suffix))
	}
	return out
}

// dependsOn reports whether res depends, directly or through other
// resources, on the resource with URN target.
func (r *run) dependsOn(res *registered, target string) bool {
	seen := map[string]bool{}
	todo := slices.Clone(res.Dependencies)
	for len(todo) > 0 {
		urn := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if urn == target {
			return true
		}
		if seen[urn] {
			continue
		}
		seen[urn] = true
		if dep := r.byURN(urn); dep != nil {
			todo = append(todo, dep.Dependencies...)
		}
	}
	return false
}

// TestReplicaMembersChangeOneAfterAnother: Pulumi changes resources that do
// not depend on each other in parallel, so three independent members would
// all be replaced (a new boot script, key pair) or stopped (a new instance
// type) at once. Each member's instance must wait for the previous member's
// instance and for its wait, which returns only once that member is back
// in the set; every pair of members is then ordered.
func TestReplicaMembersChangeOneAfterAnother(t *testing.T) {
	r := deploy(t, replicaConfig())
	members, waits := mongoMembers(t, r), memberWaits(t, r)
	for i, wait := range waits {
		env := map[string]string{}
		for _, k := range []string{"INSTANCE_ID", "INSTANCE_TYPE", "AWS_REGION", "WAIT_SECONDS"} {
			env[k] = wait.str("environment." + k)
		}
		want := map[string]string{
			"INSTANCE_ID": members[i].ID, "INSTANCE_TYPE": members[i].str("instanceType"),
			"AWS_REGION": region, "WAIT_SECONDS": fmt.Sprint(components.MongoMemberWaitSeconds),
		}
		if !maps.Equal(env, want) {
			t.Errorf("member %d's wait has environment %v, want %v: a replacement (new ID) or restart (new type) must run it again", i, env, want)
		}
		attachment := r.one(t, "aws:ec2/volumeAttachment:VolumeAttachment", strings.TrimPrefix(members[i].Name, "ams-cluster-dev")+"-data")
		if !slices.Contains(wait.Dependencies, attachment.URN) {
			t.Errorf("member %d's wait does not follow its data volume's attachment", i)
		}
		if !strings.HasPrefix(wait.str("create"), "WANT=up\n") || !strings.HasPrefix(wait.str("update"), "WANT=member\n") {
			t.Errorf("member %d's wait: create must wait for a new member to be up, update for a changed one to be back in the set", i)
		}
		if !strings.Contains(wait.str("environment.CHECK_PARAMETERS"), "db.hello()") {
			t.Errorf("member %d's wait checks %q, want mongosh's hello", i, wait.str("environment.CHECK_PARAMETERS"))
		}
	}
	for i := 1; i < len(members); i++ {
		for _, dep := range []*registered{members[i-1], waits[i-1]} {
			if !slices.Contains(members[i].Dependencies, dep.URN) {
				t.Errorf("member %d's instance does not depend on %s %s", i, dep.Type, dep.Name)
			}
		}
	}
	for i := range members {
		for j := i + 1; j < len(members); j++ {
			if !r.dependsOn(members[j], waits[i].URN) {
				t.Errorf("member %d may change while member %d is not back in the set", j, i)
			}
		}
	}
	// Nodes read the URL only once the last member is back.
	url := r.one(t, "aws:ssm/parameter:Parameter", "-mongo-url")
	if !r.dependsOn(url, waits[len(waits)-1].URN) {
		t.Error("the database URL parameter does not wait for the last member")
	}
	create, update := components.MongoMemberWaitScripts()
	checkShell(t, "mongo member wait (create)", "#!/bin/bash\n"+create)
	checkShell(t, "mongo member wait (update)", "#!/bin/bash\n"+update)
}

// TestANewSSHKeyReplacesTheKeyPairNotTheMembers: key_name forces a new
// instance (terraform-provider-aws, aws_instance), so a key pair whose name
// follows its key would replace every member. Its name is fixed.
func TestANewSSHKeyReplacesTheKeyPairNotTheMembers(t *testing.T) {
	cfg := replicaConfig()
	maps.Copy(cfg, sshAccess())
	first := deploy(t, cfg, "ams-cluster:sshPrivateKey")
	cfg["sshPublicKey"] = strings.Replace(testPublicKey, "AAAAIHd1", "AAAAIHd2", 1)
	second := deploy(t, cfg, "ams-cluster:sshPrivateKey")
	name := components.KeyPairName(project, "dev", "ams-cluster-dev-mongo")
	for _, r := range []*run{first, second} {
		key := r.one(t, "aws:ec2/keyPair:KeyPair", "-mongo")
		if key.str("keyName") != name || !key.DeleteBeforeReplace {
			t.Errorf("key pair name %q (delete before replace %v), want the fixed %q, deleted before its replacement", key.str("keyName"), key.DeleteBeforeReplace, name)
		}
		for i, m := range mongoMembers(t, r) {
			if m.str("keyName") != name {
				t.Errorf("member %d key name %q, want %q", i, m.str("keyName"), name)
			}
		}
	}
}
