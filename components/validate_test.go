package components

import (
	"errors"
	"slices"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// fields lists the fields of every ArgError joined in err.
func fields(err error) []string {
	var out []string
	var walk func(error)
	walk = func(err error) {
		if joined, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range joined.Unwrap() {
				walk(e)
			}
			return
		}
		var a *ArgError
		if errors.As(err, &a) {
			out = append(out, a.Field)
		}
	}
	walk(err)
	return out
}

// A component reports every bad field of its arguments, not the first.
func TestValidateReportsEveryBadField(t *testing.T) {
	for _, tc := range []struct {
		name string
		args interface{ Validate() error }
		want []string
	}{
		{"scaling group", &ScalingGroupArgs{
			Role: RoleEdge, SubnetIDs: pulumi.StringArray{}, SecurityGroupIDs: pulumi.StringArray{pulumi.String("sg")},
			DatabaseURLParameterName: pulumi.String("p"), DatabaseURLParameterArn: pulumi.String("arn"),
			MinSize: -1, CPUTargetPercent: 95, DrainSeconds: 10, PanelAdminEmail: "admin",
		}, []string{"PanelAdminEmail", "MinSize", "CPUTargetPercent", "DrainSeconds"}},
		{"network", &NetworkArgs{ZoneCount: 7}, []string{"ZoneCount"}},
		{"load balancer", &StreamingLoadBalancerArgs{
			IdleTimeoutSeconds: 5000, HealthyThreshold: 11, UnhealthyThreshold: 1,
		}, []string{"VpcID", "SubnetIDs", "IdleTimeoutSeconds", "HealthyThreshold", "UnhealthyThreshold"}},
		{"monitoring", &ClusterMonitoringArgs{Error5xxPercent: 150, MongoDiskPercent: -1}, []string{
			"LoadBalancerArnSuffix", "OriginTargetGroupArnSuffix", "EdgeTargetGroupArnSuffix", "OriginGroupName",
			"EdgeGroupName", "Error5xxPercent", "MongoDiskPercent",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := fields(tc.args.Validate()); !slices.Equal(got, tc.want) {
				t.Errorf("rejected fields %v, want %v", got, tc.want)
			}
		})
	}
	if err := (&NetworkArgs{}).Validate(); err != nil {
		t.Errorf("defaults refused: %v", err)
	}
}
