package components

import (
	"encoding/json"
	"testing"
)

// Elastic Load Balancing writes access logs as the region's ELB account where
// there is one, and as the log delivery service in the newer regions.
func TestLogDeliveryPrincipalFollowsTheRegion(t *testing.T) {
	for region, want := range map[string]string{
		"eu-central-1":   `{"AWS":"arn:aws:iam::054676820928:root"}`,
		"us-east-1":      `{"AWS":"arn:aws:iam::127311923021:root"}`,
		"ap-southeast-4": `{"Service":"logdelivery.elasticloadbalancing.amazonaws.com"}`, // Melbourne, 2023
		"eu-central-2":   `{"Service":"logdelivery.elasticloadbalancing.amazonaws.com"}`, // Zurich, November 2022
		"ca-west-1":      `{"Service":"logdelivery.elasticloadbalancing.amazonaws.com"}`,
	} {
		b, _ := json.Marshal(elbLogDeliveryPrincipal("aws", region))
		if string(b) != want {
			t.Errorf("%s: principal %s, want %s", region, b, want)
		}
	}
}
