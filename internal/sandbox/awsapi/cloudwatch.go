package awsapi

import (
	"strconv"
)

// MetricDatum is one value a node put with CloudWatch PutMetricData.
type MetricDatum struct {
	Namespace, Name string
	// Dimensions are the datum's dimensions by name.
	Dimensions map[string]string
	Value      float64
	// StorageResolution is 1 (high resolution) or 60.
	StorageResolution int
	// Principal is the caller's assumed-role ARN.
	Principal string
}

// Metrics lists the metric data put so far, in order.
func (a *AWS) Metrics() []MetricDatum {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]MetricDatum(nil), a.metrics...)
}

// cloudwatch serves the CloudWatch Query API operation a node calls
// (CloudWatch API reference, PutMetricData, version 2010-08-01). The
// action has no resource type; its condition key is cloudwatch:namespace
// (Service Authorization Reference for Amazon CloudWatch).
func (a *AWS) cloudwatch(q *apiRequest, op string) (any, *apiError) {
	if q.form.Get("Version") != "2010-08-01" {
		return nil, &apiError{"InvalidAction", "Could not find operation " + op + " for version " + q.form.Get("Version")}
	}
	if op != "PutMetricData" {
		return nil, &apiError{"InvalidAction", "The action " + op + " is not valid for this web service."}
	}
	ns := q.form.Get("Namespace")
	keys := conditionKeys{}
	keys.set("cloudwatch:namespace", ns)
	if aerr := q.authorize("cloudwatch:PutMetricData", "*", keys); aerr != nil {
		return nil, aerr
	}
	if ns == "" {
		return nil, &apiError{"MissingParameter", "The parameter Namespace is required."}
	}
	if len(ns) >= 4 && ns[:4] == "AWS/" {
		return nil, &apiError{"InvalidParameterValue", "The value AWS/ for parameter Namespace is invalid."}
	}
	var data []MetricDatum
	for i := 1; ; i++ {
		p := "MetricData.member." + strconv.Itoa(i) + "."
		name := q.form.Get(p + "MetricName")
		if name == "" {
			break
		}
		v, err := strconv.ParseFloat(q.form.Get(p+"Value"), 64)
		if err != nil {
			return nil, &apiError{"InvalidParameterValue", "The value for parameter MetricData.member." + strconv.Itoa(i) + ".Value is invalid."}
		}
		res := 60
		if r := q.form.Get(p + "StorageResolution"); r != "" {
			if res, err = strconv.Atoi(r); err != nil || (res != 1 && res != 60) {
				return nil, &apiError{"InvalidParameterValue", "StorageResolution must be 1 or 60."}
			}
		}
		d := MetricDatum{Namespace: ns, Name: name, Value: v, StorageResolution: res, Dimensions: map[string]string{}, Principal: q.call.Principal}
		for j := 1; q.form.Has(p + "Dimensions.member." + strconv.Itoa(j) + ".Name"); j++ {
			dp := p + "Dimensions.member." + strconv.Itoa(j) + "."
			d.Dimensions[q.form.Get(dp+"Name")] = q.form.Get(dp + "Value")
		}
		data = append(data, d)
	}
	if len(data) == 0 {
		return nil, &apiError{"MissingParameter", "The parameter MetricData is required."}
	}
	a.metrics = append(a.metrics, data...)
	return "", nil
}
