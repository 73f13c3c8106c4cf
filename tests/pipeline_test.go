package tests

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// pipelineWorkflow is what the trust test reads of a workflow.
type pipelineWorkflow struct {
	On          map[string]any    `yaml:"on"`
	Permissions map[string]string `yaml:"permissions"`
	Jobs        map[string]struct {
		Environment string            `yaml:"environment"`
		Permissions map[string]string `yaml:"permissions"`
		Steps       []struct {
			Uses string            `yaml:"uses"`
			With map[string]any    `yaml:"with"`
			Env  map[string]string `yaml:"env"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

func readWorkflow(t *testing.T, file string) (pipelineWorkflow, string) {
	t.Helper()
	raw, err := os.ReadFile("../.github/workflows/" + file)
	if err != nil {
		t.Fatal(err)
	}
	var w pipelineWorkflow
	if err := yaml.Unmarshal(raw, &w); err != nil {
		t.Fatal(err)
	}
	return w, string(raw)
}

// stepWith is the with: value of the first step using action, or "".
func (w pipelineWorkflow) stepWith(action, key string) string {
	for _, job := range w.Jobs {
		for _, s := range job.Steps {
			if strings.HasPrefix(s.Uses, action) {
				if v, ok := s.With[key].(string); ok {
					return v
				}
			}
		}
	}
	return ""
}

// TestPreviewCannotDeployAndDeployNeedsAnEnvironment: the pull request
// workflow runs with the read-only role and no secret, writes only its
// comment; the deploy workflow runs in an environment with the deploy
// role; both use the one backend and the KMS secrets provider.
func TestPreviewCannotDeployAndDeployNeedsAnEnvironment(t *testing.T) {
	preview, previewText := readWorkflow(t, "preview.yml")
	if keys(preview.On)[0] != "pull_request" || len(preview.On) != 1 {
		t.Errorf("preview.yml runs on %v, want pull_request only (never pull_request_target, which runs with the base's secrets)", keys(preview.On))
	}
	want := map[string]string{"contents": "read", "id-token": "write", "pull-requests": "write"}
	if !mapsEqual(preview.Permissions, want) {
		t.Errorf("preview.yml permissions %v, want %v: no write beyond the comment", preview.Permissions, want)
	}
	for name, job := range preview.Jobs {
		if job.Environment != "" || job.Permissions != nil {
			t.Errorf("preview.yml job %s has environment %q, permissions %v: it must get neither", name, job.Environment, job.Permissions)
		}
	}
	if strings.Contains(previewText, "secrets.") {
		t.Error("preview.yml reads a secret: it must see no credential")
	}
	if got := preview.stepWith("aws-actions/configure-aws-credentials@", "role-to-assume"); got != "${{ vars.AWS_PREVIEW_ROLE_ARN }}" {
		t.Errorf("preview.yml assumes %q, want the preview role", got)
	}
	if got := preview.stepWith("pulumi/actions@", "command"); got != "preview" {
		t.Errorf("preview.yml runs pulumi %s", got)
	}

	deploy, deployText := readWorkflow(t, "deploy.yml")
	if want := map[string]string{"contents": "read", "id-token": "write"}; !mapsEqual(deploy.Permissions, want) {
		t.Errorf("deploy.yml permissions %v, want %v", deploy.Permissions, want)
	}
	for name, job := range deploy.Jobs {
		if job.Environment != "${{ inputs.stack || 'dev' }}" {
			t.Errorf("deploy.yml job %s runs in environment %q, want the stack's", name, job.Environment)
		}
	}
	if got := deploy.stepWith("aws-actions/configure-aws-credentials@", "role-to-assume"); got != "${{ vars.AWS_DEPLOY_ROLE_ARN }}" {
		t.Errorf("deploy.yml assumes %q, want the deploy role", got)
	}
	for file, text := range map[string]string{"preview.yml": previewText, "deploy.yml": deployText} {
		for _, other := range []string{"PULUMI_ACCESS_TOKEN", "PULUMI_CONFIG_PASSPHRASE", "AWS_ROLE_ARN }}"} {
			if strings.Contains(text, other) {
				t.Errorf("%s names %s: one backend (S3) and one secrets provider (KMS), one role per workflow", file, other)
			}
		}
	}
	for _, w := range []pipelineWorkflow{preview, deploy} {
		if got := w.stepWith("pulumi/actions@", "cloud-url"); got != "${{ vars.PULUMI_BACKEND_URL }}" {
			t.Errorf("pulumi/actions cloud-url = %q, want the S3 backend variable", got)
		}
	}
}

// TestPipelineTrustPolicies: the roles in docs/pipeline.md trust exactly
// the pull request subject (preview) and the environments' subjects (deploy).
func TestPipelineTrustPolicies(t *testing.T) {
	raw, err := os.ReadFile("../docs/pipeline.md")
	if err != nil {
		t.Fatal(err)
	}
	type policy struct {
		Statement []struct {
			Effect    string
			Principal map[string]string
			Action    any
			Condition map[string]map[string]any
		}
	}
	var trusts []policy
	for _, m := range regexp.MustCompile("(?s)```json\n(.*?)```").FindAllStringSubmatch(string(raw), -1) {
		var p policy
		if err := json.Unmarshal([]byte(m[1]), &p); err != nil {
			t.Fatalf("docs/pipeline.md: a JSON block does not parse: %v\n%s", err, m[1])
		}
		if len(p.Statement) > 0 && p.Statement[0].Action == "sts:AssumeRoleWithWebIdentity" {
			trusts = append(trusts, p)
		}
	}
	if len(trusts) != 2 {
		t.Fatalf("docs/pipeline.md has %d trust policies, want the preview and the deploy role's", len(trusts))
	}
	subjects := func(p policy) []string {
		var out []string
		for _, s := range p.Statement {
			if s.Effect != "Allow" || !strings.HasSuffix(s.Principal["Federated"], "oidc-provider/token.actions.githubusercontent.com") {
				t.Errorf("trust statement %+v: want an Allow for GitHub's OIDC provider", s)
			}
			if _, like := s.Condition["StringLike"]; like {
				t.Errorf("trust statement uses StringLike: wildcards admit any branch")
			}
			eq := s.Condition["StringEquals"]
			if eq["token.actions.githubusercontent.com:aud"] != "sts.amazonaws.com" {
				t.Errorf("trust statement audience %v", eq["token.actions.githubusercontent.com:aud"])
			}
			switch v := eq["token.actions.githubusercontent.com:sub"].(type) {
			case string:
				out = append(out, v)
			case []any:
				for _, e := range v {
					out = append(out, e.(string))
				}
			}
		}
		slices.Sort(out)
		return out
	}
	if got := subjects(trusts[0]); !slices.Equal(got, []string{"repo:<owner>/<repo>:pull_request"}) {
		t.Errorf("preview role trusts %v, want pull requests only", got)
	}
	if got := subjects(trusts[1]); !slices.Equal(got, []string{"repo:<owner>/<repo>:environment:dev", "repo:<owner>/<repo>:environment:prod"}) {
		t.Errorf("deploy role trusts %v, want the dev and prod environments only", got)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
