package components

import (
	"errors"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// TestSingleNodeScriptHasNoReplicaSteps: with one member the script is the
// single node's, so an existing stack's instance is not replaced by an
// upgrade of this program; with a replica set each member gets its steps.
func TestSingleNodeScriptHasNoReplicaSteps(t *testing.T) {
	boot := MongoBootstrap{Region: "eu-west-1", DataVolumeID: "vol-0123456789abcdef0", MongoVersion: "8.0", AdminUser: "admin", AppUser: "ams",
		AdminPasswordParameter: "/p/a", AppPasswordParameter: "/p/b", ReadyParameter: "/p/r", DataVolumeWaitSeconds: 600}
	single, err := renderScript("mongo-bootstrap.sh", boot)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"REPLICA_SET", "keyFile", "replica_main", "shellcheck disable=SC2317"} {
		if strings.Contains(single, s) {
			t.Errorf("the single node's script contains %q", s)
		}
	}
	if !strings.HasSuffix(single, "\nmain\nmark_done\n") {
		t.Errorf("the single node's script does not end by running main, then marking the boot done")
	}
	boot.Replica = &MongoReplicaMember{SetName: "ams", MemberIndex: 1, MemberHosts: "10.0.0.1,10.0.0.2,10.0.0.3", KeyFileParameter: "/p/k", MemberWaitSeconds: 60, PrimaryWaitSeconds: 60}
	member, err := renderScript("mongo-bootstrap.sh", boot)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"readonly REPLICA_SET='ams'", "readonly MEMBER_INDEX='1'", "readonly MEMBER_HOSTS='10.0.0.1,10.0.0.2,10.0.0.3'", "\nreplica_main"} {
		if !strings.Contains(member, s) {
			t.Errorf("a member's script lacks %q", s)
		}
	}
	userData, err := renderScript("mongo-userdata.sh", boot)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := encodeUserData(userData); err != nil {
		t.Errorf("a member's user data does not fit: %v", err)
	}
}

func TestMongoNodeMembersValidation(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  MongoNodeArgs
		field string
	}{
		{"two members", MongoNodeArgs{Members: 2}, "Members"},
		{"three members, one subnet", MongoNodeArgs{Members: 3}, "SubnetIDs"},
		{"a bad set name", MongoNodeArgs{Members: 1, ReplicaSetName: "a set"}, "ReplicaSetName"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.args
			a.VpcID, a.SubnetID = pulumi.String("vpc-1"), pulumi.String("subnet-1")
			err := a.Validate()
			var ae *ArgError
			if err == nil || !errors.As(err, &ae) || ae.Field != tc.field {
				t.Errorf("want an error naming %s, got %v", tc.field, err)
			}
		})
	}
}
