package awsapi

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// parameter is an SSM Parameter Store parameter.
type parameter struct {
	Name, Type, Value string
	Version           int
	Modified          time.Time
	// cipher stands for the KMS ciphertext of a SecureString.
	cipher string
}

// parameterArn is a parameter's ARN (SSM API reference, Parameter.ARN;
// "Actions, resources, and condition keys for AWS Systems Manager",
// resource type parameter: arn:${Partition}:ssm:${Region}:${Account}:
// parameter/${ParameterNameWithoutLeadingSlash}).
func (a *AWS) parameterArn(name string) string {
	return fmt.Sprintf("arn:aws:ssm:%s:%s:parameter/%s", a.Region, a.Account, strings.TrimPrefix(name, "/"))
}

// PutParameter stores a parameter as the stack (Pulumi) does, overwriting
// any previous value; secure makes it a SecureString.
func (a *AWS) PutParameter(name, value string, secure bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	typ := "String"
	if secure {
		typ = "SecureString"
	}
	a.storeParameter(name, value, typ)
}

// Parameter reads a parameter's plain value.
func (a *AWS) Parameter(name string) (string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p, ok := a.params[name]
	if !ok {
		return "", false
	}
	return p.Value, true
}

func (a *AWS) storeParameter(name, value, typ string) *parameter {
	p, ok := a.params[name]
	if !ok {
		p = &parameter{Name: name}
		a.params[name] = p
	}
	p.Type, p.Value, p.Modified = typ, value, time.Now()
	p.Version++
	// An opaque stand-in for the KMS ciphertext: no plain text in it.
	sum := sha256.Sum256([]byte(randomString(16, "0123456789abcdef") + value))
	p.cipher = base64.StdEncoding.EncodeToString(append([]byte("AQICAHsandbox"), sum[:]...))
	return p
}

// ssm serves the SSM operations the scripts use. Authorization comes
// before existence: a caller without permission learns nothing about a
// parameter (SSM API reference GetParameter/PutParameter, "Errors").
func (a *AWS) ssm(q *apiRequest, op string) (any, *apiError) {
	if a.throttle > 0 {
		a.throttle--
		return nil, &apiError{"ThrottlingException", "Rate exceeded"}
	}
	var in struct {
		Name           string
		Value          *string
		Type           string
		WithDecryption bool
		Overwrite      bool
	}
	if err := json.Unmarshal(q.body, &in); err != nil {
		return nil, &apiError{"SerializationException", "parsing request: " + err.Error()}
	}
	if op != "GetParameter" && op != "PutParameter" {
		return nil, &apiError{"UnknownOperationException", ""}
	}
	if in.Name == "" {
		return nil, &apiError{"ValidationException", "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null"}
	}
	if aerr := q.authorize("ssm:"+op, a.parameterArn(in.Name), nil); aerr != nil {
		return nil, aerr
	}
	if op == "GetParameter" {
		return a.getParameter(in.Name, in.WithDecryption)
	}
	if in.Value == nil {
		return nil, &apiError{"ValidationException", "1 validation error detected: Value null at 'value' failed to satisfy constraint: Member must not be null"}
	}
	return a.putParameter(in.Name, *in.Value, in.Type, in.Overwrite)
}

// getParameter follows the SSM API reference GetParameter: a SecureString
// read without WithDecryption returns its ciphertext.
func (a *AWS) getParameter(name string, decrypt bool) (any, *apiError) {
	p, ok := a.params[name]
	if !ok {
		return nil, &apiError{"ParameterNotFound", ""}
	}
	value := p.Value
	if p.Type == "SecureString" && !decrypt {
		value = p.cipher
	}
	return map[string]any{"Parameter": map[string]any{
		"Name": p.Name, "Type": p.Type, "Value": value, "Version": p.Version,
		"ARN": a.parameterArn(p.Name), "DataType": "text",
		"LastModifiedDate": float64(p.Modified.UnixMilli()) / 1000,
	}}, nil
}

// putParameter follows the SSM API reference PutParameter.
func (a *AWS) putParameter(name, value, typ string, overwrite bool) (any, *apiError) {
	p, exists := a.params[name]
	switch {
	case exists && !overwrite:
		return nil, &apiError{"ParameterAlreadyExists", "The parameter already exists. To overwrite this value, set the overwrite option in the request to true."}
	case typ == "" && !exists:
		return nil, &apiError{"ValidationException", "A parameter type is required when you create a parameter."}
	case typ == "" && exists:
		typ = p.Type
	case typ != "String" && typ != "StringList" && typ != "SecureString":
		return nil, &apiError{"ValidationException", fmt.Sprintf("1 validation error detected: Value '%s' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [SecureString, StringList, String]", typ)}
	}
	p = a.storeParameter(name, value, typ)
	return map[string]any{"Version": p.Version, "Tier": "Standard"}, nil
}
