package awsapi

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ams-cluster/ams-aws/internal/sandbox/machine"
)

// AWS is the stand-in of the AWS APIs the nodes call: SSM Parameter Store
// and EC2 Auto Scaling behind one endpoint, authenticated with Signature
// Version 4 and authorized by the IAM policies of the instances' roles.
type AWS struct {
	// Region and Account are where the stand-in's resources live.
	Region, Account string

	t    testing.TB
	srv  *httptest.Server
	gate machine.Gate

	mu        sync.Mutex
	roles     map[string][]*policyDoc // inline policies by role name
	creds     map[string]*credential  // by access key ID
	params    map[string]*parameter   // by name
	groups    map[string]*asGroup     // by name
	instances map[string]*asInstance  // by instance ID
	calls     []APICall
	throttle  int
	cwAgent   cwAgentDownloads
	metrics   []MetricDatum            // PutMetricData, in order (cloudwatch.go)
	timing    Timing                   // timing.go
	clocks    map[string]instanceClock // by instance ID
	buckets   map[string]*s3Bucket     // by name (s3.go)
	users     map[string]*s3User       // IAM users by access key ID (s3.go)
	health    elbState                 // target groups and instance health (elb.go)
	world     Clock                    // the world's one clock, or nil (timing.go)
	prober    *http.Client             // the target groups' health checks (elb.go)
}

// APICall is one AWS API request as the stand-in judged it.
type APICall struct {
	// Service is "ssm", "autoscaling" or "monitoring"; Action the operation name.
	Service, Action string
	// Principal is the caller's assumed-role ARN ("" when unauthenticated).
	Principal string
	// Resource is the ARN IAM authorized the call against.
	Resource string
	// Allowed reports that the caller's policies allowed the call.
	Allowed bool
	// Error is the error code returned, "" on success.
	Error string
}

// apiError is an AWS error before it is written in a protocol's shape.
type apiError struct {
	Code, Message string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

// New starts the AWS stand-in of one account and region; t.Cleanup stops
// it.
func New(t testing.TB, region, account string) *AWS {
	a := &AWS{
		Region: region, Account: account, t: t,
		roles: map[string][]*policyDoc{}, creds: map[string]*credential{},
		params: map[string]*parameter{}, groups: map[string]*asGroup{}, instances: map[string]*asInstance{},
		clocks: map[string]instanceClock{}, prober: &http.Client{Timeout: 2 * time.Second},
	}
	a.srv = a.gate.Serve(a)
	t.Cleanup(a.srv.Close)
	return a
}

// SetActivity reports each request the stand-in answers to act.
func (a *AWS) SetActivity(act machine.Activity) { a.gate.Set(act) }

// URL is the one endpoint of every AWS API.
func (a *AWS) URL() string { return a.srv.URL }

// Calls lists every API request the stand-in received, in order.
func (a *AWS) Calls() []APICall {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]APICall(nil), a.calls...)
}

// Throttle makes the next n SSM calls fail with ThrottlingException, as
// SSM does when a caller exceeds its request rate.
func (a *AWS) Throttle(n int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.throttle = n
}

// apiRequest is one authenticated API call being served.
type apiRequest struct {
	a    *AWS
	cred *credential
	call *APICall
	body []byte
	form url.Values // Query protocol parameters
}

