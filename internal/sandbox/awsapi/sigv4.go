package awsapi

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// credential is a set of temporary security credentials that IMDS handed
// to an instance for its role.
type credential struct {
	AccessKeyID, Secret, Token string
	Role, Instance             string
	Expiration                 time.Time
}

// principal is the caller's ARN as IAM names it in errors: the role
// session of the instance ("IAM identifiers", assumed-role ARNs).
func (c *credential) principal(account string) string {
	return fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", account, c.Role, c.Instance)
}

func (c *credential) roleArn(account string) string {
	return fmt.Sprintf("arn:aws:iam::%s:role/%s", account, c.Role)
}

// credentialsFor returns the instance's current credentials for role,
// issuing them on first use. Callers hold a.mu.
func (a *AWS) credentialsFor(role, instance string) *credential {
	for _, c := range a.creds {
		if c.Role == role && c.Instance == instance && time.Until(c.Expiration) > time.Hour {
			return c
		}
	}
	c := &credential{
		AccessKeyID: "ASIA" + randomString(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"),
		Secret:      randomString(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"),
		Token:       base64.StdEncoding.EncodeToString([]byte("sandbox-session/" + role + "/" + instance + "/" + randomString(32, "abcdef0123456789"))),
		Role:        role, Instance: instance,
		Expiration: time.Now().Add(6 * time.Hour).UTC().Truncate(time.Second),
	}
	a.creds[c.AccessKeyID] = c
	return c
}

func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// authKind is a class of authentication failure; each protocol has its own
// error code for it.
type authKind int

const (
	authMissing authKind = iota
	authIncomplete
	authUnknownKey
	authBadSignature
	authExpired
)

// authError is a failed SigV4 authentication.
type authError struct {
	kind authKind
	msg  string
}

// in renders the failure as the given service reports it: SSM (JSON) and
// Auto Scaling (Query) API references, "Common Errors".
func (e *authError) in(service string) *apiError {
	json := map[authKind]string{authMissing: "MissingAuthenticationTokenException", authIncomplete: "IncompleteSignatureException",
		authUnknownKey: "UnrecognizedClientException", authBadSignature: "InvalidSignatureException", authExpired: "ExpiredTokenException"}
	query := map[authKind]string{authMissing: "MissingAuthenticationToken", authIncomplete: "IncompleteSignature",
		authUnknownKey: "InvalidClientTokenId", authBadSignature: "SignatureDoesNotMatch", authExpired: "ExpiredToken"}
	if service == "ssm" {
		return &apiError{json[e.kind], e.msg}
	}
	return &apiError{query[e.kind], e.msg}
}

const (
	msgInvalidToken = "The security token included in the request is invalid."
	msgBadSignature = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	// maxSkew is how far a request's X-Amz-Date may be from the server's
	// clock ("Elements of an AWS API request signature": five minutes).
	maxSkew = 5 * time.Minute
)

// sigV4Auth is a parsed Authorization header.
type sigV4Auth struct {
	accessKey, date, region, service string
	signedHeaders                    []string
	signature                        string
}

// parseAuthorization parses "AWS4-HMAC-SHA256 Credential=AKID/date/region/
// service/aws4_request, SignedHeaders=a;b, Signature=hex" (AWS doc "Create a
// signed AWS API request", step 5).
func parseAuthorization(h string) (*sigV4Auth, *authError) {
	if h == "" {
		return nil, &authError{authMissing, "Missing Authentication Token"}
	}
	alg, rest, _ := strings.Cut(h, " ")
	if alg != "AWS4-HMAC-SHA256" {
		return nil, &authError{authIncomplete, "Unsupported signing algorithm " + alg}
	}
	fields := map[string]string{}
	for _, p := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok {
			fields[k] = v
		}
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || scope[4] != "aws4_request" || fields["SignedHeaders"] == "" || fields["Signature"] == "" {
		return nil, &authError{authIncomplete, "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters with a scope ending in aws4_request."}
	}
	return &sigV4Auth{accessKey: scope[0], date: scope[1], region: scope[2], service: scope[3],
		signedHeaders: strings.Split(fields["SignedHeaders"], ";"), signature: fields["Signature"]}, nil
}

// authenticate verifies the request's Signature Version 4 and its session
// token, and returns the caller's credentials and the service the request
// was signed for. Callers hold a.mu.
func (a *AWS) authenticate(r *http.Request, body []byte, now time.Time) (*credential, string, *authError) {
	auth, aerr := parseAuthorization(r.Header.Get("Authorization"))
	if aerr != nil {
		return nil, "", aerr
	}
	// "You must include the host header ... and any x-amz-* headers in the
	// signature" (Create a signed AWS API request, step 1).
	signed := map[string]bool{}
	for _, h := range auth.signedHeaders {
		signed[h] = true
	}
	if !signed["host"] {
		return nil, auth.service, &authError{authIncomplete, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."}
	}
	for name := range r.Header {
		if l := strings.ToLower(name); strings.HasPrefix(l, "x-amz-") && !signed[l] {
			return nil, auth.service, &authError{authBadSignature, fmt.Sprintf("'%s' must be a 'SignedHeader' in the AWS Authorization.", l)}
		}
	}
	stamp := r.Header.Get("X-Amz-Date")
	t, err := time.Parse("20060102T150405Z", stamp)
	if err != nil {
		return nil, auth.service, &authError{authIncomplete, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."}
	}
	if d := now.Sub(t); d > maxSkew || d < -maxSkew {
		return nil, auth.service, &authError{authBadSignature, fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - 5 min.)", stamp,
			now.Add(-maxSkew).UTC().Format("20060102T150405Z"), now.UTC().Format("20060102T150405Z"))}
	}
	if auth.date != stamp[:8] {
		return nil, auth.service, &authError{authBadSignature, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '" + auth.date + "' != '" + stamp[:8] + "'"}
	}
	if auth.region != a.Region {
		return nil, auth.service, &authError{authBadSignature, "Credential should be scoped to a valid region, not '" + auth.region + "'."}
	}
	if auth.service != "ssm" && auth.service != "autoscaling" && auth.service != "monitoring" {
		return nil, "", &authError{authBadSignature, "Credential should be scoped to correct service: '" + auth.service + "'."}
	}
	cred, ok := a.creds[auth.accessKey]
	if !ok {
		return nil, auth.service, &authError{authUnknownKey, msgInvalidToken}
	}
	// Temporary credentials need their session token ("Temporary security
	// credentials" in the same doc).
	if !hmac.Equal([]byte(r.Header.Get("X-Amz-Security-Token")), []byte(cred.Token)) {
		return nil, auth.service, &authError{authUnknownKey, msgInvalidToken}
	}
	if a.keysUnknown(cred.Instance) {
		// Not yet propagated to the service (timing.go).
		return nil, auth.service, &authError{authUnknownKey, msgInvalidToken}
	}
	if now.After(cred.Expiration) {
		return nil, auth.service, &authError{authExpired, "The security token included in the request is expired"}
	}
	want := signature(cred.Secret, auth, stringToSign(auth, stamp, canonicalRequest(r, auth.signedHeaders, body)))
	if !hmac.Equal([]byte(want), []byte(auth.signature)) {
		return nil, auth.service, &authError{authBadSignature, msgBadSignature}
	}
	return cred, auth.service, nil
}

// canonicalRequest builds step 1 of "Create a signed AWS API request".
func canonicalRequest(r *http.Request, signedHeaders []string, body []byte) string {
	var headers strings.Builder
	for _, h := range signedHeaders {
		var values []string
		switch h {
		case "host":
			values = []string{r.Host}
		case "content-length":
			values = []string{strconv.FormatInt(r.ContentLength, 10)}
		default:
			values = append([]string(nil), r.Header.Values(h)...)
		}
		for i, v := range values {
			values[i] = strings.Join(strings.Fields(v), " ")
		}
		headers.WriteString(h + ":" + strings.Join(values, ",") + "\n")
	}
	sum := sha256.Sum256(body)
	return strings.Join([]string{
		r.Method,
		canonicalURI(r.URL),
		canonicalQuery(r.URL.RawQuery),
		headers.String(),
		strings.Join(signedHeaders, ";"),
		hex.EncodeToString(sum[:]),
	}, "\n")
}

// canonicalURI URI-encodes the (already encoded) path once more, as every
// service but S3 expects.
func canonicalURI(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" {
		return "/"
	}
	return uriEncode(p, false)
}

func canonicalQuery(raw string) string {
	if raw == "" {
		return ""
	}
	var pairs []string
	for _, kv := range strings.Split(raw, "&") {
		k, v, _ := strings.Cut(kv, "=")
		k, _ = url.QueryUnescape(k)
		v, _ = url.QueryUnescape(v)
		pairs = append(pairs, uriEncode(k, true)+"="+uriEncode(v, true))
	}
	sort.Strings(pairs)
	return strings.Join(pairs, "&")
}

// uriEncode is UriEncode() of "Create a signed AWS API request": every byte
// but the unreserved characters is percent-encoded with upper-case hex; '/'
// is kept unless encodeSlash.
func uriEncode(s string, encodeSlash bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		case c == '/' && !encodeSlash:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// stringToSign builds step 3.
func stringToSign(auth *sigV4Auth, stamp, canonical string) string {
	sum := sha256.Sum256([]byte(canonical))
	scope := strings.Join([]string{auth.date, auth.region, auth.service, "aws4_request"}, "/")
	return "AWS4-HMAC-SHA256\n" + stamp + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
}

// signature derives the signing key and signs (step 4).
func signature(secret string, auth *sigV4Auth, toSign string) string {
	k := hmacSHA256([]byte("AWS4"+secret), auth.date)
	k = hmacSHA256(k, auth.region)
	k = hmacSHA256(k, auth.service)
	k = hmacSHA256(k, "aws4_request")
	return hex.EncodeToString(hmacSHA256(k, toSign))
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}
