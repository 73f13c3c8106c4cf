package amsargs_test

import (
	"testing"

	"github.com/ams-cluster/ams-aws/internal/amsargs"
)

func TestRefused(t *testing.T) {
	cases := []struct {
		name string
		arg  string
		want bool
	}{
		{"plain app name", "LiveApp", false},
		{"path", "/usr/local/antmedia/webapps", false},
		{"bare url", "mongodb://ams:Abc123_-.~@10.0.1.5:27017", false},
		{"url with database path", "mongodb://ams:pw@10.0.1.5:27017/admin", false},
		{"replica host list", "mongodb://ams:pw@10.0.1.5:27017,10.0.2.5:27017,10.0.3.5:27017", false},
		{"empty", "", false},
		{"query string", "mongodb://ams:pw@10.0.1.5:27017/?authSource=admin", true},
		{"ampersand", "mongodb://h/?replicaSet=ams&authSource=admin", true},
		{"dollar", "pa$s", true},
		{"star", "a*b", true},
		{"braces", "{x}", true},
		{"backslash", `a\b`, true},
		{"double quote", `a"b`, true},
		{"single quote", "a'b", true},
		{"space", "a b", true},
		{"tab", "a\tb", true},
		{"vertical tab is Java whitespace", "a\x0bb", true},
		{"form feed", "a\fb", true},
		{"one newline", "a\nb", true},
		{"carriage return at end", "ab\r", true},
		// Java's "." stops at line terminators, so the match needs the refused
		// character to sit on the only "line": two terminators escape it.
		{"two newlines escape the Java pattern", "a\nb\nc", false},
		{"next line then semicolon escapes it", "a\u0085b;c", false},
		{"semicolon before a line separator escapes it", "a;\u2028b", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := amsargs.Refused(c.arg); got != c.want {
				t.Errorf("Refused(%q) = %v, want %v", c.arg, got, c.want)
			}
		})
	}
}
