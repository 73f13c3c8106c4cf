package awsapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ams-cluster/ams-aws/internal/sandbox/machine"
)

// IMDS is a node's instance metadata service, in IMDSv2-only mode
// (HttpTokens=required, as the stack's launch templates set it), following
// "Use the Instance Metadata Service to access instance metadata".
type IMDS struct {
	aws                         *AWS
	id, ip, role, group, region string
	srv                         *httptest.Server
	gate                        machine.Gate
	clock                       func() int // the node's virtual time, seconds

	// tags are the instance tags the metadata shows, nil when the instance
	// does not expose them.
	tags map[string]string

	mu       sync.Mutex
	tokens   map[string]imdsToken
	requests []IMDSRequest
	// spotAction and rebalance are the Spot notices, "" until EC2 gives one.
	spotAction, rebalance string
}

// InterruptSpot gives the instance EC2's two-minute Spot interruption
// notice: meta-data/spot/instance-action, absent (404) until then, becomes
// {"action": "terminate", "time": at} ("Spot Instance interruption
// notices", EC2 user guide); EC2 terminates the instance at that time.
func (m *IMDS) InterruptSpot(at time.Time) {
	b, _ := json.Marshal(map[string]string{"action": "terminate", "time": at.UTC().Format("2006-01-02T15:04:05Z")})
	m.mu.Lock()
	m.spotAction = string(b)
	m.mu.Unlock()
}

// RecommendRebalance gives the instance EC2's rebalance recommendation:
// meta-data/events/recommendations/rebalance, absent (404) until then,
// becomes {"noticeTime": at} ("EC2 instance rebalance recommendations").
func (m *IMDS) RecommendRebalance(at time.Time) {
	b, _ := json.Marshal(map[string]string{"noticeTime": at.UTC().Format("2006-01-02T15:04:05Z")})
	m.mu.Lock()
	m.rebalance = string(b)
	m.mu.Unlock()
}

// spotNotices are the Spot notice items the instance shows now.
func (m *IMDS) spotNotices() map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]string{}
	if m.spotAction != "" {
		out["meta-data/spot/instance-action"] = m.spotAction
	}
	if m.rebalance != "" {
		out["meta-data/events/recommendations/rebalance"] = m.rebalance
	}
	return out
}

// IMDSRequest is one request the metadata service answered.
type IMDSRequest struct {
	Method, Path string
	// Token reports that the request carried a session token header.
	Token bool
	// Status is the HTTP status of the answer.
	Status int
}

// imdsToken is an IMDSv2 session: it lasts ttl of the node's time, real
// and virtual (sleeps) together.
type imdsToken struct {
	issued      time.Time
	issuedClock int
	ttl         time.Duration
}

// Instance is what the metadata service knows of its instance.
type Instance struct {
	ID, PrivateIP, Role, Group string
	// Tags and InstanceMetadataTags are as in NodeSpec.
	Tags                 map[string]string
	InstanceMetadataTags bool
	// Clock is the instance's virtual time, in seconds.
	Clock func() int
}

// NewIMDS starts the metadata service of an instance; t.Cleanup stops it.
func NewIMDS(t testing.TB, a *AWS, n Instance) *IMDS {
	m := &IMDS{aws: a, id: n.ID, ip: n.PrivateIP, role: n.Role, group: n.Group, region: a.Region, tokens: map[string]imdsToken{},
		tags:  instanceTags(n),
		clock: n.Clock}
	m.srv = m.gate.Serve(m)
	t.Cleanup(m.srv.Close)
	a.addClock(n.ID, m.clock)
	return m
}

// URL is where the IMDS answers (it stands for http://169.254.169.254).
func (m *IMDS) URL() string { return m.srv.URL }

// SetActivity reports each request the service answers to act.
func (m *IMDS) SetActivity(act machine.Activity) { m.gate.Set(act) }

// Close stops the metadata service.
func (m *IMDS) Close() { m.srv.Close() }

// Requests lists the requests the service answered, in order.
func (m *IMDS) Requests() []IMDSRequest {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]IMDSRequest(nil), m.requests...)
}

// ServeHTTP answers one metadata request.
func (m *IMDS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	token := r.Header.Get("X-aws-ec2-metadata-token")
	status, header, body := m.answer(r, token)
	m.mu.Lock()
	m.requests = append(m.requests, IMDSRequest{Method: r.Method, Path: r.URL.Path, Token: token != "", Status: status})
	m.mu.Unlock()
	for k, v := range header {
		w.Header().Set(k, v)
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "text/plain")
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

func (m *IMDS) answer(r *http.Request, token string) (int, map[string]string, string) {
	if r.URL.Path == "/latest/api/token" {
		return m.newToken(r)
	}
	// "HTTP GET and HEAD methods are allowed in IMDSv2 instance metadata
	// requests"; without a valid, unexpired token: "401 - Unauthorized".
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return http.StatusMethodNotAllowed, nil, "Method Not Allowed"
	}
	if !m.valid(token) {
		return http.StatusUnauthorized, nil, "Unauthorized"
	}
	if body, typ, ok := m.item(strings.TrimPrefix(r.URL.Path, "/latest/")); ok {
		return http.StatusOK, map[string]string{"Content-Type": typ}, body
	}
	return http.StatusNotFound, nil, "Not Found"
}

