package components

import "testing"

// The boot scripts are parsed once: every render uses the same template set.
func TestBootTemplatesAreParsedOnce(t *testing.T) {
	a, err := bootTemplates()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := bootTemplates()
	if a != b {
		t.Error("each call parsed the scripts anew")
	}
	if a.Lookup("ams-bootstrap.sh") == nil || a.Lookup("mongo-bootstrap.sh") == nil {
		t.Errorf("template set lacks the boot scripts: %s", a.DefinedTemplates())
	}
}
