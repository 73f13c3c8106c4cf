package tests

import (
	"strings"
	"testing"

	"github.com/ams-cluster/ams-aws/components"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// runComponents runs fn as a program of its own, the way another stack
// importing the components would.
func runComponents(t *testing.T, fn pulumi.RunFunc) (*run, error) {
	t.Helper()
	m := newMocks()
	err := pulumi.RunErr(fn, pulumi.WithMocks("other-stack", "prod", m), func(info *pulumi.RunInfo) {
		info.Config = map[string]string{"aws:region": region}
	})
	return m.recorded(err), err
}

func TestComponentsRejectBadArgumentsByFieldAndAcceptedValues(t *testing.T) {
	vpc, subnet := pulumi.String("vpc-0a1b2c3d4e5f60718"), pulumi.String("subnet-0a1b2c3d4e5f60718")
	param := pulumi.String("/other/prod/db-url")
	for _, tc := range []struct {
		name string
		fn   func(ctx *pulumi.Context) error
		want string
	}{
		{"scaling group role", func(ctx *pulumi.Context) error {
			_, err := components.NewScalingGroup(ctx, "x", &components.ScalingGroupArgs{Role: "publisher", SubnetIDs: pulumi.StringArray{subnet},
				SecurityGroupIDs: pulumi.StringArray{pulumi.String("sg-1")}, DatabaseURLParameterName: param, DatabaseURLParameterArn: param})
			return err
		}, `ScalingGroup: Role = "publisher" is not valid; accepted: "origin" or "edge"`},
		{"scaling group without database", func(ctx *pulumi.Context) error {
			_, err := components.NewScalingGroup(ctx, "x", &components.ScalingGroupArgs{Role: "edge", SubnetIDs: pulumi.StringArray{subnet},
				SecurityGroupIDs: pulumi.StringArray{pulumi.String("sg-1")}})
			return err
		}, "ScalingGroup: DatabaseURLParameterName"},
		{"load balancer idle timeout", func(ctx *pulumi.Context) error {
			_, err := components.NewStreamingLoadBalancer(ctx, "x", &components.StreamingLoadBalancerArgs{VpcID: vpc, SubnetIDs: pulumi.StringArray{subnet}, IdleTimeoutSeconds: 9000})
			return err
		}, "StreamingLoadBalancer: IdleTimeoutSeconds = 9000 is not valid; accepted: 1 to 4000 seconds"},
		{"health check slower than its interval", func(ctx *pulumi.Context) error {
			_, err := components.NewStreamingLoadBalancer(ctx, "x", &components.StreamingLoadBalancerArgs{VpcID: vpc, SubnetIDs: pulumi.StringArray{subnet}, HealthCheckTimeoutSeconds: 10})
			return err
		}, "StreamingLoadBalancer: HealthCheckTimeoutSeconds = 10 is not valid; accepted: 2 to 120 seconds and below the interval (10)"},
		{"mongo without subnet", func(ctx *pulumi.Context) error {
			_, err := components.NewMongoNode(ctx, "x", &components.MongoNodeArgs{VpcID: vpc})
			return err
		}, "MongoNode: SubnetID"},
		{"mongo SSH from everywhere", func(ctx *pulumi.Context) error {
			_, err := components.NewMongoNode(ctx, "x", &components.MongoNodeArgs{VpcID: vpc, SubnetID: subnet, AdminCIDR: "0.0.0.0/0"})
			return err
		}, `MongoNode: AdminCIDR = "0.0.0.0/0" is not valid`},
		{"node group WebRTC range", func(ctx *pulumi.Context) error {
			_, err := components.NewNodeSecurityGroup(ctx, "x", &components.NodeSecurityGroupArgs{VpcID: vpc, WebRTCPortMin: 60000, WebRTCPortMax: 50000})
			return err
		}, "NodeSecurityGroup: WebRTCPortMax = 50000 is not valid; accepted: a UDP port up to 65535 giving a range of 1000 to 20001 ports " +
			"from WebRTCPortMin (60000), covering none of the ports the stack serves or uses (1935, 4200, 5000, 5080, 5443, 27017)"},
		{"node group WebRTC range too narrow", func(ctx *pulumi.Context) error {
			_, err := components.NewNodeSecurityGroup(ctx, "x", &components.NodeSecurityGroupArgs{VpcID: vpc, WebRTCPortMin: 50000, WebRTCPortMax: 50998})
			return err
		}, "NodeSecurityGroup: WebRTCPortMax = 50998 is not valid; accepted: a UDP port up to 65535 giving a range of 1000 to 20001 ports"},
		{"node group WebRTC range too wide", func(ctx *pulumi.Context) error {
			_, err := components.NewNodeSecurityGroup(ctx, "x", &components.NodeSecurityGroupArgs{VpcID: vpc, WebRTCPortMin: 40000, WebRTCPortMax: 60001})
			return err
		}, "NodeSecurityGroup: WebRTCPortMax = 60001 is not valid; accepted: a UDP port up to 65535 giving a range of 1000 to 20001 ports"},
		{"node group WebRTC range over a stack port", func(ctx *pulumi.Context) error {
			_, err := components.NewNodeSecurityGroup(ctx, "x", &components.NodeSecurityGroupArgs{VpcID: vpc, WebRTCPortMin: 4500, WebRTCPortMax: 6000})
			return err
		}, "NodeSecurityGroup: WebRTCPortMax = 6000 is not valid; accepted: a UDP port up to 65535 giving a range of 1000 to 20001 ports " +
			"from WebRTCPortMin (4500), covering none of the ports the stack serves or uses"},
		{"network with one zone", func(ctx *pulumi.Context) error {
			_, err := components.NewNetwork(ctx, "x", &components.NetworkArgs{ZoneCount: 1})
			return err
		}, "Network: ZoneCount = 1 is not valid; accepted: 2 to 6 availability zones"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := runComponents(t, tc.fn)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
			if len(r.resources) != 0 {
				t.Errorf("%d resources registered by a component that rejected its arguments", len(r.resources))
			}
		})
	}
}

