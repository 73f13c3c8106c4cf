package tests

import (
	"slices"
	"strings"
	"testing"
)

func TestNewVPCHasPublicSubnetsInDistinctZones(t *testing.T) {
	r := deploy(t, map[string]string{"vpcCidr": "10.40.0.0/16", "zoneCount": "3"})
	vpc := r.one(t, "aws:ec2/vpc:Vpc", "")
	if vpc.str("cidrBlock") != "10.40.0.0/16" || vpc.str("enableDnsHostnames") != "true" {
		t.Errorf("VPC %s dns hostnames %s", vpc.str("cidrBlock"), vpc.str("enableDnsHostnames"))
	}
	igw := r.one(t, "aws:ec2/internetGateway:InternetGateway", "")
	table := r.one(t, "aws:ec2/routeTable:RouteTable", "-public")
	if table.str("routes.0.cidrBlock") != "0.0.0.0/0" || table.str("routes.0.gatewayId") != igw.ID {
		t.Errorf("public route %s -> %s, want 0.0.0.0/0 -> %s", table.str("routes.0.cidrBlock"), table.str("routes.0.gatewayId"), igw.ID)
	}
	var zones, cidrs []string
	for _, s := range r.ofType("aws:ec2/subnet:Subnet") {
		zones = append(zones, s.str("availabilityZone"))
		cidrs = append(cidrs, s.str("cidrBlock"))
		if s.str("vpcId") != vpc.ID || s.str("mapPublicIpOnLaunch") != "false" {
			t.Errorf("subnet %s: vpc %s, mapPublicIpOnLaunch %s", s.Name, s.str("vpcId"), s.str("mapPublicIpOnLaunch"))
		}
		associated := false
		for _, a := range r.ofType("aws:ec2/routeTableAssociation:RouteTableAssociation") {
			if a.str("subnetId") == s.ID && a.str("routeTableId") == table.ID {
				associated = true
			}
		}
		if !associated {
			t.Errorf("subnet %s does not use the public route table", s.Name)
		}
	}
	slices.Sort(zones)
	slices.Sort(cidrs)
	if strings.Join(zones, " ") != "eu-central-1a eu-central-1b eu-central-1c" {
		t.Errorf("subnets in zones %v, want one in each of three", zones)
	}
	// A quarter of the VPC per zone (subnetPrefixLength's default), from its start.
	if strings.Join(cidrs, " ") != "10.40.0.0/18 10.40.128.0/18 10.40.64.0/18" {
		t.Errorf("subnet ranges %v", cidrs)
	}
}

func TestExistingVPCIsAdoptedNotCreated(t *testing.T) {
	const vpc, a, b = "vpc-0a1b2c3d4e5f60718", "subnet-0a1b2c3d4e5f60718", "subnet-0b1c2d3e4f5a60718"
	r := deploy(t, map[string]string{"existingVpcId": vpc, "existingSubnetIds": `["` + a + `","` + b + `"]`})
	for _, typ := range []string{"aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/internetGateway:InternetGateway", "aws:ec2/routeTable:RouteTable"} {
		if n := len(r.ofType(typ)); n != 0 {
			t.Errorf("%d × %s created in an adopted VPC", n, typ)
		}
	}
	alb := r.alb(t)
	if got := []string{alb.str("subnets.0"), alb.str("subnets.1")}; got[0] != a || got[1] != b {
		t.Errorf("load balancer subnets %v, want %s and %s", got, a, b)
	}
	for _, sg := range r.ofType("aws:ec2/securityGroup:SecurityGroup") {
		if sg.str("vpcId") != vpc {
			t.Errorf("security group %s in %q, want %s", sg.Name, sg.str("vpcId"), vpc)
		}
	}
	if got := r.one(t, "aws:ec2/networkInterface:NetworkInterface", "-mongo").str("subnetId"); got != a {
		t.Errorf("MongoDB in subnet %q, want the first adopted subnet %s", got, a)
	}
	// The data volume follows the adopted subnet's zone, as AWS reports it.
	if got := r.one(t, "aws:ebs/volume:Volume", "-mongo-data").str("availabilityZone"); got != "eu-central-1a" {
		t.Errorf("data volume in %q, want the subnet's zone", got)
	}
}

