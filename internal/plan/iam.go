package plan

import (
	"encoding/json"
	"sort"
	"strings"

	"github.com/ams-cluster/ams-aws/internal/mockaws"
)

// services lists the AWS services (action prefixes: "ssm", "logs") that the
// inline policies of the role of an instance or a group's launch template
// allow.
func (p *Plan) services(holder *mockaws.Resource) []string {
	var profileRef string
	switch holder.Type {
	case typeInstance:
		profileRef = holder.Str("iamInstanceProfile")
	case typeGroup:
		if lt := p.r.ByID(holder.Str("launchTemplate.id")); lt != nil {
			profileRef = lt.Str("iamInstanceProfile.arn")
			if profileRef == "" {
				profileRef = lt.Str("iamInstanceProfile.name")
			}
		}
	}
	if profileRef == "" {
		return nil
	}
	var roleRef string
	for _, ip := range p.r.OfType("aws:iam/instanceProfile:InstanceProfile") {
		if profileRef == ip.StateStr("arn") || profileRef == ip.StateStr("name") || profileRef == ip.ID {
			roleRef = ip.Str("role")
		}
	}
	var role *mockaws.Resource
	for _, r := range p.r.OfType("aws:iam/role:Role") {
		if roleRef != "" && (roleRef == r.ID || roleRef == r.StateStr("name") || roleRef == r.StateStr("arn")) {
			role = r
		}
	}
	if role == nil {
		return nil
	}
	seen := map[string]bool{}
	for _, rp := range p.r.OfType("aws:iam/rolePolicy:RolePolicy") {
		if ref := rp.Str("role"); ref != role.ID && ref != role.StateStr("name") {
			continue
		}
		var doc struct {
			Statement []struct {
				Effect string
				Action any
			}
		}
		if json.Unmarshal([]byte(rp.Str("policy")), &doc) != nil {
			continue
		}
		for _, st := range doc.Statement {
			if st.Effect != "Allow" {
				continue
			}
			var actions []string
			switch a := st.Action.(type) {
			case string:
				actions = []string{a}
			case []any:
				for _, x := range a {
					if s, ok := x.(string); ok {
						actions = append(actions, s)
					}
				}
			}
			for _, a := range actions {
				if service, _, ok := strings.Cut(a, ":"); ok {
					seen[service] = true
				}
			}
		}
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}
