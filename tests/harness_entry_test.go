package tests

// The mock answers for the ways into the cluster (load balancers,
// certificates, Route 53, S3, the caller identity) live in
// internal/mockaws/entry.go; these are the names the tests use for them.

import (
	"github.com/ams-cluster/ams-aws/internal/mockaws"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Hosted zones the mock Route 53 knows.
const (
	testZoneID        = mockaws.ZoneID // public, example.com
	testZoneName      = mockaws.ZoneName
	testPrivateZoneID = mockaws.PrivateZoneID // private, corp.example.com
	testDomain        = "live.example.com"
)

// inRegion answers getRegion with another region, as a stack deployed there would see.
type inRegion struct {
	*mocks
	region string
}

func (m inRegion) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	if args.Token == "aws:index/getRegion:getRegion" {
		return resource.NewPropertyMapFromMap(map[string]any{"id": m.region, "name": m.region}), nil
	}
	return m.mocks.Call(args)
}
