package components

import (
	"encoding/json"
	"fmt"
)

// Dashboard is a CloudWatch dashboard body ("Dashboard Body Structure and
// Syntax" in the CloudWatch API reference).
type Dashboard struct {
	Widgets []Widget `json:"widgets"`
}

// Widget is one dashboard widget on the 24-column grid.
type Widget struct {
	Type       string `json:"type"`
	X          int    `json:"x"`
	Y          int    `json:"y"`
	Width      int    `json:"width"`
	Height     int    `json:"height"`
	Properties any    `json:"properties"`
}

// TextWidget is the properties of a "text" widget.
type TextWidget struct {
	Markdown string `json:"markdown"`
}

// MetricWidget is the properties of a "metric" widget: a time series graph.
type MetricWidget struct {
	Title   string            `json:"title"`
	Region  string            `json:"region"`
	View    string            `json:"view"`
	Stacked bool              `json:"stacked"`
	Period  int               `json:"period"`
	Metrics []DashboardMetric `json:"metrics"`
	YAxis   *YAxis            `json:"yAxis,omitempty"`
}

// YAxis bounds a graph's left axis.
type YAxis struct {
	Left AxisRange `json:"left"`
}

// AxisRange is an axis's range.
type AxisRange struct {
	Min float64  `json:"min"`
	Max *float64 `json:"max,omitempty"`
}

// Dimension is one CloudWatch metric dimension.
type Dimension struct{ Name, Value string }

// DashboardMetric is one metric of a graph.
type DashboardMetric struct {
	Namespace  string
	Name       string
	Dimensions []Dimension
	Stat       string
	Label      string
}

// MarshalJSON renders the metric in the dashboard's array form:
// [namespace, name, dim1, value1, ..., {"stat": ..., "label": ...}].
func (m DashboardMetric) MarshalJSON() ([]byte, error) {
	out := []any{m.Namespace, m.Name}
	for _, d := range m.Dimensions {
		out = append(out, d.Name, d.Value)
	}
	out = append(out, map[string]string{"stat": m.Stat, "label": m.Label})
	return json.Marshal(out)
}

// dashboardLayout places widgets left to right, wrapping at 24 columns.
type dashboardLayout struct {
	d       Dashboard
	x, y, h int
}

func (l *dashboardLayout) add(width, height int, typ string, props any) {
	if l.x+width > 24 {
		l.x, l.y, l.h = 0, l.y+l.h, 0
	}
	l.d.Widgets = append(l.d.Widgets, Widget{Type: typ, X: l.x, Y: l.y, Width: width, Height: height, Properties: props})
	l.x += width
	l.h = max(l.h, height)
}

// row starts a new row with a full-width heading.
func (l *dashboardLayout) row(markdown string) {
	if l.x > 0 {
		l.x, l.y, l.h = 0, l.y+l.h, 0
	}
	l.add(24, 1, "text", TextWidget{Markdown: markdown})
}

func (l *dashboardLayout) graph(region, title string, metrics ...DashboardMetric) {
	l.add(8, 6, "metric", MetricWidget{Title: title, Region: region, View: "timeSeries", Period: 60, Metrics: metrics})
}

// dashboardTargets are the resources a cluster dashboard shows.
type dashboardTargets struct {
	region, namespace string
	// streaming, when set, is the prefix of the roles' streaming namespaces.
	streaming           string
	loadBalancer, mongo string
	roles               []dashboardRole
	// ingest, when set, is the network load balancer and its target groups.
	ingest       string
	ingestGroups []string
}

type dashboardRole struct {
	role, group, targetGroup string
}

