package tests

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ams-cluster/ams-aws/internal/stack"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/internals"
	"gopkg.in/yaml.v3"
)

const (
	project   = "ams-cluster"
	account   = "123456789012"
	region    = "eu-central-1"
	ubuntuAMI = "ami-0b5f1c2d3e4a59687"
	armAMI    = "ami-0c6a2b3d4e5f60718"
	amsAMI    = "ami-0a1b2c3d4e5f67890"
	// amsArmAMI is a pinned arm64 Ant Media Server image (a custom build).
	amsArmAMI = "ami-0d4e5f6a7b8c9d0e1"
)

// registered is one resource the program registered, as the engine saw it.
type registered struct {
	Type, Name, URN, ID string
	Custom              bool
	Inputs              resource.PropertyMap
	State               resource.PropertyMap
	Parent              string
	Protect             bool
	RetainOnDelete      bool
	DeleteBeforeReplace bool
	IgnoreChanges       []string
	Dependencies        []string
	SecretOutputs       []string
	// AliasNames are the names of the resource's aliases (its former names).
	AliasNames []string
}

// input returns an input by dotted path ("healthCheck.path").
func (r *registered) input(path string) resource.PropertyValue {
	return lookup(resource.NewProperty(r.Inputs), path)
}

func lookup(v resource.PropertyValue, path string) resource.PropertyValue {
	for _, part := range strings.Split(path, ".") {
		v = unsecret(v)
		switch {
		case v.IsObject():
			v = v.ObjectValue()[resource.PropertyKey(part)]
		case v.IsArray():
			i, err := strconv.Atoi(part)
			if err != nil || i >= len(v.ArrayValue()) {
				return resource.NewNullProperty()
			}
			v = v.ArrayValue()[i]
		default:
			return resource.NewNullProperty()
		}
	}
	return v
}

func unsecret(v resource.PropertyValue) resource.PropertyValue {
	for v.IsSecret() {
		v = v.SecretValue().Element
	}
	return v
}

func (r *registered) str(path string) string {
	v := unsecret(r.input(path))
	if v.IsString() {
		return v.StringValue()
	}
	if v.IsNumber() {
		return strconv.FormatFloat(v.NumberValue(), 'f', -1, 64)
	}
	if v.IsBool() {
		return strconv.FormatBool(v.BoolValue())
	}
	return ""
}

// expectInputs fails the test for every input path of res whose value is not the one wanted.
func expectInputs(t *testing.T, res *registered, want map[string]string) {
	t.Helper()
	for _, path := range keys(want) {
		if got := res.str(path); got != want[path] {
			t.Errorf("%s %s: %s = %q, want %q", res.Type, res.Name, path, got, want[path])
		}
	}
}

func (r *registered) num(path string) float64 {
	v := unsecret(r.input(path))
	if v.IsNumber() {
		return v.NumberValue()
	}
	return -1
}

// run is one execution of the stack program under mocks.
type run struct {
	resources []*registered
	calls     []pulumi.MockCallArgs
	outputs   map[string]internals.UnsafeAwaitOutputResult
	passwords []string
	err       error
}

// mocks answers like AWS: realistic IDs, ARNs, addresses and image look-ups.
type mocks struct {
	mu        sync.Mutex
	resources []*registered
	calls     []pulumi.MockCallArgs
	subnets   map[string]resource.PropertyMap
	passwords []string
	// retained are values that SSM parameters (by name) keep in their state
	// whatever the program's inputs say, as the engine keeps an ignored
	// property of an existing resource.
	retained map[string]string
}

func newMocks() *mocks {
	return &mocks{subnets: map[string]resource.PropertyMap{}, retained: map[string]string{}}
}

func (m *mocks) hex(seed string, n int) string {
	sum := sha256.Sum256([]byte(seed))
	return hex.EncodeToString(sum[:])[:n]
}

// byte derives a stable number from 1 to 250 from seed.
func (m *mocks) byte(seed string) byte {
	sum := sha256.Sum256([]byte(seed))
	return 1 + sum[0]%250
}

