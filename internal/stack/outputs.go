package stack

import (
	"sort"

	"github.com/ams-cluster/ams-aws/components"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Outputs are the stack outputs by name.
type Outputs map[string]pulumi.Output

// Names returns the output names in order.
func (o Outputs) Names() []string {
	names := make([]string, 0, len(o))
	for name := range o {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// demoApp is the application the seed's "Test Fly" section publishes and plays with.
const demoApp = "WebRTCAppEE"

func newOutputs(cfg *Config, lb *components.StreamingLoadBalancer, mongo *components.MongoNode,
	groups map[components.Role]*components.ScalingGroup, panelPassword pulumi.StringOutput, panelParameter pulumi.StringOutput,
) Outputs {
	https := cfg.HTTPSEnabled()
	host := cfg.publicHost(lb.DNSName)
	scheme, publishPort, playPort := "http", "", ":5080"
	httpsStatus := "disabled: only HTTP listeners 80 (publish) and 5080 (play) exist. Browsers allow camera capture " +
		"only on HTTPS, so set ams-cluster:domainName and ams-cluster:hostedZoneId (or ams-cluster:certificateArn) to publish from a web page."
	if https {
		scheme, playPort = "https", ":5443"
		httpsStatus = "enabled: 443 (publish) and 5443 (play) terminate TLS with the configured certificate."
	}
	email := cfg.PanelAdminEmail
	if email == "" {
		email = "admin@ams.local"
	}
	panelURL := pulumi.Sprintf("%s://%s%s/", scheme, host, publishPort)
	out := Outputs{
		"loadBalancerDnsName": lb.DNSName,
		"publishUrl":          pulumi.Sprintf("%s://%s%s/%s/", scheme, host, publishPort, demoApp),
		"playUrl":             pulumi.Sprintf("%s://%s%s/%s/", scheme, host, playPort, demoApp),
		"panelUrl":            panelURL,
		"panelLogin": pulumi.Sprintf("Open %s and log in as %s; the password is printed by "+
			"`pulumi stack output panelAdminPassword --show-secrets`.", panelURL, email),
		"panelAdminEmail":             pulumi.String(email).ToStringOutput(),
		"panelAdminPassword":          pulumi.ToSecret(panelPassword),
		"panelAdminPasswordParameter": panelParameter,
		"https":                       pulumi.String(httpsStatus).ToStringOutput(),
		"originGroupName":             groups[components.RoleOrigin].GroupName,
		"edgeGroupName":               groups[components.RoleEdge].GroupName,
	}
	if mongo == nil {
		// No MongoDB of the stack's: the external database's parameter instead.
		out["databaseUrlParameter"] = pulumi.String(cfg.DatabaseURLParameter).ToStringOutput()
		return out
	}
	out["mongoPrivateIp"] = mongo.PrivateIP
	out["mongoUrlParameter"] = mongo.ConnectionURLParameterName
	return out
}
