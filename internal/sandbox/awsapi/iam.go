package awsapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// AddRole adds an IAM role with an inline policy, given as the JSON
// document the stack registers. Adding a role again adds another inline
// policy. A document IAM would refuse (or that uses a condition operator
// the stand-in does not evaluate) fails the test.
func (a *AWS) AddRole(name, policyJSON string) {
	a.t.Helper()
	doc, err := parsePolicy(policyJSON)
	if err != nil {
		a.t.Fatalf("AddRole %s: MalformedPolicyDocument: %v", name, err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.roles[name] = append(a.roles[name], doc)
}

// policyDoc is an identity-based policy ("IAM JSON policy element
// reference").
type policyDoc struct {
	Version   string
	Statement []policyStatement
}

// policyStatement is one statement of a policy.
type policyStatement struct {
	Sid                   string
	Effect                string
	Principal             json.RawMessage
	Action, NotAction     stringList
	Resource, NotResource stringList
	Condition             map[string]map[string]stringList
}

// stringList is a policy value that is a string or an array of strings.
type stringList []string

// UnmarshalJSON accepts a string or an array of strings (booleans and
// numbers, as IAM allows in conditions, become their text).
func (l *stringList) UnmarshalJSON(b []byte) error {
	var one any
	if err := json.Unmarshal(b, &one); err != nil {
		return err
	}
	items, isList := one.([]any)
	if !isList {
		items = []any{one}
	}
	for _, it := range items {
		switch v := it.(type) {
		case string:
			*l = append(*l, v)
		case bool, float64:
			*l = append(*l, fmt.Sprint(v))
		default:
			return fmt.Errorf("policy value %s is not a string", b)
		}
	}
	return nil
}

func parsePolicy(s string) (*policyDoc, error) {
	var raw struct {
		Version   string
		Statement json.RawMessage
	}
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return nil, fmt.Errorf("parsing policy: %w", err)
	}
	doc := &policyDoc{Version: raw.Version}
	if len(raw.Statement) > 0 && raw.Statement[0] == '{' {
		raw.Statement = append(append([]byte{'['}, raw.Statement...), ']')
	}
	if err := json.Unmarshal(raw.Statement, &doc.Statement); err != nil {
		return nil, fmt.Errorf("parsing statements: %w", err)
	}
	if doc.Version != "2012-10-17" && doc.Version != "2008-10-17" {
		return nil, fmt.Errorf("unsupported Version %q", doc.Version)
	}
	for i, st := range doc.Statement {
		if err := st.validate(); err != nil {
			return nil, fmt.Errorf("statement %d (%s): %w", i, st.Sid, err)
		}
	}
	return doc, nil
}

// validate applies the grammar of "IAM JSON policy elements".
func (st *policyStatement) validate() error {
	switch {
	case st.Effect != "Allow" && st.Effect != "Deny":
		return fmt.Errorf("Effect must be Allow or Deny, not %q", st.Effect)
	case len(st.Principal) > 0:
		return errors.New("an identity-based policy cannot name a Principal")
	case (len(st.Action) == 0) == (len(st.NotAction) == 0):
		return errors.New("exactly one of Action and NotAction is required")
	case (len(st.Resource) == 0) == (len(st.NotResource) == 0):
		return errors.New("exactly one of Resource and NotResource is required")
	}
	for op := range st.Condition {
		if _, _, ok := conditionOperator(op); !ok {
			return fmt.Errorf("condition operator %q is not supported by the sandbox", op)
		}
	}
	return nil
}

// conditionKeys are the condition keys of a request context, by lower-case
// name (condition key names are case-insensitive: "IAM JSON policy
// elements: Condition").
type conditionKeys map[string][]string

func (k conditionKeys) set(name string, values ...string) {
	k[strings.ToLower(name)] = values
}

// with returns the union of k and other (k wins).
func (k conditionKeys) with(other conditionKeys) conditionKeys {
	out := conditionKeys{}
	for n, v := range other {
		out[n] = v
	}
	for n, v := range k {
		out[n] = v
	}
	return out
}

// resourceTagKeys are the keys a tagged resource puts in the request
// context: <service>:ResourceTag/<key> and aws:ResourceTag/<key> (Service
// Authorization Reference; for Auto Scaling groups "Actions, resources, and
// condition keys for Amazon EC2 Auto Scaling", resource type
// autoScalingGroup).
func resourceTagKeys(service string, tags map[string]string) conditionKeys {
	k := conditionKeys{}
	for key, v := range tags {
		k.set(service+":ResourceTag/"+key, v)
		k.set("aws:ResourceTag/"+key, v)
	}
	return k
}

// authzRequest is what IAM decides on.
type authzRequest struct {
	Action, Resource string
	Keys             conditionKeys
}

type decision int

const (
	implicitDeny decision = iota
	allowed
	explicitDeny
)

// evaluate decides a request against identity-based policies ("Policy
// evaluation logic": an explicit Deny overrides any Allow; without an
// Allow the request is implicitly denied).
func evaluate(policies []*policyDoc, req authzRequest) decision {
	d := implicitDeny
	for _, p := range policies {
		for i := range p.Statement {
			st := &p.Statement[i]
			if !st.applies(req) {
				continue
			}
			if st.Effect == "Deny" {
				return explicitDeny
			}
			d = allowed
		}
	}
	return d
}

func (st *policyStatement) applies(req authzRequest) bool {
	// Actions are case-insensitive, resources case-sensitive ("IAM JSON
	// policy elements: Action / Resource").
	if len(st.Action) > 0 && !anyGlob(st.Action, req.Action, true) ||
		len(st.NotAction) > 0 && anyGlob(st.NotAction, req.Action, true) ||
		len(st.Resource) > 0 && !anyGlob(st.Resource, req.Resource, false) ||
		len(st.NotResource) > 0 && anyGlob(st.NotResource, req.Resource, false) {
		return false
	}
	// Operators and keys are ANDed, values of one key ORed ("Creating a
	// condition with multiple keys or values").
	for op, keys := range st.Condition {
		for key, values := range keys {
			if !conditionHolds(op, values, req.Keys[strings.ToLower(key)]) {
				return false
			}
		}
	}
	return true
}

func anyGlob(patterns []string, s string, fold bool) bool {
	for _, p := range patterns {
		if fold && glob(strings.ToLower(p), strings.ToLower(s)) || !fold && glob(p, s) {
			return true
		}
	}
	return false
}

// conditionOperator resolves an operator name ("IAM JSON policy elements:
// Condition operators") to a value matcher; negated operators match when
// no policy value matches, and the IfExists suffix makes a missing key
// true. Null is handled by conditionHolds.
func conditionOperator(op string) (match func(policy, value string) bool, negated, ok bool) {
	base := strings.TrimSuffix(op, "IfExists")
	switch base {
	case "StringEquals", "StringNotEquals":
		return func(p, v string) bool { return p == v }, base == "StringNotEquals", true
	case "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase":
		return strings.EqualFold, base == "StringNotEqualsIgnoreCase", true
	case "StringLike", "StringNotLike":
		return glob, base == "StringNotLike", true
	case "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike":
		return arnLike, base == "ArnNotEquals" || base == "ArnNotLike", true
	case "Bool":
		return strings.EqualFold, false, true
	case "Null":
		return nil, false, op == "Null"
	}
	return nil, false, false
}

// conditionHolds evaluates one operator and key. "If the key that you
// specify in a policy condition is not present in the request context, the
// values do not match and the condition is false" — true for negated
// operators and ...IfExists (Condition operators).
func conditionHolds(op string, policyValues, values []string) bool {
	if op == "Null" {
		want := len(policyValues) > 0 && strings.EqualFold(policyValues[0], "true")
		return want == (len(values) == 0)
	}
	match, negated, _ := conditionOperator(op)
	if len(values) == 0 {
		return negated || strings.HasSuffix(op, "IfExists")
	}
	matched := false
	for _, p := range policyValues {
		for _, v := range values {
			if match(p, v) {
				matched = true
			}
		}
	}
	return matched != negated
}

// arnLike compares ARNs component by component, each a glob ("Amazon
// Resource Name (ARN) condition operators").
func arnLike(pattern, arn string) bool {
	p, a := strings.SplitN(pattern, ":", 6), strings.SplitN(arn, ":", 6)
	if len(p) != 6 || len(a) != 6 {
		return false
	}
	for i := range p {
		if !glob(p[i], a[i]) {
			return false
		}
	}
	return true
}

// glob matches s against a pattern in which * matches any run of
// characters and ? any one character.
func glob(pattern, s string) bool {
	px, sx := 0, 0
	star, mark := -1, 0
	for sx < len(s) {
		switch {
		case px < len(pattern) && (pattern[px] == '?' || pattern[px] == s[sx]):
			px++
			sx++
		case px < len(pattern) && pattern[px] == '*':
			star, mark = px, sx
			px++
		case star >= 0:
			px = star + 1
			mark++
			sx = mark
		default:
			return false
		}
	}
	for px < len(pattern) && pattern[px] == '*' {
		px++
	}
	return px == len(pattern)
}