// addressIn picks a stable address for seed inside a subnet the mock created,
// or in the default VPC's range for subnets it does not know.
func (m *mocks) addressIn(subnetID, seed string) string {
	prefix := netip.MustParsePrefix("172.31.0.0/20")
	if s, ok := m.subnets[subnetID]; ok {
		prefix = netip.MustParsePrefix(unsecret(s["cidrBlock"]).StringValue())
	}
	a := prefix.Addr().As4()
	a[3] = 10 + m.byte(seed)%200
	return netip.AddrFrom4(a).String()
}

func (m *mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	in := args.Inputs
	state := in.Copy()
	set := func(k string, v any) { state[resource.PropertyKey(k)] = resource.NewPropertyValue(v) }
	str := func(k string) string {
		v := unsecret(in[resource.PropertyKey(k)])
		if v.IsString() {
			return v.StringValue()
		}
		return ""
	}
	h := m.hex(args.TypeToken+"/"+args.Name, 17)
	physical := args.Name + "-" + h[:7]
	id := h
	arn := func(service, rest string) string {
		return fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, region, account, rest)
	}
	switch args.TypeToken {
	case "aws:ec2/vpc:Vpc":
		id = "vpc-" + h
		set("arn", arn("ec2", "vpc/"+id))
	case "aws:ec2/subnet:Subnet":
		id = "subnet-" + h
		set("arn", arn("ec2", "subnet/"+id))
		m.subnets[id] = state
	case "aws:ec2/internetGateway:InternetGateway":
		id = "igw-" + h
	case "aws:ec2/routeTable:RouteTable":
		id = "rtb-" + h
	case "aws:ec2/routeTableAssociation:RouteTableAssociation":
		id = "rtbassoc-" + h
	case "aws:ec2/securityGroup:SecurityGroup":
		id = "sg-" + h
		set("arn", arn("ec2", "security-group/"+id))
		set("name", physical)
	case "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule":
		id = "sgr-" + h
	case "aws:ec2/networkInterface:NetworkInterface":
		id = "eni-" + h
		set("privateIp", m.addressIn(str("subnetId"), args.Name))
	case "aws:ec2/eip:Eip":
		id = "eipalloc-" + h
		set("publicIp", fmt.Sprintf("3.120.%d.%d", m.byte(args.Name+"a"), m.byte(args.Name+"b")))
	case "aws:ebs/volume:Volume":
		id = "vol-" + h
		set("arn", arn("ec2", "volume/"+id))
	case "aws:ec2/instance:Instance":
		id = "i-" + h
		set("arn", arn("ec2", "instance/"+id))
		set("privateIp", m.addressIn(str("subnetId"), args.Name))
	case "aws:ec2/volumeAttachment:VolumeAttachment":
		id = "vai-" + m.hex(args.Name, 10)
	case "aws:ec2/keyPair:KeyPair":
		id = physical
		set("keyName", physical)
	case "aws:ec2/launchTemplate:LaunchTemplate":
		id = "lt-" + h
		set("latestVersion", 1)
		set("arn", arn("ec2", "launch-template/"+id))
	case "aws:iam/role:Role":
		id = physical
		set("name", physical)
		set("arn", fmt.Sprintf("arn:aws:iam::%s:role/%s", account, physical))
	case "aws:iam/instanceProfile:InstanceProfile":
		id = physical
		set("name", physical)
		set("arn", fmt.Sprintf("arn:aws:iam::%s:instance-profile/%s", account, physical))
	case "aws:ssm/parameter:Parameter":
		id = str("name")
		set("arn", arn("ssm", "parameter/"+strings.TrimPrefix(id, "/")))
		set("version", 1)
		if v, ok := m.retained[id]; ok {
			set("insecureValue", v)
		}
	case "random:index/randomPassword:RandomPassword":
		length, _ := strconv.Atoi(fmt.Sprint(unsecret(in["length"]).NumberValue()))
		pw := strings.Repeat("Pw"+m.hex(args.Name, 30), length/32+1)[:length]
		m.passwords = append(m.passwords, pw)
		set("result", pw)
	case "aws:lb/loadBalancer:LoadBalancer":
		name := physical
		id = arn("elasticloadbalancing", "loadbalancer/app/"+name+"/"+h[:16])
		set("arn", id)
		set("dnsName", fmt.Sprintf("%s-%d.%s.elb.amazonaws.com", name, 1000000000+int(m.byte(name))*1000, region))
		set("zoneId", "Z215JYRZR1TBD5")
		if str("loadBalancerType") == "network" {
			id = networkLoadBalancer(set, arn, name, h)
		}
		set("arnSuffix", id[strings.Index(id, ":loadbalancer/")+len(":loadbalancer/"):])
	case "aws:lb/targetGroup:TargetGroup":
		id = arn("elasticloadbalancing", "targetgroup/"+physical+"/"+h[:16])
		set("arn", id)
		set("arnSuffix", "targetgroup/"+physical+"/"+h[:16])
	case "aws:lb/listener:Listener":
		id = arn("elasticloadbalancing", "listener/app/"+physical+"/"+h[:16])
		set("arn", id)
	case "aws:lb/listenerRule:ListenerRule":
		id = arn("elasticloadbalancing", "listener-rule/app/"+physical+"/"+h[:16])
		set("arn", id)
	case "aws:autoscaling/group:Group":
		id = physical
		set("name", physical)
		set("arn", arn("autoscaling", "autoScalingGroup:"+h+":autoScalingGroupName/"+physical))
	case "aws:dlm/lifecyclePolicy:LifecyclePolicy":
		id = "policy-" + h
		set("arn", arn("dlm", "policy/"+id))
	case "command:remote:Command":
		set("stdout", "MongoDB answers an authenticated ping")
		set("stderr", "")
	default:
		// Topic, alarms, dashboard, log groups: harness_monitoring_test.go.
		// Domain, certificate, access log bucket: harness_entry_test.go.
		if monitoringID, ok, err := newMonitoringResource(args, set, arn, str, physical); ok {
			if err != nil {
				return "", nil, err
			}
			id = monitoringID
		} else if entryID, ok := m.newEntryResource(args, state, set, arn, h); ok {
			id = entryID
		}
	}
	// The engine marks these outputs secret; so does the mock.
	if args.RegisterRPC != nil {
		for _, k := range args.RegisterRPC.GetAdditionalSecretOutputs() {
			if v, ok := state[resource.PropertyKey(k)]; ok && !v.IsSecret() {
				state[resource.PropertyKey(k)] = resource.MakeSecret(v)
			}
		}
	}
	r := &registered{Type: args.TypeToken, Name: args.Name, ID: id, Custom: args.Custom, Inputs: in, State: state}
	if rpc := args.RegisterRPC; rpc != nil {
		r.Parent = rpc.GetParent()
		parentType := tokens.Type("")
		if p := resource.URN(r.Parent); p != "" && p.QualifiedType() != resource.RootStackType {
			parentType = p.QualifiedType()
		}
		r.URN = string(resource.NewURN(tokens.QName("dev"), tokens.PackageName(project), parentType, tokens.Type(args.TypeToken), args.Name))
		r.Protect = rpc.GetProtect()
		r.RetainOnDelete = rpc.GetRetainOnDelete()
		r.DeleteBeforeReplace = rpc.GetDeleteBeforeReplace()
		r.IgnoreChanges = rpc.GetIgnoreChanges()
		r.Dependencies = rpc.GetDependencies()
		r.SecretOutputs = rpc.GetAdditionalSecretOutputs()
		for _, a := range rpc.GetAliases() {
			if spec := a.GetSpec(); spec != nil && spec.GetName() != "" {
				r.AliasNames = append(r.AliasNames, spec.GetName())
			}
		}
	}
	m.resources = append(m.resources, r)
	return id, state, nil
}

