package tests

import (
	"strings"
	"testing"
)

// subnetRanges are the CIDR blocks of a run's public subnets, by zone.
func subnetRanges(r *run) map[string]string {
	out := map[string]string{}
	for _, s := range r.ofType("aws:ec2/subnet:Subnet") {
		out[s.str("availabilityZone")] = s.str("cidrBlock")
	}
	return out
}

// TestSubnetsKeepTheirRangesAsZonesAreAdded: a subnet's cidr_block forces
// its replacement (terraform-provider-aws, aws_subnet), and MongoDB's
// network interface, whose address the database URL names, lives in it.
// The stacks in this repository keep the ranges they were created with,
// and raising zoneCount only adds subnets.
func TestSubnetsKeepTheirRangesAsZonesAreAdded(t *testing.T) {
	dev := subnetRanges(deploy(t, nil))
	wantDev := map[string]string{region + "a": "10.20.0.0/18", region + "b": "10.20.64.0/18"}
	prod := runProgram(t, stackConfig(t, "Pulumi.prod.yaml", map[string]string{"certificateArn": testCertificate}))
	if prod.err != nil {
		t.Fatal(prod.err)
	}
	wantProd := map[string]string{region + "a": "10.20.0.0/19", region + "b": "10.20.32.0/19", region + "c": "10.20.64.0/19"}
	for _, tc := range []struct {
		stack     string
		got, want map[string]string
	}{{"dev", dev, wantDev}, {"prod", subnetRanges(prod), wantProd}} {
		for zone, cidr := range tc.want {
			if tc.got[zone] != cidr {
				t.Errorf("%s: subnet in %s is %q, want %s, the range it was created with", tc.stack, zone, tc.got[zone], cidr)
			}
		}
	}
	// The mocked region has three zones.
	grown := subnetRanges(deploy(t, map[string]string{"zoneCount": "3"}))
	if len(grown) != 3 {
		t.Errorf("dev with 3 zones has %d subnets", len(grown))
	}
	for zone, cidr := range dev {
		if grown[zone] != cidr {
			t.Errorf("dev grown to 3 zones re-addresses the subnet in %s: %s, was %s", zone, grown[zone], cidr)
		}
	}
	// Five /18s do not fit in the /16: the error names the keys to change.
	r := runProgram(t, stackConfig(t, "Pulumi.dev.yaml", map[string]string{"zoneCount": "5"}))
	if r.err == nil || !strings.Contains(r.err.Error(), "zoneCount") {
		t.Errorf("five zones of /18 in a /16: err = %v, want an error naming zoneCount", r.err)
	}
}
