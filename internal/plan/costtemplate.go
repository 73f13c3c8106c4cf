package plan

import "fmt"

// templateGroup is one Auto Scaling group of Ant Media's CloudFormation
// autoscale template at its defaults.
type templateGroup struct {
	role                      string
	desired, minSize, maxSize float64
}

// AntMediaTemplateDescription says what AntMediaTemplateEstimate prices:
// Ant Media's own CloudFormation autoscale template (ant-media/Scripts,
// cloudformation/antmedia-aws-autoscale-template.yaml) at its parameter
// defaults, and what had to be assumed.
func AntMediaTemplateDescription() []string {
	return []string{
		"origin group 1..10 (desired 1) and edge group 2..10 (desired 2), c5.xlarge, launch templates without detailed monitoring",
		"AMS root volumes: the template's DiskSize default, 10 GiB gp2",
		"MongoDB: one c5.xlarge instance (the template's MongoDBInstanceType default in the versions read) with the Ubuntu image's 8 GiB gp2 root volume, no data volume, no snapshots",
		"every instance gets a public IPv4 address (public subnets with MapPublicIpOnLaunch)",
		"an internet-facing ALB over the two subnets and an NLB (RTMP) in the origin subnet",
		"two CPU target tracking policies (two alarms each); no other alarms, no dashboard, no logs, no agents, no S3",
	}
}

// AntMediaTemplateEstimate prices Ant Media's CloudFormation autoscale
// template at its defaults (AntMediaTemplateDescription) with the same
// prices and assumptions as a stack's estimate.
func AntMediaTemplateEstimate(prices Prices, a Assumptions) *Estimate {
	e := &Estimate{Name: "Ant Media CloudFormation template (defaults)", Prices: prices, Assume: a, SpotSavings: map[string]float64{}}
	h := a.HoursPerMonth
	extra := 0.0
	for _, g := range []templateGroup{{"origin", 1, 1, 10}, {"edge", 2, 2, 10}} {
		k := node{
			component: "ScalingGroup " + g.role, instanceType: "c5.xlarge", market: "on-demand",
			rootType: "gp2", rootGiB: 10, publicIPv4: true,
		}
		e.instances(k, g.desired, false, fmt.Sprintf(", desired %g of %g-%g", g.desired, g.minSize, g.maxSize), "")
		e.add(Line{k.component, CatCloudWatch, "target tracking alarms (2 per policy)", 2, "alarm metric", prices.AlarmMetricMonth})
		one := &Estimate{Prices: prices, Assume: a}
		one.instances(k, 1, false, "", "")
		extra += (g.maxSize - g.desired) * one.Total()
		if g.role == "edge" {
			e.SpotSavings[g.role] = g.desired * h * prices.InstanceHour[k.instanceType] * a.SpotDiscount
		}
	}
	mongo := node{component: "MongoDB instance", instanceType: "c5.xlarge", market: "on-demand", rootType: "gp2", rootGiB: 8, publicIPv4: true}
	e.instances(mongo, 1, false, "", "")
	e.add(Line{"load balancers", CatLB, "application load balancer", h, "LB-h", prices.ALBHour})
	e.add(Line{"load balancers", CatLB, fmt.Sprintf("LCU (assumed %g)", a.ALBCapacityUnits), a.ALBCapacityUnits * h, "LCU-h", prices.ALBLCUHour})
	e.add(Line{"load balancers", CatIPv4, "load balancer public IPv4, ALB in two zones", 2 * h, "address-h", prices.PublicIPv4Hour})
	e.add(Line{"load balancers", CatLB, "network load balancer", h, "LB-h", prices.NLBHour})
	e.add(Line{"load balancers", CatLB, fmt.Sprintf("NLCU (assumed %g)", a.NLBCapacityUnits), a.NLBCapacityUnits * h, "NLCU-h", prices.NLCUHour})
	e.add(Line{"load balancers", CatIPv4, "load balancer public IPv4, NLB in one zone", h, "address-h", prices.PublicIPv4Hour})
	e.Lines = mergeLines(e.Lines)
	e.AtMax = e.Total() + extra
	return e
}