func (m *mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, args)
	arg := func(k string) string {
		v := unsecret(args.Args[resource.PropertyKey(k)])
		if v.IsString() {
			return v.StringValue()
		}
		return ""
	}
	switch args.Token {
	case "aws:index/getAvailabilityZones:getAvailabilityZones":
		return resource.NewPropertyMapFromMap(map[string]any{
			"id":         region,
			"names":      []any{region + "a", region + "b", region + "c"},
			"zoneIds":    []any{"euc1-az2", "euc1-az3", "euc1-az1"},
			"groupNames": []any{region},
		}), nil
	case "aws:index/getRegion:getRegion":
		return resource.NewPropertyMapFromMap(map[string]any{
			"id": region, "name": region, "endpoint": "ec2." + region + ".amazonaws.com", "description": "Europe (Frankfurt)",
		}), nil
	case "aws:ssm/getParameter:getParameter":
		name := arg("name")
		value := ""
		switch name {
		case "/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id":
			value = ubuntuAMI
		case "/aws/service/canonical/ubuntu/server/24.04/stable/current/arm64/hvm/ebs-gp3/ami-id":
			value = armAMI
		default:
			return nil, fmt.Errorf("ParameterNotFound: %s", name)
		}
		return resource.NewPropertyMapFromMap(map[string]any{
			"id": name, "name": name, "type": "String", "value": value, "insecureValue": value, "version": 118,
			"arn": fmt.Sprintf("arn:aws:ssm:%s::parameter%s", region, name),
		}), nil
	case "aws:ec2/getAmi:getAmi":
		filters := map[string]string{}
		for _, f := range args.Args["filters"].ArrayValue() {
			o := f.ObjectValue()
			filters[o["name"].StringValue()] = o["values"].ArrayValue()[0].StringValue()
		}
		id, name, arch := "", "", "x86_64"
		switch {
		case filters["image-id"] == amsArmAMI:
			id, name, arch = amsArmAMI, "pinned-ams-image-arm64", "arm64"
		case filters["image-id"] != "":
			id, name = filters["image-id"], "pinned-ams-image"
		case filters["product-code"] == "4wh7rhpic3wfwamyp5905tsbt":
			id, name = amsAMI, "AntMedia-AWS-Marketplace-EE-2.12.0-20260301"
		default:
			return nil, fmt.Errorf("Your query returned no results: %v", filters)
		}
		return resource.NewPropertyMapFromMap(map[string]any{
			"id": id, "imageId": id, "name": name, "architecture": arch, "rootDeviceName": "/dev/sda1",
			"rootDeviceType": "ebs", "ownerId": "679593333241", "arn": fmt.Sprintf("arn:aws:ec2:%s::image/%s", region, id),
		}), nil
	case "aws:ec2/getSubnet:getSubnet":
		id := arg("id")
		s, ok := m.subnets[id]
		if !ok {
			// An adopted subnet: answer as AWS would for one in zone a.
			return resource.NewPropertyMapFromMap(map[string]any{
				"id": id, "availabilityZone": region + "a", "cidrBlock": "172.31.0.0/20", "vpcId": "vpc-0123456789abcdef0",
			}), nil
		}
		return resource.NewPropertyMapFromMap(map[string]any{
			"id": id, "availabilityZone": unsecret(s["availabilityZone"]).StringValue(),
			"cidrBlock": unsecret(s["cidrBlock"]).StringValue(), "vpcId": unsecret(s["vpcId"]).StringValue(),
		}), nil
	}
	// Route 53 zones, caller identity: harness_entry_test.go.
	return m.callEntry(args)
}

