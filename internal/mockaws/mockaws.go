// Package mockaws answers Pulumi's resource and invoke calls the way AWS
// would, for programs run under pulumi.WithMocks without an AWS account:
// examples, documentation and quick checks. It derives stable IDs, ARNs,
// addresses and names from each resource's name, answers the look-ups the
// components make (region, images, subnets, parameters, zones) and records
// what was registered. The tests in tests/ use a richer harness.
package mockaws

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Region and Account are where the mocked resources live.
const (
	Region  = "eu-central-1"
	Account = "123456789012"
)

// Mocks implements pulumi.MockResourceMonitor.
type Mocks struct {
	mu         sync.Mutex
	registered []Registered
}

// Registered is one resource a program registered.
type Registered struct {
	Type, Name, ID string
	Inputs         resource.PropertyMap
}

// New returns empty mocks.
func New() *Mocks { return &Mocks{} }

// Registered lists what the program registered, in order.
func (m *Mocks) Registered() []Registered {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Registered(nil), m.registered...)
}

// OfType lists the registered resources of one type token.
func (m *Mocks) OfType(typ string) []Registered {
	var out []Registered
	for _, r := range m.Registered() {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	return out
}

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// NewResource answers a resource registration like AWS would.
func (m *Mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	h := hash(args.TypeToken + "/" + args.Name)
	physical := args.Name + "-" + h[:7]
	state := args.Inputs.Copy()
	set := func(k string, v any) { state[resource.PropertyKey(k)] = resource.NewPropertyValue(v) }
	arn := func(service, rest string) string {
		return fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, Region, Account, rest)
	}
	id := h[:17]
	switch t := args.TypeToken; {
	case t == "aws:ec2/securityGroup:SecurityGroup":
		id = "sg-" + h[:17]
	case t == "aws:ec2/launchTemplate:LaunchTemplate":
		id = "lt-" + h[:17]
		set("latestVersion", 1)
	case t == "aws:ssm/parameter:Parameter":
		name := args.Inputs["name"].StringValue()
		id = name
		set("arn", arn("ssm", "parameter/"+strings.TrimPrefix(name, "/")))
	case t == "aws:iam/role:Role", t == "aws:iam/instanceProfile:InstanceProfile":
		id = physical
		set("name", physical)
		kind := map[string]string{"role": "role", "instanceprofile": "instance-profile"}[strings.ToLower(t[strings.LastIndex(t, ":")+1:])]
		set("arn", fmt.Sprintf("arn:aws:iam::%s:%s/%s", Account, kind, physical))
	case t == "aws:autoscaling/group:Group":
		id = physical
		set("name", physical)
		set("arn", arn("autoscaling", "autoScalingGroup:"+h[:36]+":autoScalingGroupName/"+physical))
	case t == "aws:lb/loadBalancer:LoadBalancer":
		id = arn("elasticloadbalancing", "loadbalancer/"+physical)
		set("arn", id)
		set("arnSuffix", "app/"+physical+"/"+h[:16])
		set("dnsName", physical+"."+Region+".elb.amazonaws.com")
		set("zoneId", "Z215JYRZR1TBD5")
	case strings.HasPrefix(t, "aws:lb/"):
		id = arn("elasticloadbalancing", strings.ToLower(t[strings.LastIndex(t, ":")+1:])+"/"+physical+"/"+h[:16])
		set("arn", id)
		set("arnSuffix", physical+"/"+h[:16])
	case t == "random:index/randomPassword:RandomPassword":
		set("result", "Pw"+h[:30])
	}
	if _, ok := state["arn"]; !ok {
		set("arn", arn(strings.Split(strings.TrimPrefix(args.TypeToken, "aws:"), "/")[0], physical))
	}
	m.mu.Lock()
	m.registered = append(m.registered, Registered{Type: args.TypeToken, Name: args.Name, ID: id, Inputs: args.Inputs})
	m.mu.Unlock()
	return id, state, nil
}

// Call answers the look-ups the components make.
func (m *Mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	str := func(k string) string {
		if v := args.Args[resource.PropertyKey(k)]; v.IsString() {
			return v.StringValue()
		}
		return ""
	}
	switch args.Token {
	case "aws:index/getRegion:getRegion":
		return resource.NewPropertyMapFromMap(map[string]any{"id": Region, "name": Region}), nil
	case "aws:index/getCallerIdentity:getCallerIdentity":
		return resource.NewPropertyMapFromMap(map[string]any{"accountId": Account, "arn": "arn:aws:iam::" + Account + ":user/example", "userId": "AIDAEXAMPLE"}), nil
	case "aws:index/getAvailabilityZones:getAvailabilityZones":
		return resource.NewPropertyMapFromMap(map[string]any{"names": []any{Region + "a", Region + "b", Region + "c"}}), nil
	case "aws:ec2/getAmi:getAmi":
		return resource.NewPropertyMapFromMap(map[string]any{
			"id": "ami-0a1b2c3d4e5f67890", "imageId": "ami-0a1b2c3d4e5f67890", "architecture": "x86_64",
			"rootDeviceName": "/dev/sda1", "name": "AntMedia-AWS-Marketplace-EE-example",
		}), nil
	case "aws:ec2/getSubnet:getSubnet":
		return resource.NewPropertyMapFromMap(map[string]any{"id": str("id"), "availabilityZone": Region + "a", "cidrBlock": "172.31.0.0/20"}), nil
	case "aws:ssm/getParameter:getParameter":
		return resource.NewPropertyMapFromMap(map[string]any{"name": str("name"), "value": "ami-0b5f1c2d3e4a59687", "type": "String"}), nil
	}
	return nil, fmt.Errorf("mockaws: no answer for invoke %s", args.Token)
}
