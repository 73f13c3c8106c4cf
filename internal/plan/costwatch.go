package plan

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/ams-cluster/ams-aws/components"
)

// agentUse is what the agents in an instance's user data send to
// CloudWatch: the CloudWatch agent's metrics and logs, and the AMS node
// agent's streaming metrics.
type agentUse struct {
	// instanceMetrics are the custom metrics each instance publishes (its
	// instance ID is a dimension).
	instanceMetrics float64
	// requestsPerHour are the PutMetricData requests an instance makes in an hour.
	requestsPerHour float64
	// logs is true when the instance ships log files.
	logs bool
	// groupMetrics are the streaming metrics with only the group as
	// dimension: one set per group, whatever its size.
	groupMetrics []string
}

var (
	agentConfigLine = regexp.MustCompile(`(?m)^readonly CWAGENT_CONFIG='((?:[^']|'\\'')*)'$`)
	agentInterval   = regexp.MustCompile(`(?m)^readonly AGENT_INTERVAL='?(\d+)'?$`)
	putMetrics      = regexp.MustCompile(`(?m)put-metrics "\$METRIC_NAMESPACE" "\$group"((?: (?:"\w+=\$\d+"|\$\{\d+:\+"\w+=\$\d+"\}))+)`)
	metricName      = regexp.MustCompile(`"(\w+)=\$\d+"`)
)

// readAgents reads the agents' configuration from user data (base64, of a
// script or of its gzip).
func readAgents(userData string) agentUse {
	var use agentUse
	script := decodeUserData(userData)
	if m := agentConfigLine.FindStringSubmatch(script); m != nil {
		var cfg components.AgentConfig
		if json.Unmarshal([]byte(strings.ReplaceAll(m[1], `'\''`, "'")), &cfg) == nil {
			use.instanceMetrics = agentMetrics(cfg.Metrics)
			if interval := cfg.Agent.MetricsCollectionInterval; interval > 0 && use.instanceMetrics > 0 {
				// The agent batches each collection into one request.
				use.requestsPerHour += 3600 / float64(interval)
			}
			use.logs = len(cfg.Logs.LogsCollected.Files.CollectList) > 0
		}
	}
	if m := putMetrics.FindStringSubmatch(script); m != nil {
		for _, n := range metricName.FindAllStringSubmatch(m[1], -1) {
			use.groupMetrics = append(use.groupMetrics, n[1])
		}
		if iv := agentInterval.FindStringSubmatch(script); iv != nil {
			if s, _ := strconv.Atoi(iv[1]); s > 0 {
				use.requestsPerHour += 3600 / float64(s)
			}
		}
	}
	return use
}

// agentMetrics counts the metrics one instance's CloudWatch agent publishes:
// each measurement with its full dimension set (the appended dimensions,
// which replace the host name, plus a disk's path and file system type),
// and again for each aggregation set it rolls up to.
func agentMetrics(m components.AgentMetrics) float64 {
	var appended []string
	for k := range m.AppendDimensions {
		appended = append(appended, k)
	}
	count := func(measurements int, native []string, perPath float64) float64 {
		n := perPath
		for _, agg := range m.AggregationDimensions {
			subset := true
			for _, d := range agg {
				subset = subset && slices.Contains(native, d)
			}
			if !subset || len(agg) == len(native) {
				continue
			}
			if slices.Contains(agg, "path") {
				n += perPath
			} else {
				n++
			}
		}
		return float64(measurements) * n
	}
	total := count(len(m.MetricsCollected.Mem.Measurement), appended, 1)
	if d := m.MetricsCollected.Disk; len(d.Measurement) > 0 {
		total += count(len(d.Measurement), append(slices.Clone(appended), "path", "fstype"), float64(len(d.Resources)))
	}
	return total
}

// decodeUserData is the script in user data, or "".
func decodeUserData(s string) string {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return s
	}
	if len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return ""
		}
		if b, err = io.ReadAll(zr); err != nil {
			return ""
		}
	}
	return string(b)
}

