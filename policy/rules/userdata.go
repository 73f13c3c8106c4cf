package rules

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"io"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

func noPlaintextSecretInUserData() Rule {
	return newRule(NoPlaintextSecretInUserData,
		"User data must not carry secrets: no credentials in connection URLs, no AWS secret access keys, "+
			"no literal values assigned to *PASSWORD*, *SECRET* or *TOKEN* variables; read them from SSM Parameter Store at boot.",
		map[string]check{
			typeInstance:       func(r Resource) []string { return userDataSecrets(r, "userData", "userDataBase64") },
			typeLaunchTemplate: func(r Resource) []string { return userDataSecrets(r, "userData") },
		})
}

func userDataSecrets(r Resource, keys ...string) []string {
	var out []string
	for _, key := range keys {
		v := r.Properties.Get(key)
		if v.Secret() {
			out = append(out, r.violation("%s is %s: user data is readable by anyone who may describe the instance, and by every process on it through the metadata service, so it is no place for secrets; store them in SSM Parameter Store and read them at boot", key, show(v)))
		}
		text, ok := str(v)
		if !ok {
			continue // unset, or unknown until `pulumi up`
		}
		for _, f := range ScanUserData(text) {
			out = append(out, r.violation("%s line %d: %s", key, f.Line, f.Problem))
		}
	}
	return out
}

// Finding is a plaintext secret found in user data.
type Finding struct {
	// Line is the 1-based line of the decoded user data.
	Line int
	// Problem names what was found, with the secret part masked.
	Problem string
}

// ScanUserData looks for plaintext secrets in user data, decoding it first
// when it is base64 (optionally gzipped) of printable text. At most one
// finding is reported per line.
func ScanUserData(userData string) []Finding {
	var out []Finding
	for i, line := range strings.Split(decodeUserData(userData), "\n") {
		if problem := scanLine(line); problem != "" {
			out = append(out, Finding{Line: i + 1, Problem: problem})
		}
	}
	return out
}

// decodeUserData returns the text user data carries: s decoded when it is
// base64 of printable text (gzipped or not), s itself otherwise.
func decodeUserData(s string) string {
	compact := strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
	if compact == "" {
		return s
	}
	b, err := base64.StdEncoding.DecodeString(compact)
	if err != nil {
		return s
	}
	if len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b {
		if zr, err := gzip.NewReader(bytes.NewReader(b)); err == nil {
			if unzipped, err := io.ReadAll(io.LimitReader(zr, 16<<20)); err == nil {
				b = unzipped
			}
		}
	}
	if !printable(b) {
		return s
	}
	return string(b)
}

func printable(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if !unicode.IsPrint(r) && !unicode.IsSpace(r) {
			return false
		}
	}
	return true
}

var (
	// credentialURL matches a connection URL with a password:
	// scheme://user:password@ or scheme://:password@.
	credentialURL = regexp.MustCompile(`(?i)\b((?:mongodb(?:\+srv)?|rediss?|postgres(?:ql)?|mysql|amqps?)://)([^\s:/@'"]*):([^\s/@'"]+)@`)
	// awsSecretKey matches aws_secret_access_key given a value, as in an
	// ini file, an environment assignment or `aws configure set`.
	awsSecretKey = regexp.MustCompile(`(?i)\baws_secret_access_key\b["']?(?:\s*[=:]\s*|\s+)["']?([^\s"']*)`)
	// awsAccessKeyID matches an AWS access key ID, which comes with its secret.
	awsAccessKeyID = regexp.MustCompile(`\b(?:AKIA|ASIA)[0-9A-Z]{16}\b`)
	// assignment matches a line that assigns a value to a name: shell
	// (`export NAME=value`), YAML (`name: value`, `- name: value`), ini
	// (`name = value`) or JSON (`"name": value`).
	assignment = regexp.MustCompile(`^\s*(?:-\s+)?(?:(?:export|readonly|local|declare|typeset)(?:\s+-[A-Za-z]+)*\s+)?["']?([A-Za-z_][A-Za-z0-9_.-]*)["']?\s*[=:]\s*(.*)$`)
)

// scanLine returns what is wrong with one line of user data, or "".
func scanLine(line string) string {
	if m := credentialURL.FindStringSubmatch(line); m != nil && !isReference(m[3]) {
		return fmt.Sprintf("connection URL %s%s:****@ carries a password; keep the URL in SSM Parameter Store and read it at boot", m[1], m[2])
	}
	if m := awsSecretKey.FindStringSubmatch(line); m != nil && m[1] != "" && !isReference(m[1]) {
		return "aws_secret_access_key is given a literal value (****); use the instance role instead of access keys"
	}
	if m := awsAccessKeyID.FindString(line); m != "" {
		return fmt.Sprintf("AWS access key ID %s**** appears; use the instance role instead of access keys", m[:4])
	}
	if m := assignment.FindStringSubmatch(line); m != nil && secretName(m[1]) && isLiteral(m[2]) {
		return fmt.Sprintf("%s is assigned a literal value (****); assign it from SSM Parameter Store at boot, e.g. %s=$(aws ssm get-parameter --with-decryption ...)", m[1], m[1])
	}
	return ""
}

// secretName reports whether a variable name says it holds a secret. Names
// ending in _PARAMETER or _PARAM hold SSM parameter names, not secrets.
func secretName(name string) bool {
	n := strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(name))
	if strings.HasSuffix(n, "_PARAMETER") || strings.HasSuffix(n, "_PARAM") {
		return false
	}
	return strings.Contains(n, "PASSWORD") || strings.Contains(n, "SECRET") || strings.Contains(n, "TOKEN")
}

// isLiteral reports whether an assigned value is a non-empty literal rather
// than a command substitution or a variable ($(...), `...`, $VAR, "$1"), or,
// in a script's embedded code (Python), a call or a variable that a
// dictionary member or argument names (token = fetch(), "key": session,).
func isLiteral(value string) bool {
	v := strings.TrimSpace(value)
	if codeReference.MatchString(v) {
		return false
	}
	v = strings.TrimSuffix(v, ",") // a JSON member
	if v == "" || v == `""` || v == "''" {
		return false
	}
	return !isReference(v)
}

// codeReference matches a value that is a function call or a variable
// followed by a comma: code, not a literal. A bare word alone stays a
// literal (shell TOKEN=abc, YAML token: abc).
var codeReference = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.]*(\(.*\)[,)]*|,)$`)

// isReference reports whether a value starts with a shell expansion, bare or
// inside double quotes; single quotes keep a dollar sign literal.
func isReference(v string) bool {
	v = strings.TrimPrefix(v, `"`)
	return strings.HasPrefix(v, "$") || strings.HasPrefix(v, "`")
}
