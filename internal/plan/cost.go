package plan

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/ams-cluster/ams-aws/internal/mockaws"
)

// Assumptions are the figures the cost estimate cannot read from the
// program: usage, not configuration.
type Assumptions struct {
	// HoursPerMonth is the month the estimate bills (AWS uses 730).
	HoursPerMonth float64
	// SpotDiscount is the share Spot saves on the on-demand price.
	SpotDiscount float64
	// ALBCapacityUnits and NLBCapacityUnits are the average LCUs and NLCUs
	// the load balancers use.
	ALBCapacityUnits, NLBCapacityUnits float64
	// LogGBPerInstance is what one instance that ships logs sends to
	// CloudWatch Logs in a month.
	LogGBPerInstance float64
	// AccessLogGB is what the application load balancer writes to its
	// access-log bucket in a month.
	AccessLogGB float64
	// DetailedMonitoringMetrics is how many metrics EC2 detailed monitoring
	// bills per instance.
	DetailedMonitoringMetrics float64
	// SnapshotFullShare is the share of a volume its first snapshot holds
	// (the data written); SnapshotChangeShare what each further snapshot adds.
	SnapshotFullShare, SnapshotChangeShare float64
	// RootGiB is a root volume's size where the program leaves the image's.
	RootGiB float64
}

// DefaultAssumptions are the assumptions the plan prints with its estimate.
func DefaultAssumptions() Assumptions {
	return Assumptions{
		HoursPerMonth:             730,
		SpotDiscount:              0.60,
		ALBCapacityUnits:          1,
		NLBCapacityUnits:          1,
		LogGBPerInstance:          1,
		AccessLogGB:               5,
		DetailedMonitoringMetrics: 7,
		SnapshotFullShare:         0.5,
		SnapshotChangeShare:       0.02,
		RootGiB:                   8,
	}
}

// Cost categories, the rows of the side-by-side comparison.
const (
	CatCompute    = "instances"
	CatEBS        = "EBS volumes"
	CatSnapshots  = "EBS snapshots"
	CatLB         = "load balancers"
	CatNAT        = "NAT gateways"
	CatIPv4       = "public IPv4 addresses"
	CatCloudWatch = "CloudWatch"
	CatS3         = "S3"
	CatRoute53    = "Route 53"
	CatKMS        = "KMS"
)

// Categories lists the cost categories in the order they are printed.
func Categories() []string {
	return []string{CatCompute, CatEBS, CatSnapshots, CatLB, CatNAT, CatIPv4, CatCloudWatch, CatS3, CatRoute53, CatKMS}
}

// Line is one priced quantity: what, how much of it in a month, at what price.
type Line struct {
	// Component is the stack component the resources belong to.
	Component string
	// Category is one of Categories.
	Category string
	// Item says what is billed: "c5.xlarge on-demand", "gp3 root volumes".
	Item string
	// Quantity is in Unit a month: instance-hours, GB-months, alarms...
	Quantity  float64
	Unit      string
	UnitPrice float64
}

// Monthly is the line's USD a month.
func (l Line) Monthly() float64 { return l.Quantity * l.UnitPrice }

// Estimate is a stack's monthly bill as the estimate sees it.
type Estimate struct {
	// Name names the stack or template estimated.
	Name string
	// Region is the region the stack deploys to ("" when not known).
	Region string
	// Prices and Assume are what the estimate multiplied the quantities with.
	Prices Prices
	Assume Assumptions
	// Lines are the priced quantities, by component.
	Lines []Line
	// AtMax is the total with every group at its maximum size.
	AtMax float64
	// SpotSavings are, for each edge group with on-demand nodes, what Spot
	// would save a month at its desired capacity: "edge" -> USD.
	SpotSavings map[string]float64
	// Unpriced lists what the estimate could not price: unknown resource
	// types, instance types without a price. They are not in the total.
	Unpriced []string
}

// Total is the estimate's USD a month.
func (e *Estimate) Total() float64 {
	t := 0.0
	for _, l := range e.Lines {
		t += l.Monthly()
	}
	return t
}

