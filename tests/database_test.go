package tests

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
)

// TestExternalDatabaseRunsNoMongoDB: with databaseUrlParameter the stack
// registers no MongoNode and nothing of MongoDB's (instance, volume,
// passwords, snapshots, alarms, log group, graphs), and says so in its outputs.
func TestExternalDatabaseRunsNoMongoDB(t *testing.T) {
	r := deploy(t, externalDatabase(nil))
	var mongo []string
	for _, res := range r.resources {
		if strings.HasSuffix(res.Type, ":MongoNode") || strings.Contains(strings.ToLower(res.Name), "mongo") ||
			res.Type == "aws:ec2/instance:Instance" || res.Type == "aws:ebs/volume:Volume" || res.Type == "aws:dlm/lifecyclePolicy:LifecyclePolicy" {
			mongo = append(mongo, res.Type+" "+res.Name)
		}
		if res.Type == "aws:ssm/parameter:Parameter" && strings.Contains(res.str("name"), "/mongodb/") {
			mongo = append(mongo, "parameter "+res.str("name"))
		}
		if res.Type == "aws:cloudwatch/dashboard:Dashboard" && strings.Contains(res.str("dashboardBody"), "MongoDB") {
			mongo = append(mongo, "dashboard graphs of MongoDB")
		}
	}
	if len(mongo) > 0 {
		t.Errorf("with an external database the stack still registers MongoDB resources:\n  %s", strings.Join(mongo, "\n  "))
	}
	// The same check finds them in a stack with its own MongoDB.
	if own := deploy(t, nil); len(own.ofType("aws:ec2/instance:Instance")) == 0 {
		t.Error("the stack with its own MongoDB registers no instance: the check above proves nothing")
	}
	outputs := keys(r.outputs)
	for _, name := range []string{"mongoPrivateIp", "mongoUrlParameter"} {
		if slices.Contains(outputs, name) {
			t.Errorf("output %s exported without a MongoDB", name)
		}
	}
	if got := r.outputString(t, "databaseUrlParameter"); got != atlasParameter {
		t.Errorf("output databaseUrlParameter = %q, want %s", got, atlasParameter)
	}
	// The nodes read the URL from the external parameter and have no
	// readiness parameter to wait on.
	for _, role := range []string{"origin", "edge"} {
		script := userData(t, r.one(t, "aws:ec2/launchTemplate:LaunchTemplate", "-"+role))
		if !strings.Contains(script, "readonly DATABASE_URL_PARAMETER='"+atlasParameter+"'") ||
			!strings.Contains(script, "readonly DATABASE_READY_PARAMETER=''") {
			t.Errorf("%s boot script does not read %s without a readiness parameter", role, atlasParameter)
		}
	}
}

// TestExternalDatabaseNarrowsIAM: the AMS nodes may read the external
// parameter (by the ARN built from region, account and name) and their
// own panel parameters, nothing else; no KMS grant (the default aws/ssm key
// needs none).
func TestExternalDatabaseNarrowsIAM(t *testing.T) {
	r := deploy(t, externalDatabase(nil))
	want := fmt.Sprintf("arn:aws:ssm:%s:%s:parameter%s", region, account, atlasParameter)
	policies := 0
	for _, rp := range r.ofType("aws:iam/rolePolicy:RolePolicy") {
		policies++
		var readable []string
		for _, st := range policyStatements(t, rp.str("policy")) {
			actions := fmt.Sprint(st["Action"])
			if strings.Contains(actions, "kms:") {
				t.Errorf("%s grants %s", rp.Name, actions)
			}
			if !strings.Contains(actions, "ssm:GetParameter") {
				continue
			}
			switch res := st["Resource"].(type) {
			case string:
				readable = append(readable, res)
			case []any:
				for _, v := range res {
					readable = append(readable, fmt.Sprint(v))
				}
			}
		}
		sort.Strings(readable)
		panel := fmt.Sprintf("arn:aws:ssm:%s:%s:parameter/%s/dev/panel/admin-password", region, account, project)
		// The group's settings document and the JWT secret it names.
		settings := fmt.Sprintf("arn:aws:ssm:%s:%s:parameter/%s/dev/%s/app-settings", region, account, project, rp.Name)
		jwt := fmt.Sprintf("arn:aws:ssm:%s:%s:parameter/%s/dev/apps/jwt-stream-secret", region, account, project)
		wantReadable := []string{want, panel, panel + "-claim", settings, jwt}
		sort.Strings(wantReadable)
		if !slices.Equal(readable, wantReadable) {
			t.Errorf("%s lets the node read %v, want exactly %v", rp.Name, readable, wantReadable)
		}
	}
	if policies != 2 {
		t.Errorf("%d instance role policies, want the origin's and the edge's", policies)
	}
}

