package tests

import "testing"

func TestSmoke(t *testing.T) {
	r := deploy(t, nil)
	for _, res := range r.resources {
		t.Logf("%-55s %s", res.Type, res.Name)
	}
	for _, k := range keys(r.outputs) {
		t.Logf("%s = %v (secret %v)", k, r.outputs[k].Value, r.outputs[k].Secret)
	}
}
