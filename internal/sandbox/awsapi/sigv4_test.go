package awsapi

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"
)

const (
	testRegion  = "eu-west-1"
	testAccount = "123456789012"
)

func doJSON(t *testing.T, r *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatalf("%s: %v", r.URL, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("decoding %q: %v", b, err)
	}
	return resp.StatusCode, out
}

// testSign signs r the way "Create a signed AWS API request" describes,
// independently of the verifier: every header set on r is signed.
func testSign(r *http.Request, body []byte, akid, secret, region, service string, now time.Time) {
	stamp := now.UTC().Format("20060102T150405Z")
	r.Header.Set("X-Amz-Date", stamp)
	names := []string{"host"}
	for k := range r.Header {
		names = append(names, strings.ToLower(k))
	}
	sort.Strings(names)
	var canon strings.Builder
	for _, n := range names {
		v := r.Host
		if n != "host" {
			v = r.Header.Get(n)
		}
		canon.WriteString(n + ":" + strings.TrimSpace(v) + "\n")
	}
	bodySum := sha256.Sum256(body)
	creq := strings.Join([]string{r.Method, "/", "", canon.String(), strings.Join(names, ";"), hex.EncodeToString(bodySum[:])}, "\n")
	creqSum := sha256.Sum256([]byte(creq))
	scope := stamp[:8] + "/" + region + "/" + service + "/aws4_request"
	sts := "AWS4-HMAC-SHA256\n" + stamp + "\n" + scope + "\n" + hex.EncodeToString(creqSum[:])
	mac := func(k []byte, s string) []byte { m := hmac.New(sha256.New, k); m.Write([]byte(s)); return m.Sum(nil) }
	k := mac(mac(mac(mac([]byte("AWS4"+secret), stamp[:8]), region), service), "aws4_request")
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+akid+"/"+scope+", SignedHeaders="+strings.Join(names, ";")+", Signature="+hex.EncodeToString(mac(k, sts)))
}

// TestSigV4Vectors checks the canonicalization against known signatures:
// the aws-sig-v4-test-suite "get-vanilla" case and a case with an encoded
// path and query, both as botocore 1.43's SigV4Auth computes them.
func TestSigV4Vectors(t *testing.T) {
	tests := []struct {
		name, method, url, body, contentType, signed, want string
	}{
		{"get-vanilla", "GET", "https://example.amazonaws.com/", "", "", "host;x-amz-date",
			"5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
		{"post-path-query", "POST", "https://example.amazonaws.com/a%20b/c?Param2=value2&Param1=value%201", "Action=X",
			"application/x-www-form-urlencoded; charset=utf-8", "content-type;host;x-amz-date",
			"ec16a3671f441545cd0372e9d3811ef98e48a6ef3c3b841640eef0c14d9dab99"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.url, strings.NewReader(tt.body))
			r.Header.Set("X-Amz-Date", "20150830T123600Z")
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			auth := &sigV4Auth{accessKey: "AKIDEXAMPLE", date: "20150830", region: "us-east-1", service: "service", signedHeaders: strings.Split(tt.signed, ";")}
			got := signature("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", auth,
				stringToSign(auth, "20150830T123600Z", canonicalRequest(r, auth.signedHeaders, []byte(tt.body))))
			if got != tt.want {
				t.Errorf("signature: want %s, got %s", tt.want, got)
			}
		})
	}
}

// TestSigV4Verification runs the server's authentication on signed and
// tampered requests.
func TestSigV4Verification(t *testing.T) {
	a := New(t, "eu-west-1", "123456789012")
	a.AddRole("node", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ssm:GetParameter","Resource":"*"}}`)
	a.PutParameter("/p", "v", false)
	a.mu.Lock()
	c := a.credentialsFor("node", "i-1")
	expired := a.credentialsFor("node", "i-2")
	expired.Expiration = time.Now().Add(-time.Minute)
	a.mu.Unlock()
	body := []byte(`{"Name":"/p"}`)
	type mod func(r *http.Request) (akid, secret, region string, now time.Time)
	sign := func(akid, secret, region string, now time.Time) mod {
		return func(*http.Request) (string, string, string, time.Time) { return akid, secret, region, now }
	}
	now := time.Now()
	tests := []struct {
		name     string
		token    string
		sign     mod
		tamper   func(r *http.Request)
		wantType string
	}{
		{"valid", c.Token, sign(c.AccessKeyID, c.Secret, "eu-west-1", now), nil, ""},
		{"wrong secret", c.Token, sign(c.AccessKeyID, "x"+c.Secret, "eu-west-1", now), nil, "InvalidSignatureException"},
		{"unknown key", c.Token, sign("ASIAUNKNOWN0000000", c.Secret, "eu-west-1", now), nil, "UnrecognizedClientException"},
		{"no session token", "", sign(c.AccessKeyID, c.Secret, "eu-west-1", now), nil, "UnrecognizedClientException"},
		{"another session's token", expired.Token, sign(c.AccessKeyID, c.Secret, "eu-west-1", now), nil, "UnrecognizedClientException"},
		{"expired credentials", expired.Token, sign(expired.AccessKeyID, expired.Secret, "eu-west-1", now), nil, "ExpiredTokenException"},
		{"other region", c.Token, sign(c.AccessKeyID, c.Secret, "us-east-1", now), nil, "InvalidSignatureException"},
		{"clock skew", c.Token, sign(c.AccessKeyID, c.Secret, "eu-west-1", now.Add(-10*time.Minute)), nil, "InvalidSignatureException"},
		{"unsigned x-amz header", c.Token, sign(c.AccessKeyID, c.Secret, "eu-west-1", now),
			func(r *http.Request) { r.Header.Set("X-Amz-Extra", "1") }, "InvalidSignatureException"},
		{"target changed after signing", c.Token, sign(c.AccessKeyID, c.Secret, "eu-west-1", now),
			func(r *http.Request) { r.Header.Set("X-Amz-Target", "AmazonSSM.PutParameter") }, "InvalidSignatureException"},
		{"no authorization", c.Token, nil, nil, "MissingAuthenticationTokenException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := http.NewRequest("POST", a.URL()+"/", bytes.NewReader(body))
			r.Header.Set("Content-Type", "application/x-amz-json-1.1")
			r.Header.Set("X-Amz-Target", "AmazonSSM.GetParameter")
			if tt.token != "" {
				r.Header.Set("X-Amz-Security-Token", tt.token)
			}
			if tt.sign != nil {
				akid, secret, region, at := tt.sign(r)
				r.Host = strings.TrimPrefix(a.URL(), "http://")
				testSign(r, body, akid, secret, region, "ssm", at)
			}
			if tt.tamper != nil {
				tt.tamper(r)
			}
			status, got := doJSON(t, r)
			if tt.wantType == "" {
				if status != 200 {
					t.Fatalf("want 200, got %d %v", status, got)
				}
				return
			}
			if status != 400 || got["__type"] != tt.wantType {
				t.Errorf("want 400 %s, got %d %v", tt.wantType, status, got)
			}
		})
	}
}
