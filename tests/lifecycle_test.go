package tests

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ams-cluster/ams-aws/components"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// TestNodesStayOutOfServiceUntilTheyCompleteTheLaunchHook: every group,
// from its first instances on, holds launching nodes (out of the target
// groups) until the node completes the hook or its timeout abandons it.
func TestNodesStayOutOfServiceUntilTheyCompleteTheLaunchHook(t *testing.T) {
	r := deploy(t, nil)
	for _, role := range []string{"origin", "edge"} {
		name := "ams-cluster-dev-" + role
		asg := r.one(t, "aws:autoscaling/group:Group", "-"+role)
		want := map[string]string{
			"name": name + "-ready", "lifecycleTransition": "autoscaling:EC2_INSTANCE_LAUNCHING",
			"defaultResult": "ABANDON", "heartbeatTimeout": "1800", // 900 s for MongoDB + 600 s for AMS + 300
		}
		if hooks := asg.input("initialLifecycleHooks"); !hooks.IsArray() || len(hooks.ArrayValue()) != 1 {
			t.Fatalf("%s group has initial lifecycle hooks %v, want the launching hook", role, hooks)
		}
		for k, v := range want {
			if got := asg.str("initialLifecycleHooks.0." + k); got != v {
				t.Errorf("%s initial hook %s = %q, want %q", role, k, got, v)
			}
		}
		// The provider replaces a group whose initial hooks change; an
		// existing group must get the hook without losing its nodes.
		for _, ignored := range []string{"initialLifecycleHooks", "desiredCapacity"} {
			if !slices.Contains(asg.IgnoreChanges, ignored) {
				t.Errorf("%s group ignoreChanges = %v, want %s", role, asg.IgnoreChanges, ignored)
			}
		}
		for _, k := range []string{"name", "namePrefix"} {
			if !asg.input(k).IsNull() {
				t.Errorf("%s group has an explicit %s %v: that would replace existing groups", role, k, asg.input(k))
			}
		}
		hook := r.one(t, "aws:autoscaling/lifecycleHook:LifecycleHook", "-"+role+"-ready")
		want["autoscalingGroupName"] = stateString(asg, "name")
		expectInputs(t, hook, want)
		if got := asgTag(asg, components.GroupTagKey); got != "ams-cluster/dev/"+name {
			t.Errorf("%s group tag %s = %q, want ams-cluster/dev/%s", role, components.GroupTagKey, got, name)
		}
		lt := r.one(t, "aws:ec2/launchTemplate:LaunchTemplate", "-"+role)
		// The node reads its group's name from its aws:autoscaling:groupName tag.
		if got := lt.str("metadataOptions.instanceMetadataTags"); got != "enabled" {
			t.Errorf("%s launch template instanceMetadataTags = %q, want enabled", role, got)
		}
		// A deployment waits for new nodes as long as the hook may hold them.
		if got := asg.str("waitForCapacityTimeout"); got != "2100s" {
			t.Errorf("%s group waits %s for capacity, want the hook's 1800 s plus the 300 s grace", role, got)
		}
	}
}