// stackConfig is the configuration a stack would run with: Pulumi.yaml's
// defaults (as the CLI applies them), then the stack file, then overrides.
func stackConfig(t *testing.T, stackFile string, overrides map[string]string) map[string]string {
	t.Helper()
	cfg := projectDefaults(t)
	if stackFile != "" {
		var file struct {
			Config map[string]any `yaml:"config"`
		}
		readYAML(t, "../"+stackFile, &file)
		for k, v := range file.Config {
			cfg[k] = configString(t, v)
		}
	}
	for k, v := range overrides {
		if !strings.Contains(k, ":") {
			k = project + ":" + k
		}
		if v == "<unset>" {
			delete(cfg, k)
			continue
		}
		cfg[k] = v
	}
	return cfg
}

func projectDefaults(t *testing.T) map[string]string {
	t.Helper()
	var p struct {
		Name   string `yaml:"name"`
		Config map[string]struct {
			Type    string `yaml:"type"`
			Default any    `yaml:"default"`
		} `yaml:"config"`
	}
	readYAML(t, "../Pulumi.yaml", &p)
	if p.Name != project {
		t.Fatalf("Pulumi.yaml names project %q, tests expect %q", p.Name, project)
	}
	cfg := map[string]string{}
	for k, v := range p.Config {
		if v.Default != nil {
			cfg[project+":"+k] = configString(t, v.Default)
		}
	}
	return cfg
}