// TestExternalDatabaseRejectsBadConfiguration: a bad parameter name, and
// any MongoDB key set beside it.
func TestExternalDatabaseRejectsBadConfiguration(t *testing.T) {
	for _, tc := range []struct {
		name   string
		config map[string]string
		want   []string // what the message must name
	}{
		{"an ARN", externalDatabase(map[string]string{"databaseUrlParameter": "arn:aws:ssm:eu-central-1:123456789012:parameter/prod/atlas/url"}), []string{"not its ARN"}},
		{"levels without the leading slash", externalDatabase(map[string]string{"databaseUrlParameter": "prod/atlas/url"}), []string{"/prod/atlas/url"}},
		{"a space", externalDatabase(map[string]string{"databaseUrlParameter": "/prod/atlas url"}), []string{"SSM parameter name"}},
		{"a reserved name", externalDatabase(map[string]string{"databaseUrlParameter": "/aws/reference/x"}), []string{"reserves"}},
		{"the stack's own panel password", externalDatabase(map[string]string{"databaseUrlParameter": "/ams-cluster/dev/panel/admin-password"}), []string{"/ams-cluster/dev/external/"}},
		{"another stack's MongoDB password", externalDatabase(map[string]string{"databaseUrlParameter": "/ams-cluster/prod/mongo/admin-password"}), []string{"not another stack's"}},
		{"another stack's external database", externalDatabase(map[string]string{"databaseUrlParameter": "/ams-cluster/prod/external/atlas-url"}), []string{"/ams-cluster/dev/external/"}},
		{"outside the prefix", externalDatabase(map[string]string{"databaseUrlParameter": "/prod/atlas/url"}), []string{"/ams-cluster/dev/external/"}},
		{"the dev stack's MongoDB sizes", map[string]string{"databaseUrlParameter": atlasParameter},
			[]string{"mongoInstanceType", "mongoDataVolumeGiB", "snapshotRetentionCount"}},
		{"a MongoDB version", externalDatabase(map[string]string{"mongoVersion": "7.0"}), []string{"mongoVersion"}},
		{"a MongoDB image", externalDatabase(map[string]string{"mongoImageId": "ami-0123456789abcdef0"}), []string{"mongoImageId"}},
		{"snapshots", externalDatabase(map[string]string{"snapshotIntervalHours": "12", "snapshotTime": "04:00"}), []string{"snapshotIntervalHours", "snapshotTime"}},
		{"MongoDB alarms", externalDatabase(map[string]string{"mongoCpuAlarmPercent": "70", "mongoMemoryAlarmPercent": "70", "mongoDiskAlarmPercent": "70"}),
			[]string{"mongoCpuAlarmPercent", "mongoMemoryAlarmPercent", "mongoDiskAlarmPercent"}},
		{"replica set members", externalDatabase(map[string]string{"mongoMembers": "3"}), []string{"mongoMembers"}},
		{"the MongoDB node's key pair", externalDatabase(map[string]string{"adminCidr": "203.0.113.7/32", "sshPublicKey": testPublicKey}), []string{"sshPublicKey"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rejectedConfig(t, tc.config, append([]string{"ams-cluster:databaseUrlParameter = ", "accepted: "}, tc.want...))
		})
	}
	// Keys at their defaults are what the CLI passes anyway: accepted.
	if r := runProgram(t, stackConfig(t, "Pulumi.dev.yaml", externalDatabase(map[string]string{"mongoVersion": "8.0", "mongoInstanceType": "m5.xlarge"}))); r.err != nil {
		t.Errorf("MongoDB keys at their defaults rejected: %v", r.err)
	}
}
