package components

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/autoscaling"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// How a ScalingGroup buys its instances (ScalingGroupArgs.Capacity).
const (
	// CapacityOnDemand runs every node On-Demand.
	CapacityOnDemand = "ondemand"
	// CapacitySpot runs the nodes above an On-Demand base on Spot, over
	// several instance types of the same size (SpotInstanceTypes), with
	// capacity-optimized allocation and capacity rebalancing. Edges only.
	CapacitySpot = "spot"
)

// SpotAllocationStrategy is how a Spot group picks its Spot pools: from
// the pools with the most spare capacity, which AWS interrupts least
// ("Allocation strategies for multiple instance types", EC2 Auto Scaling
// user guide; pulumi-aws GroupMixedInstancesPolicyInstancesDistribution
// SpotAllocationStrategy).
const SpotAllocationStrategy = "capacity-optimized"

// spotFamilies are the x86_64 instance families a Spot group mixes, by
// class: a node of one family may be replaced by the same size of another
// family of its class, which has the same vCPUs and about the same memory
// (c5n has 5.25 GiB per vCPU instead of 2). Every family here runs the
// x86_64 Marketplace image. Keep docs/spot.md's table in step.
func spotFamilies() map[string][]string {
	return map[string][]string{
		"compute": {"c5", "c5a", "c5n", "c6i", "c6a", "c7i"},
		"general": {"m5", "m5a", "m5n", "m6i", "m6a", "m7i"},
		"memory":  {"r5", "r5a", "r5n", "r6i", "r6a", "r7i"},
	}
}

// SpotInstanceTypes are the instance types a Spot group mixes for an
// instance type: the type itself first, then the same size in the other
// families of its class (spotFamilies). It fails for a family of no class.
func SpotInstanceTypes(instanceType string) ([]string, error) {
	family, size, ok := strings.Cut(instanceType, ".")
	if ok {
		for _, class := range spotFamilies() {
			for _, f := range class {
				if f != family {
					continue
				}
				out := []string{instanceType}
				for _, other := range class {
					if other != family {
						out = append(out, other+"."+size)
					}
				}
				return out, nil
			}
		}
	}
	return nil, fmt.Errorf("no Spot instance types of the size of %q", instanceType)
}

// spotFamilyNames lists every family a Spot group can mix, for messages.
func spotFamilyNames() string {
	var names []string
	for _, class := range spotFamilies() {
		names = append(names, class...)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// capacityDefaults sets the defaults of the capacity fields of out.
func capacityDefaults(out *ScalingGroupArgs) {
	setDefault(&out.Capacity, CapacityOnDemand)
	setDefaultInt(&out.SpotPercent, 100)
}

// validateSpot rejects a Spot group that AWS or the cluster would not
// run: an origin (it holds its publishers' streams), a warm pool (AWS
// refuses PutWarmPool on a group with a mixed-instances policy or Spot),
// an instance type of no known class, a base or percentage out of range.
func (a *ScalingGroupArgs) validateSpot(bad *fieldErrors) {
	switch a.Capacity {
	case CapacityOnDemand:
		return
	case CapacitySpot:
	default:
		bad.reject("Capacity", a.Capacity, fmt.Sprintf("%q or %q", CapacityOnDemand, CapacitySpot))
		return
	}
	if a.Role != RoleEdge {
		bad.reject("Capacity", a.Capacity, fmt.Sprintf("%q for %s nodes: only edges run on Spot, an origin holds its publishers' streams", CapacityOnDemand, a.Role))
	}
	if a.WarmPoolSize != 0 {
		bad.reject("WarmPoolSize", a.WarmPoolSize, "0 with Capacity spot: AWS refuses a warm pool on a group with Spot or a mixed-instances policy")
	}
	if _, err := SpotInstanceTypes(a.InstanceType); err != nil && isInstanceType(a.InstanceType) {
		bad.reject("InstanceType", a.InstanceType, "with Capacity spot, a size of one of the families "+spotFamilyNames()+" (docs/spot.md)")
	}
	bad.within("OnDemandBase", a.OnDemandBase, 0, a.MaxSize, "nodes kept On-Demand before any Spot node (at most MaxSize)")
	bad.within("SpotPercent", a.SpotPercent, 1, 100, "percent of the nodes above OnDemandBase on Spot")
}

// spotGroup is what a group's capacity sets on the Auto Scaling group:
// its launch template alone (On-Demand), or a mixed-instances policy over
// the template with capacity rebalancing (Spot).
type spotGroup struct {
	launchTemplate    autoscaling.GroupLaunchTemplatePtrInput
	mixedInstances    autoscaling.GroupMixedInstancesPolicyPtrInput
	capacityRebalance pulumi.BoolPtrInput
}

// groupCapacity builds the group's launch template reference, and with
// CapacitySpot its mixed-instances policy: the On-Demand base and share,
// capacity-optimized Spot allocation, the instance types of
// SpotInstanceTypes, and capacity rebalancing, which launches a
// replacement when EC2 recommends rebalancing a node, before the node is
// interrupted.
func groupCapacity(a ScalingGroupArgs, lt *ec2.LaunchTemplate, version pulumi.StringInput) spotGroup {
	if a.Capacity != CapacitySpot {
		return spotGroup{launchTemplate: &autoscaling.GroupLaunchTemplateArgs{Id: lt.ID(), Version: version}}
	}
	types, _ := SpotInstanceTypes(a.InstanceType) // validated
	var overrides autoscaling.GroupMixedInstancesPolicyLaunchTemplateOverrideArray
	for _, t := range types {
		overrides = append(overrides, &autoscaling.GroupMixedInstancesPolicyLaunchTemplateOverrideArgs{InstanceType: pulumi.String(t)})
	}
	return spotGroup{
		mixedInstances: &autoscaling.GroupMixedInstancesPolicyArgs{
			InstancesDistribution: &autoscaling.GroupMixedInstancesPolicyInstancesDistributionArgs{
				OnDemandBaseCapacity:                pulumi.Int(a.OnDemandBase),
				OnDemandPercentageAboveBaseCapacity: pulumi.Int(100 - a.SpotPercent),
				SpotAllocationStrategy:              pulumi.String(SpotAllocationStrategy),
			},
			LaunchTemplate: &autoscaling.GroupMixedInstancesPolicyLaunchTemplateArgs{
				LaunchTemplateSpecification: &autoscaling.GroupMixedInstancesPolicyLaunchTemplateLaunchTemplateSpecificationArgs{
					LaunchTemplateId: lt.ID(),
					Version:          version,
				},
				Overrides: overrides,
			},
		},
		capacityRebalance: pulumi.Bool(true),
	}
}
