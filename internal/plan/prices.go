package plan

// Prices is a table of AWS list prices in USD for one region, as of one
// date, that the cost estimate multiplies the stack's quantities with.
// A figure not in the table is not guessed: the estimate lists it as
// unpriced.
type Prices struct {
	// AsOf is the date the prices were read; Region the region they hold
	// for; Basis what kind of price they are.
	AsOf, Region, Basis string
	// InstanceHour is the on-demand Linux price of an instance type, per hour.
	InstanceHour map[string]float64
	// VolumeGBMonth is the EBS price of a volume type, per GB-month.
	VolumeGBMonth map[string]float64
	// GP3IOPSMonth and GP3ThroughputMonth are gp3's prices per provisioned
	// IOPS-month and MB/s-month above the free GP3BaseIOPS and
	// GP3BaseThroughput.
	GP3IOPSMonth, GP3ThroughputMonth float64
	GP3BaseIOPS, GP3BaseThroughput   float64
	// SnapshotGBMonth is EBS snapshot storage (standard tier), per GB-month.
	SnapshotGBMonth float64
	// ALBHour, ALBLCUHour, NLBHour and NLCUHour are load balancer hours and
	// capacity unit hours.
	ALBHour, ALBLCUHour, NLBHour, NLCUHour float64
	// NATHour is a NAT gateway hour (data processed is extra).
	NATHour float64
	// PublicIPv4Hour is any public IPv4 address, Elastic IP or auto-assigned,
	// in use or idle (since February 2024).
	PublicIPv4Hour float64
	// MetricMonth is a custom metric (first 10,000), whatever its resolution.
	MetricMonth float64
	// AlarmMetricMonth and HighResAlarmMetricMonth are an alarm per metric
	// it evaluates, at a period of 60 s or more and below 60 s.
	AlarmMetricMonth, HighResAlarmMetricMonth float64
	// DashboardMonth is a custom dashboard.
	DashboardMonth float64
	// APIRequestsPer1000 is CloudWatch API requests such as PutMetricData.
	APIRequestsPer1000 float64
	// LogIngestGB and LogStorageGBMonth are CloudWatch Logs (standard class).
	LogIngestGB, LogStorageGBMonth float64
	// S3GBMonth and S3PutPer1000 are S3 Standard storage and PUT requests.
	S3GBMonth, S3PutPer1000 float64
	// HostedZoneMonth is a Route 53 hosted zone; KMSKeyMonth a customer
	// managed KMS key.
	HostedZoneMonth, KMSKeyMonth float64
}

// ListPrices is the table the plan uses: us-east-1 on-demand list prices,
// free tiers not deducted (they are per account, shared with everything
// else in it).
func ListPrices() Prices {
	return Prices{
		AsOf:   "2025-06-01",
		Region: "us-east-1",
		Basis:  "on-demand Linux",
		InstanceHour: map[string]float64{
			// Burstable, for small MongoDB nodes (unlimited-mode CPU credits extra).
			"t3.micro": 0.0104, "t3.small": 0.0208, "t3.medium": 0.0416, "t3.large": 0.0832, "t3.xlarge": 0.1664, "t3.2xlarge": 0.3328,
			"t3a.medium": 0.0376, "t3a.large": 0.0752,
			"t4g.medium": 0.0336, "t4g.large": 0.0672,
			// Compute optimized: AMS nodes.
			"c5.large": 0.085, "c5.xlarge": 0.17, "c5.2xlarge": 0.34, "c5.4xlarge": 0.68, "c5.9xlarge": 1.53,
			"c5a.xlarge": 0.154, "c5a.2xlarge": 0.308,
			"c5n.xlarge": 0.216, "c5n.2xlarge": 0.432,
			"c6i.large": 0.085, "c6i.xlarge": 0.17, "c6i.2xlarge": 0.34, "c6i.4xlarge": 0.68,
			"c6a.xlarge": 0.153, "c6a.2xlarge": 0.306,
			"c7i.xlarge": 0.1785, "c7i.2xlarge": 0.357,
			// General purpose.
			"m5.large": 0.096, "m5.xlarge": 0.192, "m5.2xlarge": 0.384, "m5.4xlarge": 0.768,
			"m5a.large": 0.086, "m5a.xlarge": 0.172, "m5a.2xlarge": 0.344,
			"m6i.large": 0.096, "m6i.xlarge": 0.192, "m6i.2xlarge": 0.384, "m6i.4xlarge": 0.768,
			"m6a.xlarge": 0.1728, "m6a.2xlarge": 0.3456,
			"m7i.xlarge": 0.2016, "m7i.2xlarge": 0.4032,
			"m6g.large": 0.077, "m6g.xlarge": 0.154, "m7g.large": 0.0816, "m7g.xlarge": 0.1632,
			// Memory optimized: larger MongoDB nodes.
			"r5.large": 0.126, "r5.xlarge": 0.252, "r5.2xlarge": 0.504,
			"r6i.large": 0.126, "r6i.xlarge": 0.252, "r6g.large": 0.1008, "r6g.xlarge": 0.2016,
		},
		VolumeGBMonth:      map[string]float64{"gp3": 0.08, "gp2": 0.10, "st1": 0.045, "sc1": 0.015},
		GP3IOPSMonth:       0.005,
		GP3ThroughputMonth: 0.04,
		GP3BaseIOPS:        3000,
		GP3BaseThroughput:  125,
		SnapshotGBMonth:    0.05,
		ALBHour:            0.0225,
		ALBLCUHour:         0.008,
		NLBHour:            0.0225,
		NLCUHour:           0.006,
		NATHour:            0.045,
		PublicIPv4Hour:     0.005,
		MetricMonth:        0.30,
		AlarmMetricMonth:   0.10,
		// High-resolution alarms (period below 60 s).
		HighResAlarmMetricMonth: 0.30,
		DashboardMonth:          3.00,
		APIRequestsPer1000:      0.01,
		LogIngestGB:             0.50,
		LogStorageGBMonth:       0.03,
		S3GBMonth:               0.023,
		S3PutPer1000:            0.005,
		HostedZoneMonth:         0.50,
		KMSKeyMonth:             1.00,
	}
}