// TestScalingGroupServesAnExternalDatabase wires a ScalingGroup to a
// database URL parameter that no MongoNode made (Atlas, say), as another
// stack importing the library would.
func TestScalingGroupServesAnExternalDatabase(t *testing.T) {
	const paramName = "/other/prod/atlas-url"
	const paramArn = "arn:aws:ssm:eu-central-1:123456789012:parameter/other/prod/atlas-url"
	r, err := runComponents(t, func(ctx *pulumi.Context) error {
		_, err := components.NewScalingGroup(ctx, "live-edge", &components.ScalingGroupArgs{
			Role:                     components.RoleEdge,
			SubnetIDs:                pulumi.StringArray{pulumi.String("subnet-0a1b2c3d4e5f60718")},
			SecurityGroupIDs:         pulumi.StringArray{pulumi.String("sg-0a1b2c3d4e5f60718")},
			DatabaseURLParameterName: pulumi.String(paramName),
			DatabaseURLParameterArn:  pulumi.String(paramArn),
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	lt := r.one(t, "aws:ec2/launchTemplate:LaunchTemplate", "live-edge")
	script := userData(t, lt)
	checkShell(t, "edge user data", script)
	if !strings.Contains(script, "readonly DATABASE_URL_PARAMETER='"+paramName+"'") {
		t.Errorf("user data does not read the external URL parameter")
	}
	if !strings.Contains(script, "readonly PANEL_ADMIN_PASSWORD_PARAMETER=''") {
		t.Errorf("without a panel password parameter the node must not claim the panel")
	}
	asg := r.one(t, "aws:autoscaling/group:Group", "live-edge")
	expectInputs(t, asg, map[string]string{"minSize": "1", "maxSize": "10", "desiredCapacity": "1", "healthCheckGracePeriod": "300"})
	if got := lt.str("instanceType"); got != "m5.2xlarge" {
		t.Errorf("default instance type %s, want m5.2xlarge", got)
	}
	if tgs := asg.input("targetGroupArns"); tgs.IsArray() && len(tgs.ArrayValue()) != 0 || asg.str("minElbCapacity") != "" {
		t.Errorf("a group with no target group must not wait for load balancer capacity")
	}
	for _, res := range r.resources {
		if res.Type != "ams:cluster:ScalingGroup" && !strings.HasPrefix(res.Name, "live-edge") {
			t.Errorf("child %s %s is not named from its component", res.Type, res.Name)
		}
	}
	if got := readableParameters(policyOf(t, &run{resources: r.resources}, lt.str("iamInstanceProfile.arn"))); strings.Join(got, " ") != paramArn {
		t.Errorf("nodes may read %v, want only %s", got, paramArn)
	}
}
