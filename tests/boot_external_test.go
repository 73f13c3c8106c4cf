package tests

import (
	"strings"
	"testing"
	"time"

	"github.com/ams-cluster/ams-aws/components"
	"github.com/ams-cluster/ams-aws/internal/sandbox"
)

// TestBootOnExternalDatabase boots an AMS node of the stack deployed with
// databaseUrlParameter: no readiness parameter, the URL in a parameter the
// stack does not own, and instance roles that may read only that one and
// the panel's. The "external" database is a MongoDB the sandbox runs, late:
// the node must wait for it (through its wait for the panel's user store),
// then join with the URL, claim the panel and go into service.
func TestBootOnExternalDatabase(t *testing.T) {
	for _, tm := range timings() {
		t.Run(tm.name, func(t *testing.T) {
			t.Parallel()
			bootOnExternalDatabase(t, tm.timing)
		})
	}
}

func bootOnExternalDatabase(t *testing.T, timing sandbox.Timing) {
	c := newBootCluster(t, stackScripts()).timed(timing)
	ext := deploy(t, externalDatabase(map[string]string{"panelAdminEmail": "ops@example.com"}))
	f := &failures{t: t}

	// The database's URL, kept by its owner in the parameter the stack names.
	url := c.params[c.urlParam]
	c.w.AWS.PutParameter(atlasParameter, url, true)
	for _, p := range ext.ofType("aws:ssm/parameter:Parameter") {
		value := p.str("value")
		if value == "" {
			value = p.str("insecureValue")
		}
		c.w.AWS.PutParameter(p.str("name"), value, p.str("type") == "SecureString")
		f.check(!strings.Contains(p.str("name"), "/mongodb/"), "the external-database stack registers %s", p.str("name"))
	}
	// The nodes run with the external stack's roles and boot scripts.
	extCluster := &bootCluster{t: t, r: ext}
	for _, role := range []string{components.RoleOrigin, components.RoleEdge} {
		lt := ext.one(t, "aws:ec2/launchTemplate:LaunchTemplate", "-"+role)
		roleName := extCluster.roleOfProfile(lt.str("iamInstanceProfile.arn"))
		c.amsRoles[role] = "external-" + roleName
		for _, rp := range ext.ofType("aws:iam/rolePolicy:RolePolicy") {
			if r := ext.byID(rp.str("role")); r != nil && stateString(r, "name") == roleName {
				c.w.AWS.AddRole(c.amsRoles[role], rp.str("policy"))
			}
		}
	}
	c.scripts.ams = func(_ *bootCluster, role string) string {
		return userData(t, ext.one(t, "aws:ec2/launchTemplate:LaunchTemplate", "-"+role))
	}

	mongo := c.mongoNode(c.mongoID, 5) // launched; its boot comes late
	origin := c.amsNode(components.RoleOrigin, "i-0a1b2c3d4e5f60031", "10.20.0.61")
	run := c.bootAMS(origin, components.RoleOrigin)
	reached := waitFor(60*time.Second, func() bool { return strings.Contains(run.Output(), "joining the cluster") || run.Done() })
	f.check(reached && !run.Done(), "the node did not reach the join, or stopped, before the database was up:\n%s", tail(run.Output(), 15))
	f.check(strings.Contains(run.Output(), "no readiness parameter"), "the node does not say it has no readiness parameter:\n%s", tail(run.Output(), 15))
	f.check(!c.inService(origin.ID), "the node is in service before the database answers")
	c.checkRun(f, c.bootMongo(mongo), "the database's boot")
	res := run.Wait()
	c.checkRun(f, res, "the origin's boot script on the external database")
	mode, joined := origin.AMSMode()
	f.check(mode == "cluster" && joined == url, "the node runs in mode %q with database %q, want cluster mode with the external URL", mode, redact(joined))
	c.panelIsOurs(f, origin, "after the origin booted on the external database")
	c.continued(f, origin, "the node")
	// A second node, the database up, joins and finds the panel claimed.
	edge := c.amsNode(components.RoleEdge, "i-0a1b2c3d4e5f60032", "10.20.0.62")
	c.checkRun(f, c.bootAMS(edge, components.RoleEdge).Wait(), "the edge's boot script on the external database")
	c.panelIsOurs(f, edge, "after the edge booted")
	for _, l := range f.list {
		t.Error(l)
	}
}
