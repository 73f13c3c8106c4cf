package components

import (
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func TestSpotInstanceTypesAreOneSizeOfOneClass(t *testing.T) {
	got, err := SpotInstanceTypes("m6i.2xlarge")
	if err != nil {
		t.Fatal(err)
	}
	if got[0] != "m6i.2xlarge" || len(got) != 6 {
		t.Errorf("types %v, want m6i.2xlarge first among six", got)
	}
	for _, typ := range got {
		if !strings.HasSuffix(typ, ".2xlarge") || !strings.HasPrefix(typ, "m") || architectureOf(typ) != "amd64" {
			t.Errorf("%s is not a general-purpose x86_64 2xlarge", typ)
		}
	}
	for _, bad := range []string{"t3.large", "c7g.xlarge", "c5"} {
		if _, err := SpotInstanceTypes(bad); err == nil {
			t.Errorf("%s has Spot equivalents", bad)
		}
	}
}

// A Spot group is refused on an origin, with a warm pool, on a family of
// no class and with shares out of range, every field at once.
func TestSpotCapacityIsValidatedByField(t *testing.T) {
	base := func(role Role, capacity string) *ScalingGroupArgs {
		return &ScalingGroupArgs{
			Role: role, SubnetIDs: pulumi.StringArray{pulumi.String("s")}, SecurityGroupIDs: pulumi.StringArray{pulumi.String("sg")},
			DatabaseURLParameterName: pulumi.String("p"), DatabaseURLParameterArn: pulumi.String("arn"),
			InstanceType: "c5.xlarge", MaxSize: 4, Capacity: capacity,
		}
	}
	if err := base(RoleEdge, CapacitySpot).Validate(); err != nil {
		t.Errorf("a Spot edge group is refused: %v", err)
	}
	origin := base(RoleOrigin, CapacitySpot)
	bad := base(RoleEdge, CapacitySpot)
	bad.WarmPoolSize, bad.InstanceType, bad.OnDemandBase, bad.SpotPercent = 1, "t3.large", 5, 101
	unknown := base(RoleEdge, "cheap")
	for _, tc := range []struct {
		name string
		args *ScalingGroupArgs
		want []string
	}{
		{"origin", origin, []string{"Capacity"}},
		{"edge", bad, []string{"WarmPoolSize", "InstanceType", "OnDemandBase", "SpotPercent"}},
		{"unknown", unknown, []string{"Capacity"}},
	} {
		if got := fields(tc.args.Validate()); !slices.Equal(got, tc.want) {
			t.Errorf("%s: rejected fields %v, want %v", tc.name, got, tc.want)
		}
	}
}
