package awsapi

import (
	"slices"
)

// RefuseRole makes IAM refuse every call made with the role's credentials,
// as for the first seconds of a new instance role while IAM propagates,
// until restore is called: an explicit Deny of everything overrides any
// Allow ("Policy evaluation logic").
func (a *AWS) RefuseRole(name string) (restore func()) {
	a.t.Helper()
	deny, err := parsePolicy(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`)
	if err != nil {
		a.t.Fatal(err)
	}
	a.mu.Lock()
	a.roles[name] = append(a.roles[name], deny)
	a.mu.Unlock()
	return func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.roles[name] = slices.DeleteFunc(a.roles[name], func(d *policyDoc) bool { return d == deny })
	}
}
