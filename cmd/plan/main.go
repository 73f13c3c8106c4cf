// Command plan prints what `pulumi up` would build for a stack, with no AWS
// account and no Pulumi CLI or plugins: it runs the real stack program
// (internal/stack.Run) under the AWS-like mocks the tests use
// (internal/mockaws) and prints the resources by component, the entry
// points, who can reach what, the surge timeline, a monthly cost estimate
// and the stack outputs (internal/plan). When the configuration is wrong it prints the errors
// `pulumi up` would give and exits with status 1.
//
// Usage:
//
//	go run ./cmd/plan                       # the dev stack
//	go run ./cmd/plan -stack prod -set certificateArn=arn:aws:acm:...
//	go run ./cmd/plan -set ingest=false -set originMaxSize=4
//	go run ./cmd/plan -mermaid              # the architecture as a Mermaid flowchart
//	go run ./cmd/plan -cost                 # only the monthly cost estimate
//	go run ./cmd/plan -diff -set mongoInstanceType=m5.2xlarge   # what one change does to the stack
//	go run ./cmd/plan -stack prod -diff-against deployed.yaml   # deployed.yaml (a stack file) -> Pulumi.prod.yaml
//
// -diff compares the stack as its file says with the stack after the -set
// changes; -diff-against FILE compares the configuration in FILE (a
// Pulumi.<stack>.yaml, e.g. the one last deployed) with the stack file and
// the -set changes. Both print what is replaced, restarted, refreshed,
// created, deleted or updated (internal/impact), and exit with status 3
// when a MongoDB member, volume or interface, or a subnet, is replaced,
// restarted or deleted.
//
// Configuration is Pulumi.yaml's defaults, then Pulumi.<stack>.yaml, then
// each -set key=value (keys without a namespace are the project's;
// key=<unset> removes one). Encrypted values stand for placeholders.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ams-cluster/ams-aws/internal/impact"
	"github.com/ams-cluster/ams-aws/internal/mockaws"
	"github.com/ams-cluster/ams-aws/internal/plan"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// settings collects repeated -set key=value flags.
type settings map[string]string

func (s settings) String() string { return fmt.Sprint(map[string]string(s)) }

func (s settings) Set(kv string) error {
	k, v, ok := strings.Cut(kv, "=")
	if !ok || strings.TrimSpace(k) == "" {
		return errors.New("want key=value")
	}
	s[strings.TrimSpace(k)] = v
	return nil
}

// run is the command with its arguments and streams; it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stackName := fs.String("stack", "dev", "the stack whose Pulumi.<stack>.yaml to read")
	dir := fs.String("dir", ".", "the project directory, holding Pulumi.yaml")
	mermaid := fs.Bool("mermaid", false, "print the architecture as a Mermaid flowchart instead of the plan")
	cost := fs.Bool("cost", false, "print only the monthly cost estimate")
	diff := fs.Bool("diff", false, "print what the -set changes do to the stack instead of the plan")
	diffAgainst := fs.String("diff-against", "", "print what changes from the configuration in this stack `file` to the stack's (with -set)")
	set := settings{}
	fs.Var(set, "set", "`key=value` to try a setting (repeatable)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "plan: unexpected arguments %q\n", fs.Args())
		return 2
	}
	cfg, secretKeys, err := mockaws.StackConfig(*dir, *stackName, set)
	if err != nil {
		fmt.Fprintf(stderr, "plan: %v\n", err)
		return 1
	}
	if *diff || *diffAgainst != "" {
		return printDiff(*dir, *stackName, *diffAgainst, set, cfg, secretKeys, stdout, stderr)
	}
	r := mockaws.RunStack(mockaws.New(), *stackName, cfg, secretKeys)
	if r.Err != nil {
		fmt.Fprintf(stderr, "Stack %s: `pulumi up` would stop before building anything:\n%v\n", *stackName, r.Err)
		return 1
	}
	p := plan.New(*stackName, r)
	switch {
	case *mermaid:
		err = p.WriteMermaid(stdout)
	case *cost:
		err = p.EstimateCost(plan.ListPrices(), plan.DefaultAssumptions()).WriteCost(stdout)
	default:
		err = p.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "plan: %v\n", err)
		return 1
	}
	return 0
}

// printDiff prints what changes from the configuration before (the stack
// file alone, or the file against) to cfg, the stack file with the -set
// changes. It returns 3 when a stateful resource is replaced, restarted or
// deleted.
func printDiff(dir, stack, against string, set settings, cfg map[string]string, secretKeys []string, stdout, stderr io.Writer) int {
	var before map[string]string
	var beforeSecrets []string
	var err error
	from := "Pulumi." + stack + ".yaml"
	if against == "" {
		before, beforeSecrets, err = mockaws.StackConfig(dir, stack, nil)
	} else {
		from = against
		before, beforeSecrets, err = stackFileConfig(dir, against)
	}
	if err != nil {
		fmt.Fprintf(stderr, "plan: %v\n", err)
		return 1
	}
	effects, err := impact.Between(stack, before, cfg, impact.SecretKeys(cfg, append(beforeSecrets, secretKeys...)))
	if err != nil {
		fmt.Fprintf(stderr, "plan: %v\n", err)
		return 1
	}
	to := "Pulumi." + stack + ".yaml"
	if len(set) > 0 {
		to += fmt.Sprintf(" with %v", map[string]string(set))
	}
	fmt.Fprintf(stdout, "Stack %s, from %s to %s:\n", stack, from, to)
	if len(effects) == 0 {
		fmt.Fprintln(stdout, "  nothing changes")
	}
	lost := 0
	for _, e := range effects {
		mark := " "
		if e.Loses() {
			mark, lost = "!", lost+1
		}
		fmt.Fprintf(stdout, "%s %s\n", mark, e)
	}
	if lost > 0 {
		fmt.Fprintf(stdout, "\n%d stateful resources (marked !) are replaced, restarted or deleted; MongoDB members change one after another (docs/change-impact.md).\n", lost)
		return 3
	}
	return 0
}

// stackFileConfig is the configuration of any stack file, read as the
// CLI would read it beside dir's Pulumi.yaml.
func stackFileConfig(dir, file string) (map[string]string, []string, error) {
	tmp, err := os.MkdirTemp("", "plan-diff-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(tmp)
	for src, dst := range map[string]string{filepath.Join(dir, "Pulumi.yaml"): "Pulumi.yaml", file: "Pulumi.before.yaml"} {
		b, err := os.ReadFile(src)
		if err != nil {
			return nil, nil, err
		}
		if err := os.WriteFile(filepath.Join(tmp, dst), b, 0o600); err != nil {
			return nil, nil, err
		}
	}
	return mockaws.StackConfig(tmp, "before", nil)
}