// ByCategory is the monthly USD of each category.
func (e *Estimate) ByCategory() map[string]float64 {
	m := map[string]float64{}
	for _, l := range e.Lines {
		m[l.Category] += l.Monthly()
	}
	return m
}

// add appends a line unless its quantity is zero.
func (e *Estimate) add(l Line) {
	if l.Quantity > 0 {
		e.Lines = append(e.Lines, l)
	}
}

// unpriced records something the estimate has no price for, once.
func (e *Estimate) unpriced(what string) {
	for _, u := range e.Unpriced {
		if u == what {
			return
		}
	}
	e.Unpriced = append(e.Unpriced, what)
}

// node is what one kind of running instance is billed for.
type node struct {
	component, instanceType, market string
	rootType                        string
	rootGiB, rootIOPS, rootMBps     float64
	detailedMonitoring, publicIPv4  bool
	agent                           agentUse
}

// instances bills n instances of kind k for a month, or, when stopped,
// only their volumes; note qualifies the instance line, what every line.
func (e *Estimate) instances(k node, n float64, stopped bool, note, what string) {
	h := e.Assume.HoursPerMonth
	if !stopped {
		price, ok := e.Prices.InstanceHour[k.instanceType]
		if !ok {
			e.unpriced(fmt.Sprintf("instance type %s (%s)", k.instanceType, k.component))
		}
		item := k.instanceType + " " + k.market
		if k.market == "spot" {
			price *= 1 - e.Assume.SpotDiscount
		}
		if ok {
			e.add(Line{k.component, CatCompute, item + note + what, n * h, "instance-h", price})
		}
		if k.detailedMonitoring {
			e.add(Line{k.component, CatCloudWatch, "EC2 detailed monitoring" + what, n * e.Assume.DetailedMonitoringMetrics, "metric", e.Prices.MetricMonth})
		}
		if k.publicIPv4 {
			e.add(Line{k.component, CatIPv4, "auto-assigned public IPv4" + what, n * h, "address-h", e.Prices.PublicIPv4Hour})
		}
		e.agentLines(k.component, k.agent, n, what)
	}
	e.volume(k.component, k.rootType+" root volumes"+what, k.rootType, n, k.rootGiB, k.rootIOPS, k.rootMBps)
}

// volume bills n EBS volumes of a type and size, with gp3's provisioned
// IOPS and throughput above the baseline.
func (e *Estimate) volume(component, item, typ string, n, gib, iops, mbps float64) {
	price, ok := e.Prices.VolumeGBMonth[typ]
	if !ok {
		e.unpriced(fmt.Sprintf("volume type %s (%s)", typ, component))
		return
	}
	e.add(Line{component, CatEBS, item, n * gib, "GB-month", price})
	if typ == "gp3" {
		e.add(Line{component, CatEBS, item + ": IOPS above 3,000", n * math.Max(0, iops-e.Prices.GP3BaseIOPS), "IOPS-month", e.Prices.GP3IOPSMonth})
		e.add(Line{component, CatEBS, item + ": throughput above 125 MB/s", n * math.Max(0, mbps-e.Prices.GP3BaseThroughput), "MB/s-month", e.Prices.GP3ThroughputMonth})
	}
}