// closure is every resource res depends on, directly or through others, by
// the dependencies each registration declared to the engine.
func closure(t *testing.T, r *run, res *registered) map[string]bool {
	t.Helper()
	seen := map[string]bool{}
	queue := append([]string(nil), res.Dependencies...)
	for len(queue) > 0 {
		urn := queue[0]
		queue = queue[1:]
		if seen[urn] {
			continue
		}
		seen[urn] = true
		if dep := r.byURN(urn); dep != nil {
			queue = append(queue, dep.Dependencies...)
		}
	}
	return seen
}

// TestPublicResourcesWaitForTheInternetRoute: the load balancer, MongoDB's
// network interface, Elastic IP and instance, and the public-IP Auto
// Scaling groups may be created only once the VPC routes to the internet:
// gateway attached, public route table with its 0.0.0.0/0 route, and the
// association of each subnet they use.
func TestPublicResourcesWaitForTheInternetRoute(t *testing.T) {
	for _, layout := range []string{"single", "split", "spread"} {
		t.Run("zoneLayout="+layout, func(t *testing.T) {
			r := deploy(t, map[string]string{"zoneLayout": layout, "zoneCount": "3"})
			igw := r.one(t, "aws:ec2/internetGateway:InternetGateway", "")
			table := r.one(t, "aws:ec2/routeTable:RouteTable", "-public")
			association := map[string]*registered{}
			for _, a := range r.ofType("aws:ec2/routeTableAssociation:RouteTableAssociation") {
				association[a.str("subnetId")] = a
			}
			nic := r.one(t, "aws:ec2/networkInterface:NetworkInterface", "-mongo")
			subnetsOf := map[*registered][]string{
				nic:                                   {nic.str("subnetId")},
				r.one(t, "aws:ec2/eip:Eip", "-mongo"): {nic.str("subnetId")},
				r.one(t, "aws:ec2/instance:Instance", "-mongo"):    {nic.str("subnetId")},
				r.one(t, "aws:autoscaling/group:Group", "-origin"): stringsAt(r.one(t, "aws:autoscaling/group:Group", "-origin"), "vpcZoneIdentifiers"),
				r.one(t, "aws:autoscaling/group:Group", "-edge"):   stringsAt(r.one(t, "aws:autoscaling/group:Group", "-edge"), "vpcZoneIdentifiers"),
			}
			// Both load balancers: the ALB and the ingest NLB.
			for _, lb := range r.ofType("aws:lb/loadBalancer:LoadBalancer") {
				subnetsOf[lb] = stringsAt(lb, "subnets")
			}
			if len(r.ofType("aws:lb/loadBalancer:LoadBalancer")) != 2 {
				t.Errorf("%d load balancers, want the ALB and the ingest NLB", len(r.ofType("aws:lb/loadBalancer:LoadBalancer")))
			}
			for res, subnets := range subnetsOf {
				deps := closure(t, r, res)
				if len(subnets) == 0 {
					t.Errorf("%s %s uses no subnet", res.Type, res.Name)
				}
				for _, want := range []*registered{igw, table} {
					if !deps[want.URN] {
						t.Errorf("%s %s does not wait for %s %s", res.Type, res.Name, want.Type, want.Name)
					}
				}
				for _, subnet := range subnets {
					a := association[subnet]
					if a == nil {
						t.Fatalf("%s %s uses subnet %s, which has no route table association", res.Type, res.Name, subnet)
					}
					if !deps[a.URN] {
						t.Errorf("%s %s does not wait for the route table association of its subnet %s", res.Type, res.Name, subnet)
					}
				}
			}
		})
	}
}

// stringsAt returns a list input's string elements.
func stringsAt(res *registered, path string) []string {
	out := []string{}
	if !res.input(path).IsArray() {
		return out
	}
	for _, v := range res.input(path).ArrayValue() {
		out = append(out, unsecret(v).StringValue())
	}
	return out
}
