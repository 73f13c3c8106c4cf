package stack

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/ams-cluster/ams-aws/components"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// mongoKeys are the configuration keys that size or watch the MongoNode,
// with their Pulumi.yaml defaults; they mean nothing with an external
// database (databaseUrlParameter). mongoMembers belongs to the replica set
// (issue 12, part 1). Only key names reach messages, never values.
var mongoKeys = []struct{ key, def string }{
	{"mongoInstanceType", "m5.xlarge"}, {"mongoImageId", ""}, {"mongoVersion", "8.0"},
	{"mongoDataVolumeGiB", "50"}, {"mongoMembers", "1"},
	{"snapshotRetentionCount", "7"}, {"snapshotIntervalHours", "24"}, {"snapshotTime", "03:00"},
	{"mongoCpuAlarmPercent", "80"}, {"mongoMemoryAlarmPercent", "90"}, {"mongoDiskAlarmPercent", "80"},
	// The MongoDB node's key pair and the SSH check of its bootstrap.
	{"sshPublicKey", ""}, {"sshPrivateKey", ""},
}

// parameterNamePattern is an SSM parameter name: letters, digits and
// . - _ in up to 15 levels, hierarchical names starting with "/".
var parameterNamePattern = regexp.MustCompile(`^/?[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+){0,14}$`)

// externalDatabase reads databaseUrlParameter: the name of an existing
// SecureString parameter (this account, this region) holding the
// mongodb:// or mongodb+srv:// URL of a database the stack does not run.
// It excludes every MongoDB key set to anything but its default (the CLI
// passes Pulumi.yaml's defaults, so a default value cannot tell whether the
// stack set it).
func (r *reader) externalDatabase() string {
	name := r.str("databaseUrlParameter")
	if name == "" {
		return ""
	}
	lower := strings.ToLower(strings.TrimPrefix(name, "/"))
	switch {
	case strings.HasPrefix(name, "arn:"):
		r.fail("databaseUrlParameter", name, "the parameter's name, such as "+r.externalPrefix()+"atlas-url, not its ARN: "+
			"the parameter must be in this stack's account and region, where the nodes read it")
		return ""
	case !parameterNamePattern.MatchString(name) || len(name) > 1011:
		r.fail("databaseUrlParameter", name, "an SSM parameter name such as "+r.externalPrefix()+"atlas-url: letters, digits and . - _ "+
			"in up to 15 levels separated by /, starting with / when it has levels")
		return ""
	case strings.HasPrefix(lower, "aws") || strings.HasPrefix(lower, "ssm"):
		r.fail("databaseUrlParameter", name, "a name of your own: SSM reserves names starting with aws or ssm")
		return ""
	case strings.Contains(strings.Trim(name, "/"), "/") && !strings.HasPrefix(name, "/"):
		r.fail("databaseUrlParameter", name, "a full name starting with /, such as /"+name)
		return ""
	case !strings.HasPrefix(name, r.externalPrefix()) || len(name) == len(r.externalPrefix()):
		// The nodes may read this parameter: it may not be one of this
		// stack's own secrets nor another stack's.
		r.fail("databaseUrlParameter", name, "a parameter under "+r.externalPrefix()+", such as "+r.externalPrefix()+"atlas-url: "+
			"the nodes may read it, so it must be this stack's external database and nothing else (not its own secrets, not another stack's)")
		return ""
	}
	var set []string
	for _, k := range mongoKeys {
		if raw, err := r.cfg.Try(k.key); err == nil && strings.TrimSpace(raw) != k.def {
			set = append(set, k.key)
		}
	}
	if len(set) > 0 {
		r.fail("databaseUrlParameter", name, fmt.Sprintf("empty while MongoDB keys are set (%s): with an external database "+
			"the stack runs no MongoDB, so remove those keys (or leave them at their defaults) or databaseUrlParameter", strings.Join(set, ", ")))
		return ""
	}
	return name
}

// externalPrefix is where an external database's URL parameter must live:
// /<project>/<stack>/external/, beside none of the stack's own parameters.
func (r *reader) externalPrefix() string {
	return "/" + r.project + "/" + r.stack + "/external/"
}

// parameterArn is the ARN of the parameter name in the region and account
// the stack deploys to, built rather than looked up: a look-up would read
// the secret URL into the stack's state.
func parameterArn(ctx *pulumi.Context, name string) (string, error) {
	caller, err := aws.GetCallerIdentity(ctx, nil)
	if err != nil {
		return "", fmt.Errorf("database URL parameter: caller identity: %w", err)
	}
	region, err := aws.GetRegion(ctx, nil)
	if err != nil {
		return "", fmt.Errorf("database URL parameter: region: %w", err)
	}
	partition := "aws"
	if parts := strings.Split(caller.Arn, ":"); len(parts) > 1 && parts[1] != "" {
		partition = parts[1]
	}
	return fmt.Sprintf("arn:%s:ssm:%s:%s:parameter/%s", partition, region.Name, caller.AccountId, strings.TrimPrefix(name, "/")), nil
}

// buildDatabase wires the cluster database into w: the MongoNode it
// creates, or with databaseUrlParameter the external database's parameter
// (no MongoDB resource, no readiness parameter: the nodes join at once and
// their wait for the panel's user store is their wait for the database).
// It returns the MongoNode, nil with an external database.
func buildDatabase(ctx *pulumi.Context, base string, cfg *Config, w *wiring) (*components.MongoNode, error) {
	if cfg.DatabaseURLParameter != "" {
		arn, err := parameterArn(ctx, cfg.DatabaseURLParameter)
		if err != nil {
			return nil, err
		}
		w.databaseURLParameterName = pulumi.String(cfg.DatabaseURLParameter)
		w.databaseURLParameterArn = pulumi.String(arn)
		return nil, nil
	}
	mongo, err := components.NewMongoNode(ctx, base+"-mongo", cfg.mongoArgs(*w))
	if err != nil {
		return nil, err
	}
	w.databaseURLParameterName = mongo.ConnectionURLParameterName
	w.databaseURLParameterArn = mongo.ConnectionURLParameterArn
	w.databaseReadyParameterName = mongo.ReadyParameterName
	w.databaseReadyParameterArn = mongo.ReadyParameterArn
	return mongo, nil
}

// roleSubnetIDs are the subnets of a role's group.
func (w wiring) roleSubnetIDs(role components.Role) pulumi.StringArrayInput {
	if role == components.RoleEdge {
		return w.edgeSubnetIDs
	}
	return w.originSubnetIDs
}