// EstimateCost prices what the run registered: quantities come from the
// registered resources (instance types, group sizes, warm pools, volume
// sizes, alarms, the agents in the user data), prices from prices, and
// usage from a.
func (p *Plan) EstimateCost(prices Prices, a Assumptions) *Estimate {
	e := &Estimate{Name: p.Stack, Region: p.region(), Prices: prices, Assume: a, SpotSavings: map[string]float64{}}
	h := a.HoursPerMonth
	known := resourceCosts()
	types := map[string]bool{}
	for _, r := range p.r.Resources {
		if r.Custom && !strings.HasPrefix(r.Type, "pulumi:providers:") {
			types[r.Type] = true
		}
	}
	for t := range types {
		if _, ok := known[t]; !ok {
			e.unpriced("resource type " + t)
		}
	}
	logShippers := 0.0
	atMaxExtra := 0.0

	for _, r := range p.r.OfType(typeInstance) {
		k := p.instanceNode(r, a)
		e.instances(k, 1, false, "", "")
		if k.agent.logs {
			logShippers++
		}
	}
	for _, g := range p.r.OfType(typeGroup) {
		logShippers += p.groupCost(e, g, &atMaxExtra)
	}
	for _, v := range p.r.OfType(typeVolume) {
		e.volume(p.componentName(v), v.Str("type")+" data volumes", orDefault(v.Str("type"), "gp2"), 1, math.Max(0, v.Num("size")), v.Num("iops"), v.Num("throughput"))
	}
	p.snapshotCost(e)
	for _, ip := range p.r.OfType(typeEIP) {
		e.add(Line{p.componentName(ip), CatIPv4, "Elastic IPs", h, "address-h", prices.PublicIPv4Hour})
	}
	for _, n := range p.r.OfType(typeNAT) {
		e.add(Line{p.componentName(n), CatNAT, "NAT gateways (data processed not included)", h, "gateway-h", prices.NATHour})
	}
	for _, lb := range p.r.OfType(typeLoadBalancer) {
		c := p.componentName(lb)
		zones := float64(max(count(lb, "subnets"), count(lb, "subnetMappings")))
		if lb.Str("loadBalancerType") == "network" {
			e.add(Line{c, CatLB, "network load balancer", h, "LB-h", prices.NLBHour})
			e.add(Line{c, CatLB, fmt.Sprintf("NLCU (assumed %g)", a.NLBCapacityUnits), a.NLBCapacityUnits * h, "NLCU-h", prices.NLCUHour})
		} else {
			e.add(Line{c, CatLB, "application load balancer", h, "LB-h", prices.ALBHour})
			e.add(Line{c, CatLB, fmt.Sprintf("LCU (assumed %g)", a.ALBCapacityUnits), a.ALBCapacityUnits * h, "LCU-h", prices.ALBLCUHour})
		}
		if lb.Str("internal") != "true" {
			e.add(Line{c, CatIPv4, "load balancer public IPv4, one per zone", zones * h, "address-h", prices.PublicIPv4Hour})
		}
	}
	p.cloudWatchCost(e, logShippers)
	p.bucketCost(e)
	for _, z := range p.r.OfType(typeZone) {
		e.add(Line{p.componentName(z), CatRoute53, "hosted zones", 1, "zone-month", prices.HostedZoneMonth})
	}
	for _, k := range p.r.OfType(typeKMSKey) {
		e.add(Line{p.componentName(k), CatKMS, "customer managed keys", 1, "key-month", prices.KMSKeyMonth})
	}
	e.Lines = mergeLines(e.Lines)
	e.AtMax = e.Total() + atMaxExtra
	sort.Strings(e.Unpriced)
	return e
}

// groupCost bills an Auto Scaling group's instances at its desired
// capacity (On-Demand and Spot as its mixed-instances policy splits them)
// and its warm pool; it adds what the group costs more at its maximum size
// to atMax and returns how many of its instances ship logs.
func (p *Plan) groupCost(e *Estimate, g *mockaws.Resource, atMax *float64) float64 {
	ltID := g.Str("launchTemplate.id")
	if ltID == "" {
		ltID = g.Str("mixedInstancesPolicy.launchTemplate.launchTemplateSpecification.launchTemplateId")
	}
	lt := p.r.ByID(ltID)
	if lt == nil {
		e.unpriced("group " + g.Name + ": no launch template")
		return 0
	}
	k := p.templateNode(g, lt, e.Assume)
	if t := g.Str("mixedInstancesPolicy.launchTemplate.overrides.0.instanceType"); t != "" {
		k.instanceType = t
	}
	desired, maxSize := g.Num("desiredCapacity"), g.Num("maxSize")
	if desired < 0 {
		desired = math.Max(0, g.Num("minSize"))
	}
	onDemand := desired
	if g.Input("mixedInstancesPolicy").IsObject() {
		onDemand = onDemandShare(g, desired)
	}
	if lt.Str("instanceMarketOptions.marketType") == "spot" {
		onDemand = 0
	}
	note := fmt.Sprintf(", desired %g of %g-%g", desired, math.Max(0, g.Num("minSize")), maxSize)
	od, spot := k, k
	od.market, spot.market = "on-demand", "spot"
	e.instances(od, onDemand, false, note, "")
	e.instances(spot, desired-onDemand, false, note, "")
	// Only edges are candidates: an origin holds its publishers' streams
	// (issue 19, item 4).
	if price, ok := e.Prices.InstanceHour[k.instanceType]; ok && onDemand > 0 && role(g) == "edge" {
		e.SpotSavings[role(g)] = onDemand * e.Assume.HoursPerMonth * price * e.Assume.SpotDiscount
	}
	if wp := g.Input("warmPool"); wp.IsObject() {
		prepared := g.Num("warmPool.maxGroupPreparedCapacity")
		if prepared < 0 {
			prepared = maxSize
		}
		size := math.Max(math.Max(0, g.Num("warmPool.minSize")), prepared-desired)
		state := orDefault(g.Str("warmPool.poolState"), "Stopped")
		warm := od
		warm.market = "on-demand"
		e.instances(warm, size, state != "Running", "", fmt.Sprintf(" (warm pool, %g %s)", size, strings.ToLower(state)))
	}
	// A node more, priced apart, tells what the group costs at its maximum.
	one := &Estimate{Prices: e.Prices, Assume: e.Assume}
	one.instances(od, 1, false, "", "")
	*atMax += math.Max(0, maxSize-desired) * one.Total()
	if k.agent.logs {
		return desired
	}
	return 0
}