// authorize evaluates the caller's IAM policies for action on resource,
// records the decision, and returns the AccessDenied error to send when it
// is not an allow. Follows AWS "Policy evaluation logic" (identity-based
// policies only: an explicit Deny wins, otherwise an Allow is needed).
func (q *apiRequest) authorize(action, resource string, keys conditionKeys) *apiError {
	q.call.Resource = resource
	ctx := authzRequest{Action: action, Resource: resource, Keys: keys.with(q.a.globalKeys(q.cred))}
	policies := q.a.roles[q.cred.Role]
	if q.a.policyMissing(q.cred.Instance) {
		policies = nil // not yet in force for this instance (timing.go)
	}
	d := evaluate(policies, ctx)
	q.call.Allowed = d == allowed
	if d == allowed {
		return nil
	}
	code := "AccessDeniedException"
	if q.call.Service == "autoscaling" || q.call.Service == "monitoring" {
		code = "AccessDenied"
	}
	why := "because no identity-based policy allows the " + action + " action"
	if d == explicitDeny {
		why = "with an explicit deny in an identity-based policy"
	}
	return &apiError{code, fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s %s", q.cred.principal(q.a.Account), action, resource, why)}
}

// globalKeys are the global condition keys of every request (AWS "AWS
// global condition context keys").
func (a *AWS) globalKeys(c *credential) conditionKeys {
	k := conditionKeys{}
	k.set("aws:PrincipalArn", c.roleArn(a.Account))
	k.set("aws:PrincipalAccount", a.Account)
	k.set("aws:RequestedRegion", a.Region)
	return k
}

// ServeHTTP serves the AWS APIs and the package repositories the scripts
// download from.
func (a *AWS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/repo/") {
		serveRepo(w, r)
		return
	}
	if strings.HasPrefix(r.URL.Path, CWAgentPrefix+"/") {
		a.serveCWAgent(w, r)
		return
	}
	if r.URL.Path == awsCLIInfoPath {
		a.serveCLIInfo(w)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "reading body: "+err.Error(), http.StatusBadRequest)
		return
	}
	isJSON := r.Header.Get("X-Amz-Target") != ""
	call := APICall{Service: "autoscaling"}
	if isJSON {
		call.Service = "ssm"
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	result, aerr := a.serve(r, body, &call)
	if aerr != nil {
		call.Error = aerr.Code
	}
	a.calls = append(a.calls, call)
	if isJSON {
		writeJSON(w, result, aerr)
	} else {
		writeQuery(w, call.Action, result, aerr)
	}
}

// serve authenticates the request and hands it to its service.
func (a *AWS) serve(r *http.Request, body []byte, call *APICall) (any, *apiError) {
	cred, service, aerr := a.authenticate(r, body, time.Now())
	if service != "" {
		call.Service = service
	}
	switch call.Service {
	case "ssm":
		call.Action = strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AmazonSSM.")
	case "autoscaling", "monitoring":
		form, _ := url.ParseQuery(string(body))
		call.Action = form.Get("Action")
	}
	if aerr != nil {
		return nil, aerr.in(call.Service)
	}
	call.Principal = cred.principal(a.Account)
	q := &apiRequest{a: a, cred: cred, call: call, body: body}
	switch call.Service {
	case "ssm":
		if !strings.HasPrefix(r.Header.Get("X-Amz-Target"), "AmazonSSM.") {
			return nil, &apiError{"UnknownOperationException", ""}
		}
		return a.ssm(q, call.Action)
	case "autoscaling":
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, &apiError{"MalformedQueryString", err.Error()}
		}
		q.form = form
		return a.autoscaling(q, call.Action)
	case "monitoring":
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, &apiError{"MalformedQueryString", err.Error()}
		}
		q.form = form
		return a.cloudwatch(q, call.Action)
	}
	return nil, &apiError{"UnrecognizedClientException", "no such service: " + call.Service}
}

func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// writeJSON answers in the AWS JSON 1.1 protocol (SSM API reference
// "Common Errors"): errors are HTTP 400 with a __type.
func writeJSON(w http.ResponseWriter, result any, aerr *apiError) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("x-amzn-RequestId", newRequestID())
	if aerr != nil {
		body := map[string]string{"__type": aerr.Code}
		if aerr.Message != "" {
			body["Message"] = aerr.Message
		}
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(body)
		return
	}
	_ = json.NewEncoder(w).Encode(result)
}

// autoScalingNS is the XML namespace of the Auto Scaling Query API.
const autoScalingNS = "http://autoscaling.amazonaws.com/doc/2011-01-01/"