func TestLaunchHookTimeoutFollowsTheWaits(t *testing.T) {
	r, err := runComponents(t, func(ctx *pulumi.Context) error {
		_, err := components.NewScalingGroup(ctx, "live-edge", externalDatabaseGroup(func(a *components.ScalingGroupArgs) {
			a.DatabaseWaitSeconds, a.StartWaitSeconds = 120, 90
		}))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	hook := r.one(t, "aws:autoscaling/lifecycleHook:LifecycleHook", "live-edge-ready")
	if got := hook.str("heartbeatTimeout"); got != "510" {
		t.Errorf("heartbeat timeout %s, want 120 + 90 + 300", got)
	}
	for _, tc := range []struct {
		name string
		edit func(*components.ScalingGroupArgs)
		want string
	}{
		{"database wait too short", func(a *components.ScalingGroupArgs) { a.DatabaseWaitSeconds = 30 },
			"ScalingGroup: DatabaseWaitSeconds = 30 is not valid; accepted: 60 to 3600 seconds"},
		{"start wait too long", func(a *components.ScalingGroupArgs) { a.StartWaitSeconds = 4000 },
			"ScalingGroup: StartWaitSeconds = 4000 is not valid; accepted: 60 to 1800 seconds"},
		{"ready parameter without ARN", func(a *components.ScalingGroupArgs) { a.DatabaseReadyParameterName = pulumi.String("/x/ready") },
			"ScalingGroup: DatabaseReadyParameterArn"},
		{"tag key instance metadata refuses", func(a *components.ScalingGroupArgs) { a.Tags = map[string]string{"cost/center": "42"} },
			`ScalingGroup: Tags = "cost/center" is not valid`},
		{"Graviton without an image", func(a *components.ScalingGroupArgs) { a.InstanceType = "c7g.xlarge" },
			`ScalingGroup: InstanceType = "c7g.xlarge" is not valid; accepted: an x86_64 instance type`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := runComponents(t, func(ctx *pulumi.Context) error {
				_, err := components.NewScalingGroup(ctx, "x", externalDatabaseGroup(tc.edit))
				return err
			})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
			if len(r.resources) != 0 {
				t.Errorf("%d resources registered", len(r.resources))
			}
		})
	}
}

func externalDatabaseGroup(edit func(*components.ScalingGroupArgs)) *components.ScalingGroupArgs {
	a := &components.ScalingGroupArgs{
		Role:                     components.RoleEdge,
		SubnetIDs:                pulumi.StringArray{pulumi.String("subnet-0a1b2c3d4e5f60718")},
		SecurityGroupIDs:         pulumi.StringArray{pulumi.String("sg-0a1b2c3d4e5f60718")},
		DatabaseURLParameterName: pulumi.String("/other/prod/db-url"),
		DatabaseURLParameterArn:  pulumi.String("arn:aws:ssm:eu-central-1:123456789012:parameter/other/prod/db-url"),
	}
	edit(a)
	return a
}

// sessionManagerStatement is what every instance role needs for Session Manager.
var sessionManagerStatement = map[string]any{
	"Sid": "SessionManager", "Effect": "Allow", "Resource": "*",
	"Action": []any{
		"ssm:UpdateInstanceInformation",
		"ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
		"ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel",
		"ec2messages:AcknowledgeMessage", "ec2messages:DeleteMessage", "ec2messages:FailMessage",
		"ec2messages:GetEndpoint", "ec2messages:GetMessages", "ec2messages:SendReply",
	},
}

// TestInstanceRolesGrantExactlyWhatEachNodeDoes compares every statement of
// every instance role: actions, resources and conditions.
func TestInstanceRolesGrantExactlyWhatEachNodeDoes(t *testing.T) {
	r := deploy(t, nil)
	arn := func(suffix string) string {
		return stateString(r.one(t, "aws:ssm/parameter:Parameter", suffix), "arn")
	}
	logGroup := func(suffix string) string {
		return stateString(r.one(t, "aws:cloudwatch/logGroup:LogGroup", "-"+suffix), "arn") + ":*"
	}
	ams := func(role string) []any {
		return []any{
			sessionManagerStatement,
			map[string]any{"Sid": "ReadOwnParameters", "Effect": "Allow", "Action": []any{"ssm:GetParameter"},
				"Resource": []any{arn("-mongo-url"), arn("-panel-admin"), arn("-panel-admin") + "-claim", arn("-mongo-ready"),
					arn("-" + role + "-app-settings"), arn("-jwt-stream-secret")}},
			map[string]any{"Sid": "WriteOwnParameters", "Effect": "Allow", "Action": []any{"ssm:PutParameter"},
				"Resource": []any{arn("-panel-admin") + "-claim"}},
			// The node completes its own launch and drain, heartbeats the
			// drain and protects itself while it carries a publisher: on
			// its own group only.
			map[string]any{"Sid": "OwnGroupLifecycle", "Effect": "Allow", "Action": lifecycleActions(role), "Resource": "arn:aws:autoscaling:eu-central-1:123456789012:autoScalingGroup:*:autoScalingGroupName/*",
				"Condition": map[string]any{"StringEquals": map[string]any{
					"autoscaling:ResourceTag/ams:group": "ams-cluster/dev/ams-cluster-dev-" + role,
				}}},
			shipLogsStatement(logGroup("boot"), logGroup("ams"), logGroup("ams-error")),
			// The node agent's streaming metrics and the CloudWatch agent's,
			// into the stack's two namespaces only.
			map[string]any{"Sid": "PutOwnMetrics", "Effect": "Allow", "Action": []any{"cloudwatch:PutMetricData"},
				"Resource": "*", "Condition": map[string]any{"StringEquals": map[string]any{
					"cloudwatch:namespace": []any{"ams-cluster/dev/" + role, "AMSCluster/ams-cluster/dev/" + role},
				}}},
		}
	}
	want := map[string][]any{
		"origin": ams("origin"),
		"edge":   ams("edge"),
		"mongo": {
			sessionManagerStatement,
			map[string]any{"Sid": "ReadOwnParameters", "Effect": "Allow", "Action": []any{"ssm:GetParameter"},
				"Resource": []any{arn("-mongo-admin-password"), arn("-mongo-app-password")}},
			map[string]any{"Sid": "WriteOwnParameters", "Effect": "Allow", "Action": []any{"ssm:PutParameter"},
				"Resource": []any{arn("-mongo-ready")}},
			shipLogsStatement(logGroup("boot"), logGroup("mongodb")),
			map[string]any{"Sid": "PutOwnMetrics", "Effect": "Allow", "Action": []any{"cloudwatch:PutMetricData"},
				"Resource": "*", "Condition": map[string]any{"StringEquals": map[string]any{
					"cloudwatch:namespace": "AMSCluster/ams-cluster/dev/mongodb",
				}}},
		},
	}
	got := map[string]any{}
	for _, role := range []string{"origin", "edge"} {
		got[role] = policyOf(t, r, r.one(t, "aws:ec2/launchTemplate:LaunchTemplate", "-"+role).str("iamInstanceProfile.arn"))["Statement"]
	}
	got["mongo"] = policyOf(t, r, r.one(t, "aws:ec2/instance:Instance", "-mongo").str("iamInstanceProfile"))["Statement"]
	for _, role := range keys(want) {
		g, _ := json.MarshalIndent(got[role], "", " ")
		w, _ := json.MarshalIndent(want[role], "", " ")
		if string(g) != string(w) {
			t.Errorf("%s role statements:\n%s\nwant:\n%s", role, g, w)
		}
	}
}

// TestMongoNodePublishesItsReadiness: the node reports at boot, in a String
// parameter that the stack creates before the instance and never resets,
// whether MongoDB accepts the application credentials.
func TestMongoNodePublishesItsReadiness(t *testing.T) {
	r := deploy(t, nil)
	ready := r.one(t, "aws:ssm/parameter:Parameter", "-mongo-ready")
	expectInputs(t, ready, map[string]string{
		"name": "/ams-cluster/dev/ams-cluster-dev-mongo/mongodb/ready", "type": "String", "insecureValue": "pending",
	})
	if !slices.Contains(ready.IgnoreChanges, "insecureValue") {
		t.Errorf("ready parameter ignoreChanges = %v, want insecureValue: the node owns the value", ready.IgnoreChanges)
	}
	instance := r.one(t, "aws:ec2/instance:Instance", "-mongo")
	if !slices.Contains(instance.Dependencies, ready.URN) {
		t.Errorf("the instance may boot before its ready parameter exists; depends on %v", instance.Dependencies)
	}
	// The URL parameter still waits for the node and its volume.
	url := r.one(t, "aws:ssm/parameter:Parameter", "-mongo-url")
	for _, typ := range []string{"aws:ec2/instance:Instance", "aws:ec2/volumeAttachment:VolumeAttachment"} {
		if !slices.Contains(url.Dependencies, r.ofType(typ)[0].URN) {
			t.Errorf("URL parameter does not wait for %s", typ)
		}
	}

	var name, arn string
	_, err := runComponents(t, func(ctx *pulumi.Context) error {
		m, err := components.NewMongoNode(ctx, "db", &components.MongoNodeArgs{
			VpcID: pulumi.String("vpc-0a1b2c3d4e5f60718"), SubnetID: pulumi.String("subnet-0a1b2c3d4e5f60718"),
		})
		if err != nil {
			return err
		}
		pulumi.All(m.ReadyParameterName, m.ReadyParameterArn).ApplyT(func(v []any) error {
			name, arn = v[0].(string), v[1].(string)
			return nil
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if name != "/other-stack/prod/db/mongodb/ready" || arn != fmt.Sprintf("arn:aws:ssm:%s:%s:parameter/other-stack/prod/db/mongodb/ready", region, account) {
		t.Errorf("ReadyParameterName %q, ReadyParameterArn %q", name, arn)
	}
}

// lifecycleActions are what a node of role may do on its own group: complete
// and heartbeat its hooks; only origins protect themselves from scale-in.
func lifecycleActions(role string) []any {
	// SetInstanceHealth: the agent has its instance replaced once Ant
	// Media Server stayed down (docs/capacity.md).
	actions := []any{"autoscaling:CompleteLifecycleAction", "autoscaling:RecordLifecycleActionHeartbeat", "autoscaling:SetInstanceHealth"}
	if role == "origin" {
		actions = append(actions, "autoscaling:SetInstanceProtection")
	}
	return actions
}