// onDemandShare is how many of desired instances a mixed-instances policy
// runs On-Demand: the base, then its percentage of the rest, rounded up.
func onDemandShare(g *mockaws.Resource, desired float64) float64 {
	base := math.Max(0, g.Num("mixedInstancesPolicy.instancesDistribution.onDemandBaseCapacity"))
	pct := g.Num("mixedInstancesPolicy.instancesDistribution.onDemandPercentageAboveBaseCapacity")
	if pct < 0 {
		pct = 100
	}
	if desired <= base {
		return desired
	}
	return base + math.Ceil((desired-base)*pct/100)
}

// instanceNode describes a stand-alone instance.
func (p *Plan) instanceNode(r *mockaws.Resource, a Assumptions) node {
	market := "on-demand"
	if r.Str("instanceMarketOptions.marketType") == "spot" {
		market = "spot"
	}
	public := r.Str("associatePublicIpAddress") == "true"
	return node{
		component:          p.componentName(r),
		instanceType:       r.Str("instanceType"),
		market:             market,
		rootType:           orDefault(r.Str("rootBlockDevice.volumeType"), "gp3"),
		rootGiB:            positive(r.Num("rootBlockDevice.volumeSize"), a.RootGiB),
		rootIOPS:           r.Num("rootBlockDevice.iops"),
		rootMBps:           r.Num("rootBlockDevice.throughput"),
		detailedMonitoring: r.Str("monitoring") == "true",
		publicIPv4:         public,
		agent:              readAgents(orDefault(r.Str("userDataBase64"), r.Str("userData"))),
	}
}

// templateNode describes an instance a group launches from lt.
func (p *Plan) templateNode(g, lt *mockaws.Resource, a Assumptions) node {
	return node{
		component:          p.componentName(g),
		instanceType:       lt.Str("instanceType"),
		rootType:           orDefault(lt.Str("blockDeviceMappings.0.ebs.volumeType"), "gp3"),
		rootGiB:            positive(lt.Num("blockDeviceMappings.0.ebs.volumeSize"), a.RootGiB),
		rootIOPS:           lt.Num("blockDeviceMappings.0.ebs.iops"),
		rootMBps:           lt.Num("blockDeviceMappings.0.ebs.throughput"),
		detailedMonitoring: lt.Str("monitoring.enabled") == "true",
		publicIPv4:         lt.Str("networkInterfaces.0.associatePublicIpAddress") == "true",
		agent:              readAgents(lt.Str("userData")),
	}
}

