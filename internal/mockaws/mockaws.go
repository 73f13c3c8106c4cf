// Package mockaws runs Pulumi programs under pulumi.WithMocks without an AWS
// account, answering resource registrations and invokes the way AWS would:
// stable IDs, ARNs, private and public addresses and DNS names derived from
// each resource's name, image and parameter look-ups, subnets, Route 53
// zones and the caller identity. It records every registered resource with
// its inputs, outputs, options, parent and dependencies.
//
// It is shared by the whole-stack tests (tests/), the library's examples
// (components/, examples/) and the offline plan (cmd/plan):
//
//   - Mocks is the pulumi.MockResourceMonitor; New returns one.
//   - Run and RunStack run a program (RunStack: the stack's own
//     internal/stack.Run) and return a Result: resources, invokes, outputs.
//   - StackConfig reads the configuration a stack runs with from Pulumi.yaml
//     and Pulumi.<stack>.yaml, as the Pulumi CLI hands it to the program.
package mockaws

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// The project, account and region of the mocked resources, and the images
// the look-ups find.
const (
	// Project is the project whose URNs the mocks compute when not told
	// otherwise (Run tells them).
	Project = "ams-cluster"
	Account = "123456789012"
	Region  = "eu-central-1"
	// UbuntuAMI and UbuntuArmAMI are Canonical's Ubuntu 24.04 images (x86_64,
	// arm64) that the public SSM parameters name.
	UbuntuAMI    = "ami-0b5f1c2d3e4a59687"
	UbuntuArmAMI = "ami-0c6a2b3d4e5f60718"
	// AmsAMI is Ant Media Server Enterprise from the AWS Marketplace.
	AmsAMI = "ami-0a1b2c3d4e5f67890"
	// AmsArmAMI is a pinned arm64 Ant Media Server image (a custom build).
	AmsArmAMI = "ami-0d4e5f6a7b8c9d0e1"
)

// Mocks implements pulumi.MockResourceMonitor like AWS. Use New.
type Mocks struct {
	mu        sync.Mutex
	project   string
	stack     string
	resources []*Resource
	calls     []pulumi.MockCallArgs
	subnets   map[string]resource.PropertyMap
	passwords []string
	retained  map[string]string
}

// New returns mocks that have registered nothing yet.
func New() *Mocks {
	return &Mocks{subnets: map[string]resource.PropertyMap{}, retained: map[string]string{}}
}

// Retain makes the SSM parameter name keep value in its state whatever the
// program's inputs say, as the engine keeps an ignored property of an
// existing resource.
func (m *Mocks) Retain(name, value string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.retained[name] = value
}

// Registered lists what the program registered, in order.
func (m *Mocks) Registered() []*Resource {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]*Resource(nil), m.resources...)
}

// OfType lists the registered resources of one type token, in order.
func (m *Mocks) OfType(typ string) []*Resource {
	var out []*Resource
	for _, r := range m.Registered() {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	return out
}

// Calls lists the invokes the program made, in order.
func (m *Mocks) Calls() []pulumi.MockCallArgs {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]pulumi.MockCallArgs(nil), m.calls...)
}

// Passwords lists the values the mocked random passwords took.
func (m *Mocks) Passwords() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.passwords...)
}

func (m *Mocks) hex(seed string, n int) string {
	sum := sha256.Sum256([]byte(seed))
	return hex.EncodeToString(sum[:])[:n]
}

// byte derives a stable number from 1 to 250 from seed.
func (m *Mocks) byte(seed string) byte {
	sum := sha256.Sum256([]byte(seed))
	return 1 + sum[0]%250
}

// addressIn picks a stable address for seed inside a subnet the mock created,
// or in the default VPC's range for subnets it does not know.
func (m *Mocks) addressIn(subnetID, seed string) string {
	prefix := netip.MustParsePrefix("172.31.0.0/20")
	if s, ok := m.subnets[subnetID]; ok {
		if p, err := netip.ParsePrefix(Unsecret(s["cidrBlock"]).StringValue()); err == nil {
			prefix = p
		}
	}
	a := prefix.Addr().As4()
	a[3] = 10 + m.byte(seed)%200
	return netip.AddrFrom4(a).String()
}