// agentLines bills n instances' agents: their custom metrics and requests.
func (e *Estimate) agentLines(component string, a agentUse, n float64, what string) {
	e.add(Line{component, CatCloudWatch, "CloudWatch agent metrics" + what, n * a.instanceMetrics, "metric", e.Prices.MetricMonth})
	e.add(Line{component, CatCloudWatch, "PutMetricData requests" + what, n * a.requestsPerHour * e.Assume.HoursPerMonth / 1000, "1,000 requests", e.Prices.APIRequestsPer1000})
}

// cloudWatchCost bills alarms (per metric, high resolution below 60 s),
// the alarms target tracking creates, dashboards, the groups' streaming
// metrics and the logs of logShippers instances.
func (p *Plan) cloudWatchCost(e *Estimate, logShippers float64) {
	pr := e.Prices
	for _, a := range p.r.OfType(typeAlarm) {
		metrics, period := 1.0, a.Num("period")
		if n := count(a, "metricQueries"); n > 0 {
			metrics, period = 0, math.Inf(1)
			for i := 0; i < n; i++ {
				q := fmt.Sprintf("metricQueries.%d.metric", i)
				if a.Input(q).IsObject() {
					metrics++
					period = math.Min(period, a.Num(q+".period"))
				}
			}
		}
		if period > 0 && period < 60 {
			e.add(Line{p.componentName(a), CatCloudWatch, "high-resolution alarms (period < 60 s), per metric", metrics, "alarm metric", pr.HighResAlarmMetricMonth})
		} else {
			e.add(Line{p.componentName(a), CatCloudWatch, "alarms, per metric", metrics, "alarm metric", pr.AlarmMetricMonth})
		}
	}
	for _, pol := range p.r.OfType(typePolicy) {
		if pol.Str("policyType") != "TargetTrackingScaling" {
			continue
		}
		// A policy on a high-resolution metric gets high-resolution alarms.
		spec := "targetTrackingConfiguration.customizedMetricSpecification"
		periods := []float64{pol.Num(spec + ".period")}
		for i := 0; i < count(pol, spec+".metrics"); i++ {
			periods = append(periods, pol.Num(fmt.Sprintf("%s.metrics.%d.metricStat.period", spec, i)))
		}
		price := pr.AlarmMetricMonth
		for _, period := range periods {
			if period > 0 && period < 60 {
				price = pr.HighResAlarmMetricMonth
			}
		}
		e.add(Line{p.componentName(pol), CatCloudWatch, "target tracking alarms (2 per policy)", 2, "alarm metric", price})
	}
	for _, d := range p.r.OfType(typeDashboard) {
		e.add(Line{p.componentName(d), CatCloudWatch, "dashboards", 1, "dashboard", pr.DashboardMonth})
	}
	for _, g := range p.r.OfType(typeGroup) {
		if lt := p.r.ByID(g.Str("launchTemplate.id")); lt != nil {
			if m := readAgents(lt.Str("userData")).groupMetrics; len(m) > 0 {
				e.add(Line{p.componentName(g), CatCloudWatch, fmt.Sprintf("streaming metrics, 1-second resolution (%s)", strings.Join(m, ", ")), float64(len(m)), "metric", pr.MetricMonth})
			}
		}
	}
	groups := p.r.OfType(typeLogGroup)
	if len(groups) == 0 || logShippers == 0 {
		return
	}
	retention := 0.0
	for _, g := range groups {
		retention = math.Max(retention, g.Num("retentionInDays"))
	}
	months := 12.0 // never expire: a year's worth
	if retention > 0 {
		months = retention / 30
	}
	c := p.componentName(groups[0])
	gb := logShippers * e.Assume.LogGBPerInstance
	e.add(Line{c, CatCloudWatch, fmt.Sprintf("log ingestion (assumed %g GB per instance)", e.Assume.LogGBPerInstance), gb, "GB", pr.LogIngestGB})
	e.add(Line{c, CatCloudWatch, fmt.Sprintf("log storage, %g days kept", retention), gb * months, "GB-month", pr.LogStorageGBMonth})
}
