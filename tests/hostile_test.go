package tests

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/ams-cluster/ams-aws/internal/settings"
	"mvdan.cc/sh/v3/syntax"
)

// hostileMarker is in every hostile payload, so that a test can find where
// a payload landed in a rendered script.
const hostileMarker = "pwned17"

// hostilePayloads are values an attacker with write access to a stack file
// would try: end the here-document that ams-bootstrap.sh writes ams-node.sh
// in and run a line as root, break out of a quote, substitute a command, a
// NUL, and a value too long for anything.
var hostilePayloads = map[string]string{
	"here-document end":     "a@example.com\nNODE\ntouch /tmp/" + hostileMarker + "\ncat <<'NODE'",
	"single quote":          "a@example.com'; touch /tmp/" + hostileMarker + "; '",
	"double quote":          `a@example.com"; touch /tmp/` + hostileMarker + `; "`,
	"command substitution":  "a$(touch /tmp/" + hostileMarker + ")@example.com",
	"backquotes":            "a`touch /tmp/" + hostileMarker + "`@example.com",
	"NUL":                   "a@example.com\x00" + hostileMarker,
	"carriage return":       "a@example.com\r" + hostileMarker,
	"very long":             strings.Repeat("a", 100000) + hostileMarker + "@example.com",
	"plain but in a script": "ops-" + hostileMarker + "@example.com",
}

// hostileCompanions are the keys a key is only read with; without them the
// message would be about the companion.
var hostileCompanions = map[string]map[string]string{
	"domainName":        {"hostedZoneId": "Z0123456789ABCDEFGHIJ"},
	"hostedZoneId":      {"domainName": "live.example.com"},
	"existingSubnetIds": {"existingVpcId": "vpc-0a1b2c3d4e5f60718"},
	"existingVpcId":     {"existingSubnetIds": `["subnet-0a1b2c3d4e5f60718","subnet-0b1c2d3e4f5a60718"]`},
	"sshPublicKey":      {"adminCidr": "203.0.113.7/32"},
}

// TestHostileSettingsAreRefusedByKeyOrInert renders every string setting of
// Pulumi.yaml with every hostile payload: each is either refused with a
// message naming its key, or reaches the boot scripts only as one
// single-quoted shell word, and every script still parses (mvdan.cc/sh and
// bash -n) with no line the payload added.
func TestHostileSettingsAreRefusedByKeyOrInert(t *testing.T) {
	raw, err := os.ReadFile("../Pulumi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := settings.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	tried, inert := 0, 0
	for _, k := range keys {
		if k.Type != "string" && !(k.Type == "array" && k.Items == "string") {
			continue
		}
		for name, payload := range hostilePayloads {
			value := payload
			if k.Type == "array" {
				b, _ := json.Marshal([]string{payload})
				value = string(b)
			}
			config := map[string]string{k.Name: value}
			for ck, cv := range hostileCompanions[k.Name] {
				config[ck] = cv
			}
			tried++
			r := runProgram(t, stackConfig(t, "Pulumi.dev.yaml", config))
			if r.err != nil {
				if !strings.Contains(r.err.Error(), "ams-cluster:"+k.Name+" = ") {
					t.Errorf("%s = %s: refused without naming the key: %.300s", k.Name, name, r.err)
				}
				if strings.Contains(r.err.Error(), strings.Repeat("a", 1000)) {
					t.Errorf("%s = %s: the message repeats the whole value", k.Name, name)
				}
				continue
			}
			inert++
			for script, text := range hostileScripts(t, r) {
				checkInert(t, k.Name+" = "+name+": "+script, text, payload)
			}
		}
	}
	t.Logf("%d hostile settings tried, %d accepted and inert", tried, inert)
	if tried < 200 {
		t.Errorf("only %d settings tried", tried)
	}
}

// hostileScripts are every boot script a run rendered: each user data and
// the programs it writes in here-documents, by name.
func hostileScripts(t *testing.T, r *run) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, typ := range []string{"aws:ec2/instance:Instance", "aws:ec2/launchTemplate:LaunchTemplate"} {
		for _, res := range r.ofType(typ) {
			script := userData(t, res)
			if script == "" {
				continue
			}
			outer := script
			for _, tag := range []string{"NODE", "AGENT", "PY"} {
				if !strings.Contains(script, "<<'"+tag+"'\n") {
					continue
				}
				body := heredoc(t, script, tag)
				if tag != "PY" {
					out[res.Name+" "+tag] = body
				}
				outer = strings.Replace(outer, body, "\n", 1)
			}
			out[res.Name] = outer
		}
	}
	return out
}

// checkInert fails unless script parses as bash (mvdan.cc/sh and bash -n)
// and every occurrence of the hostile marker is inside a single-quoted word
// whose value is the whole payload.
func checkInert(t *testing.T, name, script, payload string) {
	t.Helper()
	file, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(script), name)
	if err != nil {
		t.Errorf("%s does not parse: %v", name, err)
		return
	}
	cmd := exec.Command("bash", "-n")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("%s: bash -n: %v\n%s", name, err, out)
	}
	quoted := 0
	syntax.Walk(file, func(n syntax.Node) bool {
		w, ok := n.(*syntax.Word)
		if !ok {
			return true
		}
		value, literal := wordValue(w)
		if !strings.Contains(value, hostileMarker) {
			return true
		}
		quoted += strings.Count(value, hostileMarker)
		if !literal || value != payload {
			t.Errorf("%s: the payload is not one literal word of its own: %q", name, value)
		}
		return false
	})
	if n := strings.Count(script, hostileMarker); n != quoted {
		t.Errorf("%s: the payload's marker appears %d times, %d of them in single-quoted words", name, n, quoted)
	}
}

// wordValue is the value of a shell word made of single-quoted parts and
// backslash-escaped literals ('a'\”b' is a'b), and whether it is only
// that: a word with an expansion or substitution is not a literal.
func wordValue(w *syntax.Word) (string, bool) {
	var b strings.Builder
	literal := true
	for _, part := range w.Parts {
		switch p := part.(type) {
		case *syntax.SglQuoted:
			b.WriteString(p.Value)
		case *syntax.Lit:
			b.WriteString(strings.ReplaceAll(p.Value, `\'`, "'"))
		default:
			literal = false
			b.WriteString(syntaxText(part))
		}
	}
	return b.String(), literal
}

// syntaxText prints a node as shell text.
func syntaxText(n syntax.Node) string {
	var b strings.Builder
	_ = syntax.NewPrinter().Print(&b, n)
	return b.String()
}
