package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/ams-cluster/ams-aws/policy/rules"
)

// serveEnv makes the test binary act as the policy pack, so that the tests
// can talk to it over the analyzer protocol as the engine does.
const serveEnv = "AMS_POLICY_PACK_SERVE"

func TestMain(m *testing.M) {
	if os.Getenv(serveEnv) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// startPack runs the pack in a child process and connects to it.
func startPack(t *testing.T) pulumirpc.AnalyzerClient {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), serveEnv+"=1")
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	port := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		port <- strings.TrimSpace(line)
	}()
	var addr string
	select {
	case p := <-port:
		addr = "127.0.0.1:" + p
	case <-time.After(30 * time.Second):
		t.Fatal("policy pack did not print its port within 30s")
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return pulumirpc.NewAnalyzerClient(conn)
}

// TestPackOverAnalyzerProtocol drives the pack the way `pulumi preview
// --policy-pack policy` does: handshake, configure the stack, read the
// policies, analyze resources.
func TestPackOverAnalyzerProtocol(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := startPack(t)
	dir := "."
	if _, err := client.Handshake(ctx, &pulumirpc.AnalyzerHandshakeRequest{RootDirectory: &dir, ProgramDirectory: &dir}); err != nil {
		t.Fatalf("Handshake: %v", err)
	}
	if _, err := client.ConfigureStack(ctx, &pulumirpc.AnalyzerStackConfigureRequest{Stack: "dev", Project: "ams-cluster"}); err != nil {
		t.Fatalf("ConfigureStack: %v", err)
	}
	info, err := client.GetAnalyzerInfo(ctx, &emptypb.Empty{})
	if err != nil {
		t.Fatalf("GetAnalyzerInfo: %v", err)
	}
	if info.GetName() != packName || info.GetVersion() != packVersion {
		t.Errorf("GetAnalyzerInfo: want pack %s %s, got %s %s", packName, packVersion, info.GetName(), info.GetVersion())
	}
	var names []string
	for _, p := range info.GetPolicies() {
		names = append(names, p.GetName())
		if p.GetEnforcementLevel() != pulumirpc.EnforcementLevel_MANDATORY {
			t.Errorf("policy %s: want enforcement level MANDATORY, got %v", p.GetName(), p.GetEnforcementLevel())
		}
	}
	for _, r := range rules.All() {
		if !slices.Contains(names, r.Name) {
			t.Errorf("GetAnalyzerInfo: want policy %s, got %v", r.Name, names)
		}
	}

	unknown := resource.MakeComputed(resource.NewProperty(""))
	cases := []struct {
		name       string
		typ        string
		props      resource.PropertyMap
		protect    bool
		want       []string // policy names, one diagnostic each, in any order
		wantInText []string
		hide       string
	}{
		{name: "unencrypted unprotected volume", typ: "aws:ebs/volume:Volume",
			props: resource.PropertyMap{"encrypted": resource.NewProperty(false), "size": resource.NewProperty(20.0)},
			want:  []string{rules.EncryptedVolumes, rules.StatefulResourcesProtected}, wantInText: []string{`"data"`, "encrypted is false", "protect is false"}},
		{name: "encrypted protected volume", typ: "aws:ebs/volume:Volume", protect: true,
			props: resource.PropertyMap{"encrypted": resource.NewProperty(true)}},
		{name: "secret world cidr on ssh", typ: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
			props: resource.PropertyMap{
				"cidrIpv4": resource.MakeSecret(resource.NewProperty("0.0.0.0/0")), "ipProtocol": resource.NewProperty("tcp"),
				"fromPort": resource.NewProperty(22.0), "toPort": resource.NewProperty(22.0),
			},
			want: []string{rules.NoPublicIngress}, wantInText: []string{"cidrIpv4 [secret]", "tcp 22"}, hide: "0.0.0.0/0"},
		{name: "unknown ports during preview", typ: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
			props: resource.PropertyMap{
				"cidrIpv4": resource.NewProperty("0.0.0.0/0"), "ipProtocol": resource.NewProperty("tcp"),
				"fromPort": unknown, "toPort": unknown,
			}},
		{name: "secret user data with a password", typ: "aws:ec2/launchTemplate:LaunchTemplate",
			props: resource.PropertyMap{
				"userData":            resource.MakeSecret(resource.NewProperty("ADMIN_PASSWORD=hunter2\n")),
				"metadataOptions":     resource.NewProperty(resource.PropertyMap{"httpTokens": resource.NewProperty("required")}),
				"blockDeviceMappings": resource.NewProperty([]resource.PropertyValue{resource.NewProperty(resource.PropertyMap{"ebs": resource.NewProperty(resource.PropertyMap{"encrypted": resource.NewProperty("true")})})}),
			},
			want: []string{rules.NoPlaintextSecretInUserData, rules.NoPlaintextSecretInUserData}, wantInText: []string{"userData is [secret]", "ADMIN_PASSWORD"}, hide: "hunter2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			props, err := plugin.MarshalProperties(tc.props, plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true})
			if err != nil {
				t.Fatal(err)
			}
			urn := "urn:pulumi:dev::ams-cluster::" + tc.typ + "::data"
			resp, err := client.Analyze(ctx, &pulumirpc.AnalyzeRequest{
				Type: tc.typ, Name: "data", Urn: urn, Properties: props,
				Options: &pulumirpc.AnalyzerResourceOptions{Protect: tc.protect},
			})
			if err != nil {
				t.Fatalf("Analyze: want diagnostics, got error %v", err)
			}
			var got []string
			var text strings.Builder
			for _, d := range resp.GetDiagnostics() {
				got = append(got, d.GetPolicyName())
				// The server puts the policy's description before the message.
				text.WriteString(strings.TrimPrefix(d.GetMessage(), d.GetDescription()+"\n") + "\n")
				if d.GetEnforcementLevel() != pulumirpc.EnforcementLevel_MANDATORY || d.GetUrn() != urn {
					t.Errorf("diagnostic %s: want MANDATORY on %s, got %v on %q", d.GetPolicyName(), urn, d.GetEnforcementLevel(), d.GetUrn())
				}
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tc.want))
			if !slices.Equal(got, want) {
				t.Errorf("Analyze: want violations of %v, got %v:\n%s", want, got, text.String())
			}
			for _, s := range tc.wantInText {
				if !strings.Contains(text.String(), s) {
					t.Errorf("Analyze: want the messages to mention %q, got:\n%s", s, text.String())
				}
			}
			if tc.hide != "" && strings.Contains(text.String(), tc.hide) {
				t.Errorf("Analyze: messages print the secret %q:\n%s", tc.hide, text.String())
			}
		})
	}
}