// clusterDashboard builds the dashboard body: per role nodes, CPU, targets,
// requests and 5xx; then MongoDB.
func clusterDashboard(t dashboardTargets) (string, error) {
	const alb, asg, ec2 = "AWS/ApplicationELB", "AWS/AutoScaling", "AWS/EC2"
	l := &dashboardLayout{}
	for _, r := range t.roles {
		g := []Dimension{{"AutoScalingGroupName", r.group}}
		tg := []Dimension{{"TargetGroup", r.targetGroup}, {"LoadBalancer", t.loadBalancer}}
		l.row(fmt.Sprintf("## %s nodes (group %s)", r.role, r.group))
		l.graph(t.region, r.role+": nodes",
			DashboardMetric{asg, "GroupInServiceInstances", g, "Maximum", "in service"},
			DashboardMetric{asg, "GroupDesiredCapacity", g, "Maximum", "desired"},
			DashboardMetric{asg, "GroupMaxSize", g, "Maximum", "maximum"})
		l.graph(t.region, r.role+": CPU %",
			DashboardMetric{ec2, "CPUUtilization", g, "Average", "average"},
			DashboardMetric{ec2, "CPUUtilization", g, "Maximum", "busiest node"})
		l.graph(t.region, r.role+": targets",
			DashboardMetric{alb, "HealthyHostCount", tg, "Minimum", "healthy"},
			DashboardMetric{alb, "UnHealthyHostCount", tg, "Maximum", "unhealthy"})
		l.graph(t.region, r.role+": requests and 5xx",
			DashboardMetric{alb, "RequestCount", tg, "Sum", "requests"},
			DashboardMetric{alb, "HTTPCode_Target_5XX_Count", tg, "Sum", "5xx from nodes"})
		if t.streaming != "" {
			l.graph(t.region, r.role+": streams, viewers and publishers per node",
				DashboardMetric{HostMetricNamespace(t.streaming, r.role), "LiveStreams", g, "Average", "live streams"},
				DashboardMetric{HostMetricNamespace(t.streaming, r.role), "Viewers", g, "Average", "viewers"},
				DashboardMetric{HostMetricNamespace(t.streaming, r.role), "Viewers", g, "Maximum", "viewers, busiest node"},
				DashboardMetric{HostMetricNamespace(t.streaming, r.role), "Publishers", g, "Average", "publishers"})
		}
	}
	lbDim := []Dimension{{"LoadBalancer", t.loadBalancer}}
	l.graph(t.region, "load balancer: 5xx it answered itself",
		DashboardMetric{alb, "HTTPCode_ELB_5XX_Count", lbDim, "Sum", "ELB 5xx"},
		DashboardMetric{alb, "RejectedConnectionCount", lbDim, "Sum", "rejected connections"})

	if t.ingest != "" {
		l.row("## RTMP/SRT ingest load balancer")
		var healthy []DashboardMetric
		for _, g := range t.ingestGroups {
			healthy = append(healthy, DashboardMetric{"AWS/NetworkELB", "HealthyHostCount",
				[]Dimension{{"TargetGroup", g}, {"LoadBalancer", t.ingest}}, "Minimum", g})
		}
		l.graph(t.region, "ingest: healthy origins per target group", healthy...)
		l.graph(t.region, "ingest: active flows",
			DashboardMetric{"AWS/NetworkELB", "ActiveFlowCount", []Dimension{{"LoadBalancer", t.ingest}}, "Average", "flows"})
	}

	if t.mongo != "" {
		inst := []Dimension{{"InstanceId", t.mongo}}
		l.row(fmt.Sprintf("## MongoDB (instance %s)", t.mongo))
		l.graph(t.region, "MongoDB: CPU %", DashboardMetric{ec2, "CPUUtilization", inst, "Average", "CPU"})
		l.graph(t.region, "MongoDB: memory and data volume %",
			DashboardMetric{t.namespace, "mem_used_percent", inst, "Maximum", "memory used"},
			DashboardMetric{t.namespace, "disk_used_percent", []Dimension{{"InstanceId", t.mongo}, {"path", MongoDataPath}}, "Maximum", "data volume used"})
		l.graph(t.region, "MongoDB: status checks",
			DashboardMetric{ec2, "StatusCheckFailed_System", inst, "Maximum", "system (recovers)"},
			DashboardMetric{ec2, "StatusCheckFailed_Instance", inst, "Maximum", "instance"})
	}
	b, err := json.Marshal(l.d)
	if err != nil {
		return "", fmt.Errorf("dashboard: %w", err)
	}
	return string(b), nil
}