// newToken serves PUT /latest/api/token: the TTL header is required and at
// most 21,600 s, and "PUT requests are rejected if they contain an
// X-Forwarded-For header" ("Use IMDSv2").
func (m *IMDS) newToken(r *http.Request) (int, map[string]string, string) {
	if r.Method != http.MethodPut {
		return http.StatusMethodNotAllowed, nil, "Method Not Allowed"
	}
	if r.Header.Get("X-Forwarded-For") != "" {
		return http.StatusForbidden, nil, "Forbidden"
	}
	raw := r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds")
	ttl, err := strconv.Atoi(raw)
	if err != nil || ttl < 1 || ttl > 21600 {
		return http.StatusBadRequest, nil, "Bad Request"
	}
	tok := randomString(56, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") + "=="
	m.mu.Lock()
	m.tokens[tok] = imdsToken{issued: time.Now(), issuedClock: m.clock(), ttl: time.Duration(ttl) * time.Second}
	m.mu.Unlock()
	return http.StatusOK, map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": raw}, tok
}

func (m *IMDS) valid(token string) bool {
	m.mu.Lock()
	tk, ok := m.tokens[token]
	m.mu.Unlock()
	if !ok {
		return false
	}
	elapsed := time.Since(tk.issued) + time.Duration(m.clock()-tk.issuedClock)*time.Second
	return elapsed < tk.ttl
}

// item is one metadata item ("Instance metadata categories"): its body,
// content type and whether it exists.
func (m *IMDS) item(path string) (string, string, bool) {
	text := "text/plain"
	switch path {
	case "meta-data", "meta-data/":
		return "autoscaling/\niam/\ninstance-id\nlocal-ipv4\nplacement/", text, true
	case "meta-data/instance-id":
		return m.id, text, true
	case "meta-data/local-ipv4":
		return m.ip, text, true
	case "meta-data/placement/region":
		return m.region, text, true
	case "meta-data/placement/availability-zone":
		return m.region + "a", text, true
	case "meta-data/iam/security-credentials", "meta-data/iam/security-credentials/":
		return m.role, text, m.hasCredentials()
	case "meta-data/autoscaling/target-lifecycle-state":
		// Absent for an instance no Auto Scaling group launched.
		state, ok := m.aws.TargetLifecycleState(m.id)
		return state, text, m.group != "" && ok
	case "dynamic/instance-identity/document":
		doc, _ := json.MarshalIndent(map[string]any{
			"accountId": m.aws.Account, "architecture": "x86_64", "availabilityZone": m.region + "a",
			"imageId": "ami-00000000000000000", "instanceId": m.id, "instanceType": "t3.medium",
			"pendingTime": "2025-01-01T00:00:00Z", "privateIp": m.ip, "region": m.region, "version": "2017-09-30",
		}, "", "  ")
		return string(doc), text, true
	}
	if notice, ok := m.spotNotices()[path]; ok {
		return notice, text, true
	}
	if path == "meta-data/tags/instance" || path == "meta-data/tags/instance/" {
		keys := make([]string, 0, len(m.tags))
		for k := range m.tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return strings.Join(keys, "\n"), text, m.tags != nil
	}
	if key, ok := strings.CutPrefix(path, "meta-data/tags/instance/"); ok {
		v, found := m.tags[key]
		return v, text, found
	}
	if role, ok := strings.CutPrefix(path, "meta-data/iam/security-credentials/"); ok && m.hasCredentials() && role == m.role {
		return m.credentials(), "text/plain", true
	}
	return "", "", false
}

// instanceTags are the tags the metadata exposes ("View tags for your EC2
// instances from instance metadata"): only with instance metadata tags
// enabled; Auto Scaling tags the instances it launches with
// aws:autoscaling:groupName ("Tag Auto Scaling groups and instances").
func instanceTags(spec Instance) map[string]string {
	if !spec.InstanceMetadataTags {
		return nil
	}
	tags := map[string]string{}
	for k, v := range spec.Tags {
		tags[k] = v
	}
	if spec.Group != "" {
		tags["aws:autoscaling:groupName"] = spec.Group
	}
	return tags
}

// hasCredentials reports that the instance profile's credentials are in
// the metadata: never without a role, and not in the first seconds of the
// instance's life under an adversarial timing (timing.go).
func (m *IMDS) hasCredentials() bool {
	m.aws.mu.Lock()
	defer m.aws.mu.Unlock()
	return m.role != "" && m.aws.age(m.id) >= m.aws.timing.CredentialsMissingFor
}

// credentials is the JSON of iam/security-credentials/<role> ("Retrieve
// security credentials from instance metadata").
func (m *IMDS) credentials() string {
	m.aws.mu.Lock()
	c := m.aws.credentialsFor(m.role, m.id)
	m.aws.mu.Unlock()
	b, _ := json.MarshalIndent(map[string]string{
		"Code": "Success", "LastUpdated": time.Now().UTC().Format(time.RFC3339), "Type": "AWS-HMAC",
		"AccessKeyId": c.AccessKeyID, "SecretAccessKey": c.Secret, "Token": c.Token,
		"Expiration": c.Expiration.Format(time.RFC3339),
	}, "", "  ")
	return string(b)
}
