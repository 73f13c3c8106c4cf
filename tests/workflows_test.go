package tests

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
	"gopkg.in/yaml.v3"
)

// The GitHub workflows: a pull request gets a tested, policy-checked
// `pulumi preview` commented on it; main deploys through an environment
// that can require approval. AWS access is OIDC only.

func workflowFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../.github/workflows/*.yml")
	if err != nil || len(files) != 2 {
		t.Fatalf("workflows %v (%v), want preview.yml and deploy.yml", files, err)
	}
	return files
}

func TestWorkflowsPassActionlint(t *testing.T) {
	opts := &actionlint.LinterOptions{}
	// actionlint also runs shellcheck on run: blocks where it is installed.
	if path, err := exec.LookPath("shellcheck"); err == nil {
		opts.Shellcheck = path
	}
	linter, err := actionlint.NewLinter(io.Discard, opts)
	if err != nil {
		t.Fatal(err)
	}
	errs, err := linter.LintFiles(workflowFiles(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range errs {
		t.Errorf("%s:%d:%d: %s [%s]", filepath.Base(e.Filepath), e.Line, e.Column, e.Message, e.Kind)
	}
}

// workflow is the part of a GitHub workflow the tests read.
type workflow struct {
	On          map[string]any    `yaml:"on"`
	Permissions map[string]string `yaml:"permissions"`
	Jobs        map[string]struct {
		Environment string `yaml:"environment"`
		Steps       []struct {
			Uses string            `yaml:"uses"`
			Run  string            `yaml:"run"`
			With map[string]any    `yaml:"with"`
			Env  map[string]string `yaml:"env"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

func TestWorkflowsPreviewPullRequestsAndDeployMainWithOIDC(t *testing.T) {
	for _, tc := range []struct {
		file, trigger, command, stack string
		environment                   bool
	}{
		{"preview.yml", "pull_request", "preview", "dev", false},
		{"deploy.yml", "push", "up", "${{ inputs.stack || 'dev' }}", true},
	} {
		t.Run(tc.file, func(t *testing.T) {
			raw, err := os.ReadFile("../.github/workflows/" + tc.file)
			if err != nil {
				t.Fatal(err)
			}
			for _, banned := range []string{"aws-access-key-id", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
				if strings.Contains(string(raw), banned) {
					t.Errorf("%s names %s: AWS access must come through OIDC only", tc.file, banned)
				}
			}
			var w workflow
			if err := yaml.Unmarshal(raw, &w); err != nil {
				t.Fatal(err)
			}
			if _, ok := w.On[tc.trigger]; !ok {
				t.Errorf("%s is not triggered by %s (on: %v)", tc.file, tc.trigger, keys(w.On))
			}
			if w.Permissions["id-token"] != "write" {
				t.Errorf("%s permissions %v: want id-token: write for OIDC", tc.file, w.Permissions)
			}
			for name, job := range w.Jobs {
				if tc.environment && job.Environment == "" {
					t.Errorf("%s job %s deploys outside a GitHub environment (no approval possible)", tc.file, name)
				}
				seen := map[string]bool{}
				for _, s := range job.Steps {
					switch {
					case strings.HasPrefix(s.Uses, "actions/setup-go@"):
						seen["go cache"] = s.With["cache-dependency-path"] == "go.sum"
					case strings.Contains(s.Run, ".ci/run"):
						seen["tests"] = !seen["pulumi"]
					case strings.HasPrefix(s.Uses, "aws-actions/configure-aws-credentials@"):
						seen["oidc"] = s.With["role-to-assume"] != nil
					case strings.HasPrefix(s.Uses, "pulumi/actions@"):
						seen["pulumi"] = s.With["command"] == tc.command && s.With["stack-name"] == tc.stack
						seen["policy pack"] = s.With["policyPacks"] == "policy"
						if tc.command == "preview" {
							seen["comment"] = s.With["comment-on-pr"] == true
						}
					}
				}
				want := []string{"go cache", "tests", "oidc", "pulumi", "policy pack"}
				if tc.command == "preview" {
					want = append(want, "comment")
				}
				for _, step := range want {
					if !seen[step] {
						t.Errorf("%s job %s: no step for %q (Go cache on go.sum, tests before Pulumi, OIDC role, pulumi %s on %s, the policy pack, the PR comment)",
							tc.file, name, step, tc.command, tc.stack)
					}
				}
			}
		})
	}
}
