package impact

import (
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/ams-cluster/ams-aws/internal/mockaws"
	"github.com/ams-cluster/ams-aws/internal/settings"
	"gopkg.in/yaml.v3"
)

// secretSettings are the keys a stack sets with `pulumi config set --secret`.
var secretSettings = []string{"sshPrivateKey"}

// Diff runs stack (dir/Pulumi.<stack>.yaml over Pulumi.yaml's defaults)
// with base, then with base and set, and compares the two runs.
func Diff(dir, stack string, base, set map[string]string) ([]Effect, error) {
	before, err := runWith(dir, stack, base)
	if err != nil {
		return nil, fmt.Errorf("before the change: %w", err)
	}
	merged := maps.Clone(base)
	if merged == nil {
		merged = map[string]string{}
	}
	maps.Copy(merged, set)
	after, err := runWith(dir, stack, merged)
	if err != nil {
		return nil, fmt.Errorf("after the change: %w", err)
	}
	return Compare(before, after), nil
}

// Between compares two configurations of the same stack.
func Between(stack string, before, after map[string]string, secretKeys []string) ([]Effect, error) {
	b := mockaws.RunStack(mockaws.New(), stack, before, secretKeys)
	if b.Err != nil {
		return nil, fmt.Errorf("before the change: %w", b.Err)
	}
	a := mockaws.RunStack(mockaws.New(), stack, after, secretKeys)
	if a.Err != nil {
		return nil, fmt.Errorf("after the change: %w", a.Err)
	}
	return Compare(b, a), nil
}

func runWith(dir, stack string, overrides map[string]string) (*mockaws.Result, error) {
	cfg, secretKeys, err := mockaws.StackConfig(dir, stack, overrides)
	if err != nil {
		return nil, err
	}
	r := mockaws.RunStack(mockaws.New(), stack, cfg, SecretKeys(cfg, secretKeys))
	return r, r.Err
}

