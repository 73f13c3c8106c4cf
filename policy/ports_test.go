package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// TestPackPublicPortsFollowTheStackConfiguration configures the pack for a
// stack without ingest and with a non-default WebRTC range, as `pulumi
// preview --policy-pack policy` does with the stack's configuration, and
// checks which world-open ingress rules it lets through.
func TestPackPublicPortsFollowTheStackConfiguration(t *testing.T) {
	for _, tc := range []struct {
		name    string
		config  map[string]string
		allowed map[string]bool // "proto from-to" -> allowed
	}{
		{"defaults", nil, map[string]bool{
			"tcp 1935-1935": true, "udp 4200-4200": true, "udp 50000-60000": true, "udp 40000-41000": false, "tcp 443-443": true, "tcp 22-22": false,
		}},
		{"no ingest, WebRTC on 40000-41000", map[string]string{
			"ams-cluster:ingest": "false", "ams-cluster:webrtcPortMin": "40000", "ams-cluster:webrtcPortMax": "41000",
		}, map[string]bool{
			"tcp 1935-1935": false, "udp 4200-4200": false, "udp 50000-60000": false, "udp 40000-41000": true, "udp 40500-40600": true,
			"udp 40000-41001": false, "tcp 443-443": true,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			client := startPack(t)
			dir := "."
			if _, err := client.Handshake(ctx, &pulumirpc.AnalyzerHandshakeRequest{RootDirectory: &dir, ProgramDirectory: &dir}); err != nil {
				t.Fatal(err)
			}
			if _, err := client.ConfigureStack(ctx, &pulumirpc.AnalyzerStackConfigureRequest{Stack: "prod", Project: "ams-cluster", Config: tc.config}); err != nil {
				t.Fatalf("ConfigureStack: %v", err)
			}
			for rule, allowed := range tc.allowed {
				var proto string
				var from, to float64
				if _, err := fmt.Sscanf(rule, "%s %v-%v", &proto, &from, &to); err != nil {
					t.Fatal(err)
				}
				props, err := plugin.MarshalProperties(resource.PropertyMap{
					"cidrIpv4": resource.NewProperty("0.0.0.0/0"), "ipProtocol": resource.NewProperty(proto),
					"fromPort": resource.NewProperty(from), "toPort": resource.NewProperty(to),
				}, plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true})
				if err != nil {
					t.Fatal(err)
				}
				typ := "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
				resp, err := client.Analyze(ctx, &pulumirpc.AnalyzeRequest{Type: typ, Name: "rule", Urn: "urn:pulumi:prod::ams-cluster::" + typ + "::rule", Properties: props})
				if err != nil {
					t.Fatalf("Analyze: %v", err)
				}
				if got := len(resp.GetDiagnostics()) == 0; got != allowed {
					t.Errorf("%s open to the world: allowed %v, want %v (%v)", rule, got, allowed, resp.GetDiagnostics())
				}
			}
		})
	}
}
