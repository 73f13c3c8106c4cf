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

// User data keeps code, shebangs and shellcheck directives, not comment lines.
func TestWithoutCommentLines(t *testing.T) {
	in := "#!/bin/bash\n# a comment\n  # indented\n#\nx=1 # trailing stays\n# shellcheck disable=SC2086\necho \"#not\"\n#{x}\n"
	want := "#!/bin/bash\nx=1 # trailing stays\n# shellcheck disable=SC2086\necho \"#not\"\n#{x}\n"
	if got := withoutCommentLines(in); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