// snapshotCost bills the snapshots each lifecycle policy keeps of the
// volumes carrying its target tags: a first full copy of the data, then
// what changed, per snapshot kept.
func (p *Plan) snapshotCost(e *Estimate) {
	for _, pol := range p.r.OfType(typeSnapshots) {
		kept := math.Max(1, pol.Num("policyDetails.schedules.0.retainRule.count"))
		tags := objectInput(pol, "policyDetails.targetTags")
		gib := 0.0
		for _, v := range p.r.OfType(typeVolume) {
			match := len(tags) > 0
			for k, want := range tags {
				match = match && v.Tag(k) == want
			}
			if match {
				gib += math.Max(0, v.Num("size"))
			}
		}
		stored := gib * (e.Assume.SnapshotFullShare + (kept-1)*e.Assume.SnapshotChangeShare)
		e.add(Line{p.componentName(pol), CatSnapshots, fmt.Sprintf("snapshots, %g kept (assumed size)", kept), stored, "GB-month", e.Prices.SnapshotGBMonth})
	}
}

// bucketCost bills the access logs the load balancers write to the
// stack's buckets for as long as the bucket's lifecycle rule keeps them.
func (p *Plan) bucketCost(e *Estimate) {
	buckets := append(p.r.OfType(typeBucket), p.r.OfType(typeBucketV1)...)
	for _, b := range buckets {
		name := b.StateStr("bucket")
		writers := 0.0
		for _, lb := range p.r.OfType(typeLoadBalancer) {
			if lb.Str("accessLogs.enabled") == "true" && lb.Str("accessLogs.bucket") == name {
				writers += float64(max(count(lb, "subnets"), 1))
			}
		}
		if writers == 0 {
			what := "its contents (no load balancer writes access logs to it)"
			if p.componentOf(b) != nil && p.componentOf(b).Type == "ams:cluster:RecordingStore" {
				what = "the recordings it keeps (as many hours as are recorded, for recordingsExpireDays)"
			}
			e.unpriced("bucket " + b.Name + ": " + what)
			continue
		}
		days := 0.0
		for _, lc := range p.r.OfType(typeLifecycle) {
			if lc.Str("bucket") == name {
				days = lc.Num("rules.0.expiration.days")
			}
		}
		months := 12.0 // kept for ever: a year's worth
		if days > 0 {
			months = days / 30
		}
		c := p.componentName(b)
		e.add(Line{c, CatS3, fmt.Sprintf("access logs kept %g days (assumed %g GB/month)", days, e.Assume.AccessLogGB), e.Assume.AccessLogGB * months, "GB-month", e.Prices.S3GBMonth})
		// Elastic Load Balancing writes a file per load balancer node every 5 minutes.
		e.add(Line{c, CatS3, "access log PUTs, one per zone every 5 minutes", writers * 12 * e.Assume.HoursPerMonth / 1000, "1,000 PUTs", e.Prices.S3PutPer1000})
	}
}

// region is the region in the registered resources' ARNs.
func (p *Plan) region() string {
	for _, r := range p.r.Resources {
		if parts := strings.Split(r.StateStr("arn"), ":"); len(parts) > 4 && parts[3] != "" {
			return parts[3]
		}
	}
	return ""
}

// componentName names the component a resource belongs to, "(stack)" for
// resources outside any.
func (p *Plan) componentName(r *mockaws.Resource) string {
	if c := p.componentOf(r); c != nil {
		return label(c)
	}
	return "(stack)"
}

// mergeLines adds up lines of the same component, category, item and
// price, keeping the first one's place.
func mergeLines(lines []Line) []Line {
	var out []Line
	at := map[Line]int{}
	for _, l := range lines {
		key := l
		key.Quantity = 0
		if i, ok := at[key]; ok {
			out[i].Quantity += l.Quantity
			continue
		}
		at[key] = len(out)
		out = append(out, l)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Component < out[j].Component })
	return out
}

// objectInput is an object input of r at path as strings, or nil.
func objectInput(r *mockaws.Resource, path string) map[string]string {
	v := mockaws.Unsecret(r.Input(path))
	if !v.IsObject() {
		return nil
	}
	out := map[string]string{}
	for k := range v.ObjectValue() {
		out[string(k)] = r.Str(path + "." + string(k))
	}
	return out
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func positive(v, def float64) float64 {
	if v > 0 {
		return v
	}
	return def
}