// configString renders a YAML config value the way the CLI hands it to programs.
func configString(t *testing.T, v any) string {
	t.Helper()
	switch v := v.(type) {
	case string:
		return v
	case int, bool, float64:
		return fmt.Sprint(v)
	default:
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
}

func readYAML(t *testing.T, path string, out any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, out); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// runProgram runs the stack program, exactly as main.go does, with cfg,
// and records what it exports.
func runProgram(t *testing.T, cfg map[string]string, secretKeys ...string) *run {
	t.Helper()
	return runProgramWith(t, newMocks(), cfg, secretKeys...)
}

// runProgramWith is runProgram against prepared mocks.
func runProgramWith(t *testing.T, m *mocks, cfg map[string]string, secretKeys ...string) *run {
	t.Helper()
	out := &run{outputs: map[string]internals.UnsafeAwaitOutputResult{}}
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		exported := map[string]pulumi.Output{}
		if err := stack.Run(ctx, func(name string, value pulumi.Input) { exported[name] = pulumi.ToOutput(value) }); err != nil {
			return err
		}
		for name, o := range exported {
			res, err := internals.UnsafeAwaitOutput(ctx.Context(), o)
			if err != nil {
				return fmt.Errorf("output %s: %w", name, err)
			}
			out.outputs[name] = res
		}
		return nil
	}, pulumi.WithMocks(project, "dev", m), func(info *pulumi.RunInfo) {
		info.Config = cfg
		info.ConfigSecretKeys = secretKeys
	})
	m.mu.Lock()
	defer m.mu.Unlock()
	out.resources, out.calls, out.passwords, out.err = m.resources, m.calls, m.passwords, err
	return out
}

// deploy runs the dev stack with overrides and fails the test on error.
func deploy(t *testing.T, overrides map[string]string, secretKeys ...string) *run {
	t.Helper()
	r := runProgram(t, stackConfig(t, "Pulumi.dev.yaml", overrides), secretKeys...)
	if r.err != nil {
		t.Fatalf("stack failed: %v", r.err)
	}
	return r
}

func (r *run) ofType(typ string) []*registered {
	var out []*registered
	for _, res := range r.resources {
		if res.Type == typ {
			out = append(out, res)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (r *run) one(t *testing.T, typ, nameSuffix string) *registered {
	t.Helper()
	var found []*registered
	for _, res := range r.ofType(typ) {
		if strings.HasSuffix(res.Name, nameSuffix) {
			found = append(found, res)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want exactly one %s named *%s, found %d", typ, nameSuffix, len(found))
	}
	return found[0]
}

func (r *run) byID(id string) *registered {
	for _, res := range r.resources {
		if res.ID == id {
			return res
		}
	}
	return nil
}

func (r *run) byArn(arn string) *registered {
	for _, res := range r.resources {
		if stateString(res, "arn") == arn {
			return res
		}
	}
	return nil
}

func (r *run) byURN(urn string) *registered {
	for _, res := range r.resources {
		if res.URN == urn {
			return res
		}
	}
	return nil
}

func (r *run) output(t *testing.T, name string) internals.UnsafeAwaitOutputResult {
	t.Helper()
	o, ok := r.outputs[name]
	if !ok {
		t.Fatalf("stack output %q missing; have %v", name, keys(r.outputs))
	}
	return o
}

func (r *run) outputString(t *testing.T, name string) string {
	t.Helper()
	return fmt.Sprint(r.output(t, name).Value)
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// userData returns a launch template's or instance's boot script, decoded
// and, when gzipped (as cloud-init accepts it), decompressed.
func userData(t *testing.T, res *registered) string {
	t.Helper()
	encoded := res.str("userData")
	if encoded == "" {
		encoded = res.str("userDataBase64")
	}
	b, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		t.Fatalf("%s %s: user data is not base64: %v", res.Type, res.Name, err)
	}
	if len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s %s: user data is not gzip: %v", res.Type, res.Name, err)
		}
		if b, err = io.ReadAll(zr); err != nil {
			t.Fatalf("%s %s: user data: %v", res.Type, res.Name, err)
		}
	}
	return string(b)
}