// NewResource answers a resource registration like AWS would and records it.
func (m *Mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	in := args.Inputs
	state := in.Copy()
	set := func(k string, v any) { state[resource.PropertyKey(k)] = resource.NewPropertyValue(v) }
	str := func(k string) string {
		v := Unsecret(in[resource.PropertyKey(k)])
		if v.IsString() {
			return v.StringValue()
		}
		return ""
	}
	h := m.hex(args.TypeToken+"/"+args.Name, 17)
	physical := args.Name + "-" + h[:7]
	id := h
	arn := func(service, rest string) string {
		return fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, Region, Account, rest)
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
		// key_name, when given, is the pair's name and ID as is; only
		// without it does the provider generate one (terraform-provider-aws
		// internal/service/ec2/ec2_key_pair.go, resourceKeyPairCreate:
		// create.Name(key_name, key_name_prefix)).
		id = physical
		if name := str("keyName"); name != "" {
			id = name
		}
		set("keyName", id)
	case "aws:ec2/launchTemplate:LaunchTemplate":
		id = "lt-" + h
		set("latestVersion", 1)
		set("arn", arn("ec2", "launch-template/"+id))
	case "aws:iam/role:Role":
		id = physical
		set("name", physical)
		set("arn", fmt.Sprintf("arn:aws:iam::%s:role/%s", Account, physical))
	case "aws:iam/instanceProfile:InstanceProfile":
		id = physical
		set("name", physical)
		set("arn", fmt.Sprintf("arn:aws:iam::%s:instance-profile/%s", Account, physical))
	case "aws:ssm/parameter:Parameter":
		id = str("name")
		set("arn", arn("ssm", "parameter/"+strings.TrimPrefix(id, "/")))
		set("version", 1)
		if v, ok := m.retained[id]; ok {
			set("insecureValue", v)
		}
	case "random:index/randomPassword:RandomPassword":
		length, _ := strconv.Atoi(fmt.Sprint(Unsecret(in["length"]).NumberValue()))
		pw := strings.Repeat("Pw"+m.hex(args.Name, 30), length/32+1)[:length]
		m.passwords = append(m.passwords, pw)
		set("result", pw)
	case "aws:lb/loadBalancer:LoadBalancer":
		name := physical
		id = arn("elasticloadbalancing", "loadbalancer/app/"+name+"/"+h[:16])
		set("arn", id)
		set("dnsName", fmt.Sprintf("%s-%d.%s.elb.amazonaws.com", name, 1000000000+int(m.byte(name))*1000, Region))
		set("zoneId", "Z215JYRZR1TBD5")
		if str("loadBalancerType") == "network" {
			id = networkLoadBalancer(set, arn, name, h)
		}
		set("arnSuffix", id[strings.Index(id, ":loadbalancer/")+len(":loadbalancer/"):])
	case "aws:lb/targetGroup:TargetGroup":
		id = arn("elasticloadbalancing", "targetgroup/"+physical+"/"+h[:16])
		set("arn", id)
		set("arnSuffix", "targetgroup/"+physical+"/"+h[:16])
		// Elastic Load Balancing keeps client addresses by default for
		// instance targets (preserve_client_ip.enabled, "Edit target group
		// attributes for your Network Load Balancer").
		if p := str("protocol"); (p == "TCP" || p == "TLS") && str("preserveClientIp") == "" && (str("targetType") == "" || str("targetType") == "instance") {
			set("preserveClientIp", "true")
		}
	case "aws:lb/listener:Listener":
		kind := "app"
		if strings.Contains(str("loadBalancerArn"), ":loadbalancer/net/") {
			kind = "net"
		}
		id = arn("elasticloadbalancing", "listener/"+kind+"/"+physical+"/"+h[:16])
		set("arn", id)
		// CreateListener refuses an HTTPS or TLS listener without a
		// certificate, and gives one without a policy the API's default.
		if p := str("protocol"); p == "HTTPS" || p == "TLS" {
			if str("certificateArn") == "" {
				return "", nil, fmt.Errorf("CertificateNotFound: listener %s: a certificate must be specified for %s listeners", args.Name, p)
			}
			if str("sslPolicy") == "" {
				set("sslPolicy", "ELBSecurityPolicy-2016-08")
			}
		}
	case "aws:lb/listenerRule:ListenerRule":
		id = arn("elasticloadbalancing", "listener-rule/app/"+physical+"/"+h[:16])
		set("arn", id)
	case "aws:autoscaling/group:Group":
		id = physical
		set("name", physical)
		set("arn", arn("autoscaling", "autoScalingGroup:"+h+":autoScalingGroupName/"+physical))
	case "aws:autoscaling/policy:Policy":
		set("arn", arn("autoscaling", "scalingPolicy:"+h+":autoScalingGroupName/"+str("autoscalingGroupName")+":policyName/"+physical))
	case "aws:dlm/lifecyclePolicy:LifecyclePolicy":
		id = "policy-" + h
		set("arn", arn("dlm", "policy/"+id))
	case "command:remote:Command":
		set("stdout", "MongoDB answers an authenticated ping")
		set("stderr", "")
	default:
		if monitoringID, ok, err := newMonitoringResource(args, set, arn, str, physical); ok {
			if err != nil {
				return "", nil, err
			}
			id = monitoringID
		} else if entryID, ok := m.newEntryResource(args, set, arn, h); ok {
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
	r := &Resource{Type: args.TypeToken, Name: args.Name, ID: id, Custom: args.Custom, Inputs: in, State: state}
	if rpc := args.RegisterRPC; rpc != nil {
		r.Parent = rpc.GetParent()
		parentType := tokens.Type("")
		if p := resource.URN(r.Parent); p != "" && p.QualifiedType() != resource.RootStackType {
			parentType = p.QualifiedType()
		}
		project, stack := m.project, m.stack
		if project == "" {
			project, stack = Project, "dev"
		}
		r.URN = string(resource.NewURN(tokens.QName(stack), tokens.PackageName(project), parentType, tokens.Type(args.TypeToken), args.Name))
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

// Call answers the look-ups the components make like AWS would, and records them.
func (m *Mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, args)
	arg := func(k string) string {
		v := Unsecret(args.Args[resource.PropertyKey(k)])
		if v.IsString() {
			return v.StringValue()
		}
		return ""
	}
	switch args.Token {
	case "aws:index/getAvailabilityZones:getAvailabilityZones":
		return resource.NewPropertyMapFromMap(map[string]any{
			"id":         Region,
			"names":      []any{Region + "a", Region + "b", Region + "c"},
			"zoneIds":    []any{"euc1-az2", "euc1-az3", "euc1-az1"},
			"groupNames": []any{Region},
		}), nil
	case "aws:index/getRegion:getRegion":
		return resource.NewPropertyMapFromMap(map[string]any{
			"id": Region, "name": Region, "endpoint": "ec2." + Region + ".amazonaws.com", "description": "Europe (Frankfurt)",
		}), nil
	case "aws:ssm/getParameter:getParameter":
		name := arg("name")
		value := ""
		switch name {
		case "/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id":
			value = UbuntuAMI
		case "/aws/service/canonical/ubuntu/server/24.04/stable/current/arm64/hvm/ebs-gp3/ami-id":
			value = UbuntuArmAMI
		default:
			return nil, fmt.Errorf("ParameterNotFound: %s", name)
		}
		return resource.NewPropertyMapFromMap(map[string]any{
			"id": name, "name": name, "type": "String", "value": value, "insecureValue": value, "version": 118,
			"arn": fmt.Sprintf("arn:aws:ssm:%s::parameter%s", Region, name),
		}), nil
	case "aws:ec2/getAmi:getAmi":
		filters := map[string]string{}
		for _, f := range args.Args["filters"].ArrayValue() {
			o := f.ObjectValue()
			filters[o["name"].StringValue()] = o["values"].ArrayValue()[0].StringValue()
		}
		id, name, arch := "", "", "x86_64"
		switch {
		case filters["image-id"] == AmsArmAMI:
			id, name, arch = AmsArmAMI, "pinned-ams-image-arm64", "arm64"
		case filters["image-id"] != "":
			id, name = filters["image-id"], "pinned-ams-image"
		case filters["product-code"] == "4wh7rhpic3wfwamyp5905tsbt":
			id, name = AmsAMI, "AntMedia-AWS-Marketplace-EE-2.12.0-20260301"
		default:
			return nil, fmt.Errorf("your query returned no results: %v", filters)
		}
		return resource.NewPropertyMapFromMap(map[string]any{
			"id": id, "imageId": id, "name": name, "architecture": arch, "rootDeviceName": "/dev/sda1",
			"rootDeviceType": "ebs", "ownerId": "679593333241", "arn": fmt.Sprintf("arn:aws:ec2:%s::image/%s", Region, id),
		}), nil
	case "aws:ec2/getSubnet:getSubnet":
		id := arg("id")
		s, ok := m.subnets[id]
		if !ok {
			// An adopted subnet: answer as AWS would for one in zone a.
			return resource.NewPropertyMapFromMap(map[string]any{
				"id": id, "availabilityZone": Region + "a", "cidrBlock": "172.31.0.0/20", "vpcId": "vpc-0123456789abcdef0",
			}), nil
		}
		return resource.NewPropertyMapFromMap(map[string]any{
			"id": id, "availabilityZone": Unsecret(s["availabilityZone"]).StringValue(),
			"cidrBlock": Unsecret(s["cidrBlock"]).StringValue(), "vpcId": Unsecret(s["vpcId"]).StringValue(),
		}), nil
	}
	// Route 53 zones, caller identity: entry.go.
	return m.callEntry(args)
}
