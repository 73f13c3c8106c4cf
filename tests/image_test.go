package tests

import (
	"slices"
	"strings"
	"testing"

	"github.com/ams-cluster/ams-aws/components"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// amsOldAMI is a Marketplace image an earlier deployment recorded.
const amsOldAMI = "ami-0f9e8d7c6b5a43210"

func imageParameterName(role string) string {
	return "/ams-cluster/dev/ams-cluster-dev-" + role + "/image-id"
}

// TestAMSImageIsResolvedOnceAndKept: without amsImageId, the newest
// Marketplace image found at the first deployment is recorded in an SSM
// parameter whose value later deployments ignore, and the launch template
// runs the recorded image: a newer Marketplace image changes nothing.
func TestAMSImageIsResolvedOnceAndKept(t *testing.T) {
	first := deploy(t, nil)
	for _, role := range []string{"origin", "edge"} {
		param := first.one(t, "aws:ssm/parameter:Parameter", "-"+role+"-image")
		expectInputs(t, param, map[string]string{
			"name": imageParameterName(role), "type": "String", "dataType": "aws:ec2:image", "insecureValue": amsAMI,
		})
		if !slices.Contains(param.IgnoreChanges, "insecureValue") {
			t.Errorf("%s image parameter ignoreChanges = %v, want insecureValue so that a newer image never overwrites it", role, param.IgnoreChanges)
		}
		lt := first.one(t, "aws:ec2/launchTemplate:LaunchTemplate", "-"+role)
		if !slices.Contains(lt.Dependencies, param.URN) || lt.str("imageId") != amsAMI {
			t.Errorf("%s launch template runs %q (depends on the parameter: %v), want the recorded %s", role, lt.str("imageId"), slices.Contains(lt.Dependencies, param.URN), amsAMI)
		}
	}

	// A later deployment: the parameters exist with the image recorded then;
	// the Marketplace look-up now answers a newer image (amsAMI).
	m := newMocks()
	m.retained[imageParameterName("origin")] = amsOldAMI
	m.retained[imageParameterName("edge")] = amsOldAMI
	later := runProgramWith(t, m, stackConfig(t, "Pulumi.dev.yaml", nil))
	if later.err != nil {
		t.Fatal(later.err)
	}
	for _, lt := range later.ofType("aws:ec2/launchTemplate:LaunchTemplate") {
		if got := lt.str("imageId"); got != amsOldAMI {
			t.Errorf("%s image %q after a newer Marketplace release, want the recorded %s", lt.Name, got, amsOldAMI)
		}
		if got := lt.str("blockDeviceMappings.0.deviceName"); got != "/dev/sda1" {
			t.Errorf("%s encrypts %q, want the recorded image's root device", lt.Name, got)
		}
	}
}

func TestAMSImageIsPinnedOrFollowedWithoutARecord(t *testing.T) {
	for _, tc := range []struct {
		name   string
		config map[string]string
		want   string
	}{
		{"pinned", map[string]string{"amsImageId": "ami-0fedcba9876543210"}, "ami-0fedcba9876543210"},
		{"following the newest", map[string]string{"amsFollowLatestImage": "true"}, amsAMI},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMocks()
			m.retained[imageParameterName("origin")] = amsOldAMI
			r := runProgramWith(t, m, stackConfig(t, "Pulumi.dev.yaml", tc.config))
			if r.err != nil {
				t.Fatal(r.err)
			}
			for _, p := range r.ofType("aws:ssm/parameter:Parameter") {
				if strings.HasSuffix(p.str("name"), "/image-id") {
					t.Errorf("%s records the image in %s", tc.name, p.str("name"))
				}
			}
			for _, lt := range r.ofType("aws:ec2/launchTemplate:LaunchTemplate") {
				if got := lt.str("imageId"); got != tc.want {
					t.Errorf("%s image %q, want %s", lt.Name, got, tc.want)
				}
			}
		})
	}
	r := runProgram(t, stackConfig(t, "Pulumi.dev.yaml", map[string]string{"amsImageId": "ami-0fedcba9876543210", "amsFollowLatestImage": "true"}))
	if r.err == nil || !strings.Contains(r.err.Error(), "ams-cluster:amsFollowLatestImage = true is not valid") {
		t.Errorf("a pinned image that also follows the newest: error %v, want one naming amsFollowLatestImage", r.err)
	}
}

// TestGravitonAMSNodesNeedAnArmImage: the Marketplace images are x86_64
// only, so a Graviton type without a pinned image is refused before any
// resource exists; a pinned image must match the type's architecture.
func TestGravitonAMSNodesNeedAnArmImage(t *testing.T) {
	r := runProgram(t, stackConfig(t, "Pulumi.dev.yaml", map[string]string{"originInstanceType": "c7g.xlarge"}))
	if r.err == nil {
		t.Fatal("a Graviton origin type without an image was accepted")
	}
	for _, want := range []string{`ams-cluster:originInstanceType = "c7g.xlarge" is not valid`, "x86_64", "Marketplace"} {
		if !strings.Contains(r.err.Error(), want) {
			t.Errorf("message lacks %q:\n%s", want, r.err)
		}
	}
	if len(r.resources) != 0 {
		t.Errorf("%d resources registered before the type was refused", len(r.resources))
	}

	arm := deploy(t, map[string]string{"amsImageId": amsArmAMI, "originInstanceType": "c7g.xlarge", "edgeInstanceType": "m7g.large"})
	for _, lt := range arm.ofType("aws:ec2/launchTemplate:LaunchTemplate") {
		if lt.str("imageId") != amsArmAMI {
			t.Errorf("%s image %q, want the pinned arm64 image", lt.Name, lt.str("imageId"))
		}
	}

	_, err := runComponents(t, func(ctx *pulumi.Context) error {
		_, err := components.NewScalingGroup(ctx, "live-edge", &components.ScalingGroupArgs{
			Role: components.RoleEdge, InstanceType: "m5.xlarge", ImageID: amsArmAMI,
			SubnetIDs:                pulumi.StringArray{pulumi.String("subnet-0a1b2c3d4e5f60718")},
			SecurityGroupIDs:         pulumi.StringArray{pulumi.String("sg-0a1b2c3d4e5f60718")},
			DatabaseURLParameterName: pulumi.String("/other/prod/db-url"),
			DatabaseURLParameterArn:  pulumi.String("arn:aws:ssm:eu-central-1:123456789012:parameter/other/prod/db-url"),
		})
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "ScalingGroup: ImageID = \""+amsArmAMI+"\" is not valid") || !strings.Contains(err.Error(), "x86_64") {
		t.Errorf("an arm64 image on an x86_64 type: error %v, want one naming ImageID and the architecture", err)
	}
}
