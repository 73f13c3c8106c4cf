package sandbox

// STUB — owned by the AWS helper; replace this file with aws.go, imds.go, ...

import "testing"

// AWS is the stand-in of the AWS APIs the nodes call.
type AWS struct{ Region, Account string }

// APICall is one AWS API request as the stand-in judged it.
type APICall struct {
	Service, Action, Principal, Resource string
	Allowed                              bool
	Error                                string
}

// LifecycleHook is a lifecycle hook of an Auto Scaling group.
type LifecycleHook struct {
	Name, Transition string
	HeartbeatTimeout int
	DefaultResult    string
}

func newAWS(t testing.TB, region, account string) *AWS { return &AWS{Region: region, Account: account} }

// URL is the one endpoint of every AWS API.
func (a *AWS) URL() string { return "http://127.0.0.1:1" }

// AddRole adds an IAM role with its inline policy document.
func (a *AWS) AddRole(name, policyJSON string) {}

// PutParameter stores a parameter as Pulumi would.
func (a *AWS) PutParameter(name, value string, secure bool) {}

// Parameter reads a parameter.
func (a *AWS) Parameter(name string) (string, bool) { return "", false }

// Calls lists the API calls.
func (a *AWS) Calls() []APICall { return nil }

// AddGroup adds an Auto Scaling group.
func (a *AWS) AddGroup(name string, hooks ...LifecycleHook) {}

// Launch launches an instance into a group.
func (a *AWS) Launch(group, instanceID string) {}

// LifecycleState is an instance's lifecycle state.
func (a *AWS) LifecycleState(instanceID string) string { return "" }

// LifecycleResult is the result a launching hook was completed with.
func (a *AWS) LifecycleResult(instanceID string) string { return "" }

// IMDS is a node's instance metadata service.
type IMDS struct{}

func newIMDS(t testing.TB, a *AWS, n *Node) *IMDS { return &IMDS{} }

// URL is where the IMDS answers.
func (m *IMDS) URL() string { return "http://127.0.0.1:2" }
func (m *IMDS) close()      {}

func awsCLI(e *Env, args []string) int { return 127 }
