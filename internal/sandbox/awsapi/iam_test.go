package awsapi

import (
	"testing"
)

// TestIAMPolicyEvaluation is the policy evaluation table.
func TestIAMPolicyEvaluation(t *testing.T) {
	const grp = "arn:aws:autoscaling:eu-west-1:123456789012:autoScalingGroup:u-1:autoScalingGroupName/g"
	tagged := resourceTagKeys("autoscaling", map[string]string{"ams:group": "ams-cluster/dev/origin"})
	tests := []struct {
		name     string
		policy   string
		action   string
		resource string
		keys     conditionKeys
		want     decision
	}{
		{"exact allow", `{"Effect":"Allow","Action":"ssm:GetParameter","Resource":"arn:aws:ssm:r:1:parameter/a"}`,
			"ssm:GetParameter", "arn:aws:ssm:r:1:parameter/a", nil, allowed},
		{"other resource", `{"Effect":"Allow","Action":"ssm:GetParameter","Resource":"arn:aws:ssm:r:1:parameter/a"}`,
			"ssm:GetParameter", "arn:aws:ssm:r:1:parameter/b", nil, implicitDeny},
		{"action case and wildcard", `{"Effect":"Allow","Action":["SSM:get*"],"Resource":"*"}`,
			"ssm:GetParameter", "x", nil, allowed},
		{"action ? wildcard", `{"Effect":"Allow","Action":"ssm:?etParameter","Resource":"*"}`,
			"ssm:GetParameter", "x", nil, allowed},
		{"resource is case-sensitive", `{"Effect":"Allow","Action":"ssm:GetParameter","Resource":"arn:aws:ssm:r:1:parameter/A"}`,
			"ssm:GetParameter", "arn:aws:ssm:r:1:parameter/a", nil, implicitDeny},
		{"resource wildcard", `{"Effect":"Allow","Action":"ssm:GetParameter","Resource":"arn:aws:ssm:r:1:parameter/ams/*"}`,
			"ssm:GetParameter", "arn:aws:ssm:r:1:parameter/ams/dev/db", nil, allowed},
		{"explicit deny wins", `[{"Effect":"Allow","Action":"ssm:*","Resource":"*"},{"Effect":"Deny","Action":"ssm:GetParameter","Resource":"*"}]`,
			"ssm:GetParameter", "x", nil, explicitDeny},
		{"NotAction", `{"Effect":"Allow","NotAction":"ssm:PutParameter","Resource":"*"}`,
			"ssm:GetParameter", "x", nil, allowed},
		{"NotResource", `{"Effect":"Allow","Action":"ssm:GetParameter","NotResource":"arn:aws:ssm:r:1:parameter/a"}`,
			"ssm:GetParameter", "arn:aws:ssm:r:1:parameter/a", nil, implicitDeny},
		{"tag condition holds", `{"Effect":"Allow","Action":"autoscaling:CompleteLifecycleAction","Resource":"*","Condition":{"StringEquals":{"autoscaling:ResourceTag/ams:group":"ams-cluster/dev/origin"}}}`,
			"autoscaling:CompleteLifecycleAction", grp, tagged, allowed},
		{"aws:ResourceTag too", `{"Effect":"Allow","Action":"autoscaling:CompleteLifecycleAction","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/ams:group":"ams-cluster/dev/origin"}}}`,
			"autoscaling:CompleteLifecycleAction", grp, tagged, allowed},
		{"condition key name is case-insensitive", `{"Effect":"Allow","Action":"a:b","Resource":"*","Condition":{"StringEquals":{"AutoScaling:resourcetag/AMS:Group":"ams-cluster/dev/origin"}}}`,
			"a:b", grp, tagged, allowed},
		{"tag value differs", `{"Effect":"Allow","Action":"autoscaling:CompleteLifecycleAction","Resource":"*","Condition":{"StringEquals":{"autoscaling:ResourceTag/ams:group":"ams-cluster/dev/edge"}}}`,
			"autoscaling:CompleteLifecycleAction", grp, tagged, implicitDeny},
		{"missing key: StringEquals false", `{"Effect":"Allow","Action":"a:b","Resource":"*","Condition":{"StringEquals":{"autoscaling:ResourceTag/ams:group":"x"}}}`,
			"a:b", grp, nil, implicitDeny},
		{"missing key: StringNotEquals true", `{"Effect":"Allow","Action":"a:b","Resource":"*","Condition":{"StringNotEquals":{"autoscaling:ResourceTag/ams:group":"x"}}}`,
			"a:b", grp, nil, allowed},
		{"missing key: IfExists true", `{"Effect":"Allow","Action":"a:b","Resource":"*","Condition":{"StringEqualsIfExists":{"autoscaling:ResourceTag/ams:group":"x"}}}`,
			"a:b", grp, nil, allowed},
		{"present key: IfExists checks", `{"Effect":"Allow","Action":"a:b","Resource":"*","Condition":{"StringEqualsIfExists":{"autoscaling:ResourceTag/ams:group":"x"}}}`,
			"a:b", grp, tagged, implicitDeny},
		{"values are ORed", `{"Effect":"Allow","Action":"a:b","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/ams:group":["x","ams-cluster/dev/origin"]}}}`,
			"a:b", grp, tagged, allowed},
		{"keys are ANDed", `{"Effect":"Allow","Action":"a:b","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/ams:group":"ams-cluster/dev/origin","aws:ResourceTag/other":"y"}}}`,
			"a:b", grp, tagged, implicitDeny},
		{"StringLike", `{"Effect":"Allow","Action":"a:b","Resource":"*","Condition":{"StringLike":{"aws:ResourceTag/ams:group":"ams-cluster/*"}}}`,
			"a:b", grp, tagged, allowed},
		{"ArnLike per component", `{"Effect":"Allow","Action":"a:b","Resource":"*","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/node"}}}`,
			"a:b", grp, conditionKeys{"aws:principalarn": {"arn:aws:iam::123456789012:role/node"}}, allowed},
		{"Null true on missing key", `{"Effect":"Allow","Action":"a:b","Resource":"*","Condition":{"Null":{"aws:ResourceTag/ams:group":"true"}}}`,
			"a:b", grp, nil, allowed},
		{"deny with condition", `[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringNotEquals":{"aws:ResourceTag/ams:group":"ams-cluster/dev/origin"}}}]`,
			"a:b", grp, nil, explicitDeny},
		{"no statement", `[]`, "a:b", grp, nil, implicitDeny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := parsePolicy(`{"Version":"2012-10-17","Statement":` + tt.policy + `}`)
			if err != nil {
				t.Fatalf("parsePolicy: %v", err)
			}
			if got := evaluate([]*policyDoc{doc}, authzRequest{Action: tt.action, Resource: tt.resource, Keys: tt.keys}); got != tt.want {
				t.Errorf("want %v, got %v", tt.want, got)
			}
		})
	}
}