// writeQuery answers in the AWS Query protocol (Auto Scaling API reference
// "Common Errors"): authentication and authorization failures are HTTP
// 403, other client errors 400.
func writeQuery(w http.ResponseWriter, action string, result any, aerr *apiError) {
	w.Header().Set("Content-Type", "text/xml")
	id := newRequestID()
	if aerr != nil {
		status := http.StatusBadRequest
		switch aerr.Code {
		case "AccessDenied", "InvalidClientTokenId", "SignatureDoesNotMatch", "MissingAuthenticationToken", "ExpiredToken", "IncompleteSignature":
			status = http.StatusForbidden
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, `<ErrorResponse xmlns="%s"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
			autoScalingNS, xmlText(aerr.Code), xmlText(aerr.Message), id)
		return
	}
	inner, _ := result.(string)
	fmt.Fprintf(w, `<%sResponse xmlns="%s"><%sResult>%s</%sResult><ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>`,
		action, autoScalingNS, action, inner, action, id, action)
}

func xmlText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// pgpKeyPath matches MongoDB's release signing key URLs, as given in
// "Install MongoDB Community Edition on Ubuntu" (www.mongodb.org/static/pgp/
// and pgp.mongodb.com).
var pgpKeyPath = regexp.MustCompile(`^/repo/mongodb\.org/(?:static/pgp/)?server-([0-9]+\.[0-9]+)\.asc$`)

// serveRepo serves a dummy ASCII-armored key for MongoDB's key URLs.
func serveRepo(w http.ResponseWriter, r *http.Request) {
	m := pgpKeyPath.FindStringSubmatch(r.URL.Path)
	if m == nil || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/pgp-keys")
	fmt.Fprintf(w, "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n%s\n-----END PGP PUBLIC KEY BLOCK-----\n",
		hex.EncodeToString([]byte("sandbox dummy MongoDB "+m[1]+" release key")))
}

// awsCLIInfoPath is where a shim process asks the test process, which
// alone knows the host's PATH, where the real AWS CLI is.
const awsCLIInfoPath = "/_sandbox/aws-cli"

// cliInfo locates the host's AWS CLI.
type cliInfo struct {
	Path    string `json:"path"`
	PathEnv string `json:"pathEnv"`
}

func (a *AWS) serveCLIInfo(w http.ResponseWriter) {
	var dirs []string
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		if !strings.Contains(d, "/"+machine.StateDir+"/") {
			dirs = append(dirs, d)
		}
	}
	info := cliInfo{PathEnv: strings.Join(dirs, string(os.PathListSeparator))}
	for _, d := range dirs {
		if p, err := exec.LookPath(filepath.Join(d, "aws")); err == nil {
			info.Path = p
			break
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(info)
}

// CLI is the `aws` command on images that have the AWS CLI: it runs the
// host's real AWS CLI against the node's IMDS (for credentials) and the
// AWS stand-in, with no other configuration or credentials.
func CLI(e *machine.Env, args []string) int {
	info, err := hostAWSCLI(e.Node.AWSURL)
	if err != nil || info.Path == "" {
		e.Errorf("aws: the sandbox runs the real AWS CLI, which is not installed on this host (%v)", err)
		return 127
	}
	dir := e.State("aws")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		e.Errorf("aws: %v", err)
		return 126
	}
	for _, f := range []string{"config", "credentials"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			e.Errorf("aws: %v", err)
			return 126
		}
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "PATH=") {
			env = append(env, kv)
		}
	}
	env = append(env,
		"PATH="+info.PathEnv,
		"AWS_EC2_METADATA_SERVICE_ENDPOINT="+e.Node.IMDSURL,
		"AWS_ENDPOINT_URL="+e.Node.AWSURL,
		"AWS_DEFAULT_REGION="+e.Node.Region,
		"AWS_CONFIG_FILE="+filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"),
	)
	if err := syscall.Exec(info.Path, append([]string{"aws"}, args...), env); err != nil {
		e.Errorf("aws: exec %s: %v", info.Path, err)
		return 126
	}
	return 0
}

func hostAWSCLI(awsURL string) (cliInfo, error) {
	var info cliInfo
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(awsURL + awsCLIInfoPath)
	if err != nil {
		return info, fmt.Errorf("asking the test process for the AWS CLI: %w", err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		return info, fmt.Errorf("decoding the AWS CLI location: %w", err)
	}
	return info, nil
}
