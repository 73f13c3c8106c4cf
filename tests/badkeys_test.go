package tests

import (
	"regexp"
	"strings"
	"testing"
)

// componentFields are argument names of the components that a message
// about a configuration key must not use: the reader knows keys, not fields.
var componentFields = regexp.MustCompile(`\b(ZoneCount|CidrBlock|DeregistrationDelaySeconds|HealthCheckTimeoutSeconds|HealthCheckIntervalSeconds|` +
	`WarmPoolSize|WebRTCPortMin|WebRTCPortMax|InstanceType|MinSize|MaxSize|CPUTargetPercent|DrainSeconds|AdminCIDRs?|CertificateArn|` +
	`DomainName|HostedZoneID|Network|ScalingGroup|StreamingLoadBalancer|NodeSecurityGroup|MongoNode)\b`)

// keyMessages splits a refused configuration's message into its lines about
// keys, by key: "ams-cluster:<key> = <value> is not valid; accepted: ...".
func keyMessages(t *testing.T, msg string) map[string][]string {
	t.Helper()
	line := regexp.MustCompile(`^ams-cluster:([A-Za-z0-9]+) = (.*) is not valid; accepted: (.+)$`)
	out := map[string][]string{}
	for _, l := range strings.Split(msg, "\n") {
		if m := line.FindStringSubmatch(strings.TrimSpace(l)); m != nil {
			out[m[1]] = append(out[m[1]], l)
		}
	}
	return out
}

// TestEveryBadKeyIsReportedOnceUnderItsName sets many bad keys together:
// each is reported, once, under its own key with what it accepts, in the
// configuration's words, and no other key is blamed.
func TestEveryBadKeyIsReportedOnceUnderItsName(t *testing.T) {
	for _, tc := range []struct {
		name   string
		config map[string]string
		bad    []string
	}{
		{"issue 17's rows", map[string]string{
			"zoneCount": "7", "vpcCidr": "10.0.0.0/8",
			"domainName": "bad_name..example", "hostedZoneId": "nope",
			"drainSeconds":           "-1",
			"adminCidr":              "0.0.0.0/1",
			"adminCidrs":             `["10.0.0.0/8"]`,
			"webrtcPortMin":          "1024",
			"webrtcPortMax":          "65535",
			"databaseUrlParameter":   "/ams-cluster/prod/mongo/admin-password",
			"edgeInstanceType":       "foo.bar",
			"originWarmPoolSize":     "5",
			"originCpuTargetPercent": "0",
		}, []string{"zoneCount", "vpcCidr", "domainName", "hostedZoneId", "drainSeconds", "adminCidr", "adminCidrs", "webrtcPortMax",
			"databaseUrlParameter", "edgeInstanceType", "originWarmPoolSize", "originCpuTargetPercent"}},
		{"zones the region lacks, a certificate of another region, zeros", map[string]string{
			"zoneCount":                  "6",
			"certificateArn":             "arn:aws:acm:us-east-1:123456789012:certificate/0f3c2d1e-4b5a-4c6d-8e7f-9a0b1c2d3e4f",
			"webrtcPortMin":              "4000",
			"webrtcPortMax":              "6000",
			"healthyThreshold":           "0",
			"idleTimeoutSeconds":         "0",
			"edgeCpuTargetPercent":       "0",
			"healthCheckIntervalSeconds": "4",
			"mongoInstanceType":          "m5.huge",
			"originInstanceType":         "c7g.xlarge",
		}, []string{"zoneCount", "certificateArn", "webrtcPortMax", "healthyThreshold", "idleTimeoutSeconds", "edgeCpuTargetPercent",
			"healthCheckIntervalSeconds", "mongoInstanceType", "originInstanceType"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := rejectedConfig(t, tc.config, nil)
			got := keyMessages(t, msg)
			for _, key := range tc.bad {
				lines := got[key]
				if len(lines) != 1 {
					t.Errorf("%s: %d messages, want 1: %q", key, len(lines), lines)
					continue
				}
				if f := componentFields.FindString(lines[0]); f != "" {
					t.Errorf("%s: the message names the component's %s: %s", key, f, lines[0])
				}
			}
			for key, lines := range got {
				if !contains(tc.bad, key) {
					t.Errorf("%s is blamed, but it is not one of the bad keys: %q", key, lines)
				}
			}
			if n := strings.Count(msg, " is not valid; "); n != len(tc.bad) {
				t.Errorf("%d messages for %d bad keys:\n%s", n, len(tc.bad), msg)
			}
		})
	}
}

// TestAcceptedSettingsNearTheGuardrails: the bounds are bounds, not more.
func TestAcceptedSettingsNearTheGuardrails(t *testing.T) {
	for name, config := range map[string]map[string]string{
		"a /16 admin network":                 {"adminCidr": "10.1.0.0/16", "adminCidrs": `["10.2.0.0/16"]`},
		"a wide admin network, said":          {"adminCidr": "10.0.0.0/8", "adminCidrs": `["10.0.0.0/8"]`, "allowWideAdminCidrs": "true"},
		"WebRTC from 30000 to 50000":          {"webrtcPortMin": "30000", "webrtcPortMax": "50000"},
		"a 5 s health check":                  {"healthCheckIntervalSeconds": "5"},
		"no warm pool in a fixed-size group":  {"originMinSize": "2", "originMaxSize": "2", "originDesiredCapacity": "2", "originWarmPoolSize": "0"},
		"a certificate of the stack's region": {"certificateArn": testCertificate},
		"newer instance types":                {"originInstanceType": "c7i.2xlarge", "edgeInstanceType": "m7i-flex.large", "mongoInstanceType": "r6id.metal"},
	} {
		t.Run(name, func(t *testing.T) {
			if r := runProgram(t, stackConfig(t, "Pulumi.dev.yaml", config)); r.err != nil {
				t.Errorf("refused: %v", r.err)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