// TestIAMRejectsMalformedPolicies checks what IAM would refuse at
// PutRolePolicy.
func TestIAMRejectsMalformedPolicies(t *testing.T) {
	for name, doc := range map[string]string{
		"not JSON":           `{`,
		"no version":         `{"Statement":[]}`,
		"bad effect":         `{"Version":"2012-10-17","Statement":{"Effect":"Maybe","Action":"*","Resource":"*"}}`,
		"principal":          `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}`,
		"no resource":        `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*"}}`,
		"action and not":     `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","NotAction":"x","Resource":"*"}}`,
		"unknown operator":   `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringSortOf":{"k":"v"}}}}`,
		"unsupported ForAny": `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForAnyValue:StringEquals":{"k":"v"}}}}`,
	} {
		if _, err := parsePolicy(doc); err == nil {
			t.Errorf("%s: want an error, got none", name)
		}
	}
}

// TestIAMStackPolicy evaluates the instance policy the stack registers
// (components/instancerole.go instancePolicy) as the nodes use it.
func TestIAMStackPolicy(t *testing.T) {
	doc, err := parsePolicy(`{"Statement":[{"Action":["ssm:UpdateInstanceInformation","ssmmessages:CreateControlChannel"],"Effect":"Allow","Resource":"*","Sid":"SessionManager"},` +
		`{"Action":["ssm:GetParameter"],"Effect":"Allow","Resource":["arn:aws:ssm:eu-west-1:123456789012:parameter/ams-cluster/dev/db-url"],"Sid":"ReadOwnParameters"}],"Version":"2012-10-17"}`)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		action, resource string
		want             decision
	}{
		{"ssm:GetParameter", "arn:aws:ssm:eu-west-1:123456789012:parameter/ams-cluster/dev/db-url", allowed},
		{"ssm:GetParameter", "arn:aws:ssm:eu-west-1:123456789012:parameter/ams-cluster/dev/db-admin", implicitDeny},
		{"ssm:PutParameter", "arn:aws:ssm:eu-west-1:123456789012:parameter/ams-cluster/dev/db-url", implicitDeny},
	} {
		if got := evaluate([]*policyDoc{doc}, authzRequest{Action: tt.action, Resource: tt.resource}); got != tt.want {
			t.Errorf("%s on %s: want %v, got %v", tt.action, tt.resource, tt.want, got)
		}
	}
}