// SecretKeys adds to secretKeys the keys of cfg that a stack can only hold
// as secrets (sshPrivateKey), as `pulumi config set --secret` marks them.
func SecretKeys(cfg map[string]string, secretKeys []string) []string {
	out := slices.Clone(secretKeys)
	for k := range cfg {
		_, name, _ := strings.Cut(k, ":")
		if slices.Contains(secretSettings, name) && !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// Change is the change a row of the table tries for one key.
type Change struct {
	// Key is the configuration key.
	Key string
	// Base is added to the dev stack before and after the change.
	Base map[string]string
	// Set is the change itself.
	Set map[string]string
}

// Row is a change and what it does.
type Row struct {
	Change
	Effects []Effect
	// Note says why a key has no change tried.
	Note string
}

// ReplicaSet is the base of most rows: the dev stack with a replica set of
// three members, so that the table shows each member's fate.
var ReplicaSet = map[string]string{"mongoMembers": "3", "zoneCount": "3"}

const (
	testPublicKey  = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHd1c3Rlc3RrZXlmb3JhbXNjbHVzdGVyc3RhY2tz ops@example"
	testPublicKey2 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHd2c3Rlc3RrZXlmb3JhbXNjbHVzdGVyc3RhY2tz ops@example"
	testPrivateKey = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----\n"
	testCert       = "arn:aws:acm:eu-central-1:123456789012:certificate/0f3c2d1e-4b5a-4c6d-8e7f-9a0b1c2d3e4f"
)

func with(base map[string]string, kv ...string) map[string]string {
	out := maps.Clone(base)
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// chosen are the changes tried for keys whose new value cannot be derived
// from their type (strings, lists) or that need a particular base.
func chosen() map[string]Change {
	ssh := with(ReplicaSet, "adminCidr", "203.0.113.7/32", "sshPublicKey", testPublicKey, "sshPrivateKey", testPrivateKey)
	return map[string]Change{
		"vpcCidr":            {Set: map[string]string{"vpcCidr": "10.21.0.0/16"}},
		"zoneCount":          {Base: map[string]string{}, Set: map[string]string{"zoneCount": "3"}},
		"subnetPrefixLength": {Set: map[string]string{"subnetPrefixLength": "19"}},
		"existingVpcId":      {Set: map[string]string{"existingVpcId": "vpc-0a1b2c3d4e5f60718", "existingSubnetIds": `["subnet-0a1b2c3d4e5f60718","subnet-0b1c2d3e4f5a60718","subnet-0c1d2e3f4a5b60718"]`}},
		"existingSubnetIds":  {Set: map[string]string{"existingVpcId": "vpc-0a1b2c3d4e5f60718", "existingSubnetIds": `["subnet-0a1b2c3d4e5f60718","subnet-0b1c2d3e4f5a60718","subnet-0c1d2e3f4a5b60718"]`}},
		"zoneLayout":         {Set: map[string]string{"zoneLayout": "spread"}},
		"adminCidr":          {Set: map[string]string{"adminCidr": "203.0.113.7/32"}},
		"sshPublicKey":       {Base: ssh, Set: map[string]string{"sshPublicKey": testPublicKey2}},
		"sshPrivateKey":      {Base: ssh, Set: map[string]string{"sshPrivateKey": strings.Replace(testPrivateKey, "b3Bl", "c3Bl", 1)}},
		"databaseUrlParameter": {Base: map[string]string{}, Set: map[string]string{"databaseUrlParameter": "/ams-cluster/dev/external/mongodb-url",
			// The dev stack's MongoDB settings, which an external database refuses.
			"mongoInstanceType": mockaws.Unset, "mongoDataVolumeGiB": mockaws.Unset, "snapshotRetentionCount": mockaws.Unset}},
		"mongoMembers":       {Base: map[string]string{}, Set: map[string]string{"mongoMembers": "3", "zoneCount": "3"}},
		"mongoInstanceType":  {Set: map[string]string{"mongoInstanceType": "m5.2xlarge"}},
		"mongoImageId":       {Set: map[string]string{"mongoImageId": "ami-0123456789abcdef0"}},
		"snapshotTime":       {Set: map[string]string{"snapshotTime": "04:00"}},
		"amsImageId":         {Set: map[string]string{"amsImageId": mockaws.AmsAMI}},
		"originInstanceType": {Set: map[string]string{"originInstanceType": "c5.2xlarge"}},
		"edgeInstanceType":   {Set: map[string]string{"edgeInstanceType": "c5.2xlarge"}},
		"panelAdminEmail":    {Set: map[string]string{"panelAdminEmail": "ops@example.com"}},
		"certificateArn":     {Set: map[string]string{"certificateArn": testCert}},
		"tlsPolicy":          {Base: with(ReplicaSet, "certificateArn", testCert), Set: map[string]string{"tlsPolicy": "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"}},
		"ingressCidrs":       {Set: map[string]string{"ingressCidrs": `["203.0.113.0/24"]`}},
		"domainName":         {Set: map[string]string{"domainName": "live.example.com", "hostedZoneId": "Z0123456789ABCDEFGHIJ"}},
		"hostedZoneId":       {Set: map[string]string{"domainName": "live.example.com", "hostedZoneId": "Z0123456789ABCDEFGHIJ"}},
		"requireHttps":       {Set: map[string]string{"requireHttps": "true", "certificateArn": testCert}},
		"alertEmail":         {Set: map[string]string{"alertEmail": "ops@example.com"}},
	}
}

// Table computes a row for every key of dir/Pulumi.yaml, on the dev stack.
func Table(dir string) ([]Row, error) {
	project, err := os.ReadFile(filepath.Join(dir, "Pulumi.yaml"))
	if err != nil {
		return nil, err
	}
	keys, err := settings.Parse(project)
	if err != nil {
		return nil, err
	}
	hand := chosen()
	var rows []Row
	for _, k := range keys {
		c, ok := hand[k.Name]
		if !ok {
			c = Change{}
		}
		c.Key = k.Name
		if c.Base == nil {
			c.Base = ReplicaSet
		}
		row := Row{Change: c}
		if ok {
			row.Effects, err = Diff(dir, "dev", c.Base, c.Set)
			if err != nil {
				row.Note = "not tried: " + firstLine(err.Error())
			}
			rows = append(rows, row)
			continue
		}
		cfg, _, err := mockaws.StackConfig(dir, "dev", c.Base)
		if err != nil {
			return nil, err
		}
		current := cfg[namespaced(dir, k.Name)]
		row.Note = "no other value tried"
		for _, v := range candidates(k.Type, current) {
			effects, err := Diff(dir, "dev", c.Base, map[string]string{k.Name: v})
			if err == nil {
				row.Set, row.Effects, row.Note = map[string]string{k.Name: v}, effects, ""
				break
			}
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// namespaced is key under the project's namespace, as StackConfig keys it.
func namespaced(dir, key string) string {
	var project struct {
		Name string `yaml:"name"`
	}
	if b, err := os.ReadFile(filepath.Join(dir, "Pulumi.yaml")); err == nil {
		_ = yaml.Unmarshal(b, &project)
	}
	return project.Name + ":" + key
}

// candidates are new values to try for a key of type typ now at current.
func candidates(typ, current string) []string {
	switch typ {
	case "boolean":
		b, _ := strconv.ParseBool(current)
		return []string{strconv.FormatBool(!b)}
	case "integer":
		n, err := strconv.Atoi(current)
		if err != nil {
			return []string{"1", "2", "3"}
		}
		var out []string
		for _, v := range []int{n * 2, n + 1, n - 1, n / 2, 1, 2, 3} {
			if v != n && v >= 0 && !slices.Contains(out, strconv.Itoa(v)) {
				out = append(out, strconv.Itoa(v))
			}
		}
		return out
	}
	return nil
}

func firstLine(s string) string {
	lines := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' })
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" && !strings.HasSuffix(l, ":") {
			return strings.TrimPrefix(l, "* ")
		}
	}
	return s
}

// Summary groups a change's effects for the table: what it does to
// stateful resources, and to the rest.
func Summary(effects []Effect) (stateful, other string) {
	count := func(filter func(Effect) bool) string {
		n := map[string]int{}
		var order []string
		for _, e := range effects {
			if !filter(e) {
				continue
			}
			what := e.Stateful
			if what == "" {
				what = short(e.Type)
			}
			label := string(e.Kind) + " " + what
			if n[label] == 0 {
				order = append(order, label)
			}
			n[label]++
		}
		slices.Sort(order)
		var parts []string
		for _, l := range order {
			if n[l] > 1 {
				parts = append(parts, fmt.Sprintf("%s ×%d", l, n[l]))
			} else {
				parts = append(parts, l)
			}
		}
		return strings.Join(parts, "; ")
	}
	stateful = count(func(e Effect) bool { return e.Stateful != "" && e.Kind != Update })
	other = count(func(e Effect) bool { return e.Stateful == "" || e.Kind == Update })
	return stateful, other
}

// WriteMarkdown writes the table as docs/change-impact.md shows it.
func WriteMarkdown(w io.Writer, rows []Row) error {
	var b strings.Builder
	b.WriteString(markdownHeader)
	for _, r := range rows {
		change := "—"
		if len(r.Set) > 0 {
			var kv []string
			for _, k := range slices.Sorted(maps.Keys(r.Set)) {
				v := r.Set[k]
				if strings.Contains(v, "PRIVATE KEY") {
					v = "(another key)"
				}
				kv = append(kv, fmt.Sprintf("`%s=%s`", k, v))
			}
			change = strings.Join(kv, " ")
		}
		stateful, other := Summary(r.Effects)
		if r.Note != "" {
			other = r.Note
		} else if stateful == "" && other == "" {
			other = "nothing"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", r.Key, change, cell(stateful), cell(other))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func cell(s string) string {
	if s == "" {
		return "—"
	}
	return strings.ReplaceAll(s, "|", "\\|")
}

const markdownHeader = `# What each setting change does to a running stack

Generated by ` + "`go test ./internal/impact -run TestChangeImpactTable -update`" + `; do not edit.
Each row runs the program twice under the mocks (internal/mockaws) on the dev
stack with a three-member replica set (` + "`mongoMembers=3 zoneCount=3`" + `) unless
the change says otherwise, before and after the change, and compares every
resource's inputs with the provider's replace-on-change fields
(internal/impact/rules.go, each cited to terraform-provider-aws's schema).
A replaced resource's ID changes, so what references it in such a field is
replaced too. "Restarts" is a stop and start (an instance type);
"refreshes" is an instance refresh of a node group (one node at a time,
each drained first). MongoDB members change one after another, each once
the previous one is back in the set.

Try one change yourself: ` + "`go run ./cmd/plan -diff -set key=value`" + `, or against a
deployed stack's configuration: ` + "`go run ./cmd/plan -stack prod -diff-against deployed.yaml`" + `.

| Key | Change tried | Stateful resources (MongoDB member, volume, interface; subnet) | Everything else |
|---|---|---|---|
`
