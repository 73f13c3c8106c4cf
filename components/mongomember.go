package components

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-command/sdk/go/command/local"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// mongoMemberWaitScript waits, where `pulumi up` runs, for a replica set
// member to be up (WANT=up) or back in its set (WANT=member).
//
//go:embed waits/mongo-member.sh
var mongoMemberWaitScript string

// mongoMemberCheck is what the wait runs on a member over SSM Run Command:
// hello needs no authentication and tells whether mongod is PRIMARY or
// SECONDARY (MongoDB's hello command: isWritablePrimary, secondary).
const mongoMemberCheck = `mongosh --quiet --norc --eval 'const h = db.hello(); print(h.isWritablePrimary ? "PRIMARY" : h.secondary ? "SECONDARY" : "OTHER")'`

// MongoMemberWaitSeconds bounds the wait for a member after its change: a
// replaced member boots, installs MongoDB and catches up with the primary.
const MongoMemberWaitSeconds = 1800

// MongoMemberWaitScripts are the wait's commands: create runs when the
// wait is new (a new member: WANT=up), update whenever the member's
// instance was replaced or restarted (WANT=member).
func MongoMemberWaitScripts() (create, update string) {
	return "WANT=up\n" + mongoMemberWaitScript, "WANT=member\n" + mongoMemberWaitScript
}

// memberWait makes the next member's change wait for this one: a command,
// run where `pulumi up` runs, that returns once the member is back in the
// set. Its environment holds what replaces (the instance ID) or restarts
// (the instance type) the member, so that each such change runs it again.
func (m *MongoNode) memberWait(ctx *pulumi.Context, mem *mongoMember, region string) (*local.Command, error) {
	params, err := json.Marshal(map[string][]string{"commands": {mongoMemberCheck}})
	if err != nil {
		return nil, err
	}
	create, update := MongoMemberWaitScripts()
	wait, err := local.NewCommand(ctx, mem.name+"-in-set", &local.CommandArgs{
		Interpreter: pulumi.ToStringArray([]string{"/bin/bash", "-c"}),
		Create:      pulumi.String(create),
		Update:      pulumi.String(update),
		Environment: pulumi.StringMap{
			"AWS_REGION":       pulumi.String(region),
			"INSTANCE_ID":      mem.instance.ID().ToStringOutput(),
			"INSTANCE_TYPE":    mem.instance.InstanceType,
			"CHECK_PARAMETERS": pulumi.String(string(params)),
			"WAIT_SECONDS":     pulumi.String(strconv.Itoa(MongoMemberWaitSeconds)),
		},
	}, pulumi.Parent(m), pulumi.DependsOn([]pulumi.Resource{mem.attachment}))
	if err != nil {
		return nil, fmt.Errorf("mongo node %s: wait for the member: %w", mem.name, err)
	}
	return wait, nil
}

// KeyPairName is the EC2 key pair name of MongoNode name in a stack: fixed,
// so that a new public key never changes the members' key_name.
func KeyPairName(project, stack, name string) string {
	return fmt.Sprintf("%s-%s-%s", project, stack, name)
}

// keyPair creates the members' EC2 key pair when a public key is set, and
// returns the key name for the instances and what they must wait for.
// The name is fixed, so that a new public key replaces the key pair alone:
// the members' key_name (which forces a new instance) stays the same, and
// a member gets the new key when it is next replaced.
func (m *MongoNode) keyPair(ctx *pulumi.Context, name string, a MongoNodeArgs, tags pulumi.StringMap) (pulumi.StringPtrInput, []pulumi.Resource, error) {
	if a.SSHPublicKey == "" {
		return nil, nil, nil
	}
	stable := KeyPairName(ctx.Project(), ctx.Stack(), name)
	key, err := ec2.NewKeyPair(ctx, name, &ec2.KeyPairArgs{
		KeyName:   pulumi.String(stable),
		PublicKey: pulumi.String(a.SSHPublicKey),
		Tags:      tags,
	}, pulumi.Parent(m),
		// The new key pair takes the old one's name.
		pulumi.DeleteBeforeReplace(true))
	if err != nil {
		return nil, nil, fmt.Errorf("mongo node %s: key pair: %w", name, err)
	}
	return pulumi.String(stable), []pulumi.Resource{key}, nil
}
