package tests

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/ams-cluster/ams-aws/internal/amsargs"
)

// Ant Media 3.0.2 and 3.0.3 pass the cluster database URL to create_app.sh
// and discard the command when an argument has a character of their
// refused set (internal/amsargs). Every URL the stack can build must pass:
// one member and a replica set, with any password the stack can generate.

// passwordAlphabet is every character a generated password can hold:
// pulumi-random's RandomPassword with upper, lower and numeric on (their
// defaults) and special off.
const passwordAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func TestDatabaseURLsPassAntMediaArgumentCheck(t *testing.T) {
	for name, config := range map[string]map[string]string{
		"single member": nil,
		"replica set":   replicaConfig(),
	} {
		t.Run(name, func(t *testing.T) {
			r := deploy(t, config)
			pwRes := r.one(t, "random:index/randomPassword:RandomPassword", "-mongo-app-password")
			for _, key := range []string{"special", "upper", "lower", "numeric"} {
				want := key != "special"
				if v := unsecret(pwRes.input(key)); v.IsBool() && v.BoolValue() != want {
					t.Errorf("the application password has %s=%v: its alphabet would not be letters and digits", key, v.BoolValue())
				}
			}
			if v := unsecret(pwRes.input("overrideSpecial")); v.IsString() && v.StringValue() != "" {
				t.Errorf("the application password overrides its special characters with %q", v.StringValue())
			}
			pw := stateString(pwRes, "result")
			url := r.one(t, "aws:ssm/parameter:Parameter", "-mongo-url").str("value")
			if !strings.Contains(url, ":"+pw+"@") {
				t.Fatalf("the URL %s does not carry the generated password", redact(url))
			}
			// The URL as built, and with every character a password can hold.
			for _, u := range []string{url, strings.Replace(url, ":"+pw+"@", ":"+passwordAlphabet+"@", 1)} {
				if amsargs.Refused(u) {
					t.Errorf("Ant Media 3.0.2/3.0.3 refuse create_app.sh with the database URL %s", redact(u))
				}
			}
		})
	}
}

// A URL the stack does not build (databaseUrlParameter names the user's own)
// may carry options such as ?retryWrites=true&w=majority, which Ant Media
// 3.0.2/3.0.3 discard as create_app.sh's argument, so that no application
// beyond the image's own can be created. The node warns, before it joins,
// for exactly the URLs amsargs.Refused says Ant Media would discard, and its
// log names none of the URL.
func TestNodeWarnsOfDatabaseURLsAntMediaWouldDiscard(t *testing.T) {
	node := renderedScripts(t, deploy(t, sshAccess(), "ams-cluster:sshPrivateKey"))["origin ams-node.sh"]
	_, rest, ok := strings.Cut(node, "\ncheck_database_url() {\n")
	if !ok {
		t.Fatal("ams-node.sh has no check_database_url")
	}
	body, _, ok := strings.Cut(rest, "\n}\n")
	if !ok {
		t.Fatal("check_database_url does not end")
	}
	if !strings.Contains(node, "\n  check_database_url\n  wait_for_database\n") {
		t.Error("ams-node.sh does not check the URL it reads before it waits for the database and joins")
	}
	fn := "check_database_url() {\n" + body + "\n}\n"
	urls := []string{
		"mongodb://ams:pw@10.0.1.5:27017/admin",
		"mongodb://ams:pw@10.0.1.5,10.0.2.5,10.0.3.5/admin",
		"mongodb+srv://ams:pw@cluster0.example.mongodb.net/admin",
		"mongodb+srv://ams:pw@cluster0.example.mongodb.net/?retryWrites=true&w=majority",
		"mongodb://ams:pw@db/admin?replicaSet=rs0",
		"mongodb://ams:p w@db/admin",
		"mongodb://ams:p\tw@db/admin",
		"mongodb://ams:p\vw@db/admin",
		"mongodb://ams:pw@db/admin\n",
		"mongodb://ams:p$w@db/admin",
		"mongodb://ams:p`w@db/admin",
		"mongodb://ams:p'w@db/admin",
		"mongodb://ams:p\"w@db/admin",
		"mongodb://ams:p\\w@db/admin",
		"mongodb://ams:p;w@db/admin",
		"mongodb://ams:p|w@db/admin",
		"mongodb://ams:p*w@db/admin",
		"mongodb://ams:p{w}@db/admin",
		"mongodb://ams:p[w]@db/admin",
		"mongodb://ams:p(w)@db/admin",
		"mongodb://ams:p<w>@db/admin",
		"mongodb://ams:p%24w-_.~!@db/admin",
	}
	for _, url := range urls {
		cmd := exec.Command("bash", "-c", `set -euo pipefail
readonly DATABASE_URL_PARAMETER=/ams/db-url
log() { printf '%s\n' "$*" >&2; }
IFS= read -r -d '' database_url || true
`+fn+`check_database_url`)
		cmd.Stdin = strings.NewReader(url + "\x00")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("%q: the check fails the boot: %v (%s)", url, err, out)
		}
		refused := strings.Contains(string(out), "WARNING")
		if want := amsargs.Refused(url); refused != want {
			t.Errorf("%q: the node warns: %v, Ant Media 3.0.x discards it: %v (%s)", url, refused, want, out)
		}
		if refused && (strings.Contains(string(out), "pw@") || strings.Contains(string(out), "ams:")) {
			t.Errorf("%q: the warning logs part of the URL: %s", url, out)
		}
		if refused && !strings.Contains(string(out), "/ams/db-url") {
			t.Errorf("%q: the warning does not name the parameter: %s", url, out)
		}
	}
}
