package stack

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ams-cluster/ams-aws/components"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// TurnConfig is the configuration of the TURN relay (issue 18, item 4).
type TurnConfig struct {
	// Turn adds a TurnServer. Key turn, default false.
	Turn bool
	// TurnNodes is the number of TURN nodes; 0 is one, or one per zone on a
	// production stack (requireHttps). Key turnNodes.
	TurnNodes int
	// TurnInstanceType is the TURN nodes' instance type. Key turnInstanceType.
	TurnInstanceType string
	// TurnRelayPortMin and TurnRelayPortMax bound the relayed UDP ports.
	// Key turnRelayPorts, "MIN-MAX".
	TurnRelayPortMin, TurnRelayPortMax int
	// TurnMaxAllocations caps each node's relay allocations. Key turnMaxAllocations.
	TurnMaxAllocations int
}

// turnKeys maps the TurnServer's fields to configuration keys.
var turnKeys = map[string]string{
	"Nodes": "turnNodes", "InstanceType": "turnInstanceType", "RelayPortMin": "turnRelayPorts",
	"RelayPortMax": "turnRelayPorts", "MaxAllocations": "turnMaxAllocations", "ZoneCount": "zoneCount",
	"VpcCIDR": "vpcCidr", "Domain.HostedZoneID": "hostedZoneId", "Domain.Name": "domainName",
	"Domain.TLSName": "domainName", "Domain.TLSPolicy": "tlsPolicy",
}

// turn reads the TURN keys and checks them against the domain (read before).
func (r *reader) turn(c *Config) TurnConfig {
	t := TurnConfig{
		Turn:               r.boolean("turn"),
		TurnNodes:          r.integer("turnNodes"),
		TurnInstanceType:   r.str("turnInstanceType"),
		TurnMaxAllocations: r.integer("turnMaxAllocations"),
	}
	if ports := r.str("turnRelayPorts"); ports != "" {
		lo, hi, ok := strings.Cut(ports, "-")
		min, errMin := strconv.Atoi(strings.TrimSpace(lo))
		max, errMax := strconv.Atoi(strings.TrimSpace(hi))
		if !ok || errMin != nil || errMax != nil {
			r.fail("turnRelayPorts", ports, "a UDP port range MIN-MAX such as 49152-65535")
		} else {
			t.TurnRelayPortMin, t.TurnRelayPortMax = min, max
		}
	}
	// The TLS name is the subject of an ACM certificate of its own.
	if tlsName := components.TurnTLSHostName(c.DomainName); t.Turn && c.DomainName != "" && len(tlsName) > components.ACMMaxDomainLength {
		r.fail("domainName", c.DomainName, fmt.Sprintf("at most %d characters with turn on: TURN over TLS gets a certificate for %s, and ACM takes at most %d",
			components.ACMMaxDomainLength-len(tlsName)+len(c.DomainName), tlsName, components.ACMMaxDomainLength))
	}
	return t
}

// prodLike tells a production stack: one that requires HTTPS.
func (c *Config) prodLike() bool { return c.RequireHTTPS }

func (c *Config) turnArgs(w wiring) *components.TurnServerArgs {
	nodes := c.TurnNodes
	if nodes == 0 && c.prodLike() {
		nodes = c.zones()
	}
	vpcCIDR := c.VpcCIDR
	if vpcCIDR == "" {
		vpcCIDR = defaultVpcCIDR
	}
	return &components.TurnServerArgs{
		VpcID:          w.vpcID,
		VpcCIDR:        vpcCIDR,
		SubnetIDs:      w.subnetIDs,
		ZoneCount:      c.zones(),
		Nodes:          nodes,
		EveryZone:      c.prodLike(),
		InstanceType:   c.TurnInstanceType,
		RelayPortMin:   c.TurnRelayPortMin,
		RelayPortMax:   c.TurnRelayPortMax,
		MaxAllocations: c.TurnMaxAllocations,
		Domain:         c.turnDomain(),
		Tags:           c.tags(),
	}
}

// turnDomain names the TURN nodes under the stack's domain (turn.<domain>,
// every node's address) and serves TURN over TLS as turns.<domain>, whose
// certificate buildTurn requests; nil without a domain (certificateArn
// alone names no host, so it gives no TLS).
func (c *Config) turnDomain() *components.TurnDomain {
	if c.DomainName == "" {
		return nil
	}
	return &components.TurnDomain{
		HostedZoneID: c.HostedZoneID,
		Name:         components.TurnHostName(c.DomainName),
		TLSName:      components.TurnTLSHostName(c.DomainName),
		TLSPolicy:    c.TLSPolicy,
		// The stack's load balancers are protected alike.
		DeletionProtection: c.DeletionProtection,
	}
}

// defaultVpcCIDR is the Network's default VPC range (Pulumi.yaml's vpcCidr).
const defaultVpcCIDR = "10.20.0.0/16"

// buildTurn creates the TurnServer when turn is on, and adds its address
// and credential to the applications' managed settings (w.appSettings,
// built before the groups that apply them).
func buildTurn(ctx *pulumi.Context, base string, cfg *Config, w wiring) (*components.TurnServer, error) {
	if !cfg.Turn {
		return nil, nil
	}
	args := cfg.turnArgs(w)
	if args.Domain != nil {
		// A certificate of its own: a name added to the domain's
		// certificate would replace it (ACM cannot change an issued
		// certificate's names).
		cert, err := components.NewDomainCertificate(ctx, base+"-turn-certificate", &components.DomainCertificateArgs{
			DomainName: args.Domain.TLSName, HostedZoneID: args.Domain.HostedZoneID, Tags: cfg.tags(),
		})
		if err != nil {
			return nil, fmt.Errorf("turn: %w", err)
		}
		args.Domain.CertificateArn = cert.CertificateArn
	}
	turn, err := components.NewTurnServer(ctx, base+"-turn", args)
	if err != nil {
		return nil, fmt.Errorf("turn: %w", err)
	}
	if w.appSettings != nil {
		w.appSettings.Extra = append(w.appSettings.Extra, turnSettings(turn)...)
	}
	return turn, nil
}

// turnSettings are the applications' TURN fields (Ant Media 3.0.x
// AppSettings.java: stunServerURI, which takes a turn: URI,
// turnServerUsername and turnServerCredential). The credential is named by
// its SecureString parameter: the AMS nodes read it when they apply the
// settings, and its value never reaches user data or the settings document.
func turnSettings(turn *components.TurnServer) []components.AppSetting {
	return []components.AppSetting{
		{Name: "stunServerURI", Value: turn.ServerURI},
		{Name: "turnServerUsername", Value: turn.User},
		{Name: "turnServerCredential", Secret: &components.SecretParameter{Name: turn.PasswordParameterName, Arn: turn.PasswordParameterArn}},
	}
}

// addTurnOutputs exports the TURN URIs, the user, and where its password is.
func addTurnOutputs(out Outputs, turn *components.TurnServer) {
	if turn == nil {
		return
	}
	out["turnUris"] = turn.URIs
	out["turnUsername"] = turn.User
	out["turnPasswordParameter"] = turn.PasswordParameterName
	out["turnPassword"] = turn.Password
}
