package stack

import (
	"sort"
	"strings"

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
		"loadBalancerDnsName":         lb.DNSName,
		"publishUrl":                  pulumi.Sprintf("%s://%s%s/%s/", scheme, host, publishPort, demoApp),
		"playUrl":                     pulumi.Sprintf("%s://%s%s/%s/", scheme, host, playPort, demoApp),
		"panelUrl":                    panelURL,
		"panelLogin":                  panelLogin(cfg, panelURL, email, groups[components.RoleOrigin].GroupName),
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

// panelLogin says how to reach the web panel: from adminCidrs through the
// load balancer, or, with none, through a Session Manager port forward to
// an origin node (its role allows Session Manager), never the internet.
func panelLogin(cfg *Config, panelURL pulumi.StringOutput, email string, originGroup pulumi.StringOutput) pulumi.StringOutput {
	password := "the password is printed by `pulumi stack output panelAdminPassword --show-secrets`."
	if len(cfg.AdminCIDRs) > 0 {
		return pulumi.Sprintf("From %s, open %s and log in as %s; %s", strings.Join(cfg.AdminCIDRs, ", "), panelURL, email, password)
	}
	return pulumi.Sprintf("The panel is not reachable through the load balancer (adminCidrs is empty). Forward it from an origin node "+
		"with Session Manager: `aws ssm start-session --target $(aws autoscaling describe-auto-scaling-groups "+
		"--auto-scaling-group-names %s --query 'AutoScalingGroups[0].Instances[0].InstanceId' --output text) "+
		"--document-name AWS-StartPortForwardingSession --parameters portNumber=5080,localPortNumber=5080`, "+
		"then open http://localhost:5080/ and log in as %s; %s", originGroup, email, password)
}
