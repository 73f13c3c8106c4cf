package tests

import (
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
