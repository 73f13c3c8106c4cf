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
	"strings"

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
