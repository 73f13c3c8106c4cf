package mockaws

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Unset as an override's value removes the key, default included.
const Unset = "<unset>"

// SecretPlaceholder stands for a value encrypted in a stack file
// (`secure: v1:...`), which only the stack's secrets provider can decrypt.
const SecretPlaceholder = "offline-placeholder-for-a-secret"

// StackConfig is the configuration stack would run with, as the Pulumi CLI
// hands it to the program: the defaults of dir/Pulumi.yaml's config schema
// under the project's namespace, then dir/Pulumi.<stack>.yaml (when stack is
// not "" and the file exists), then overrides. Override keys without a
// namespace ("originMaxSize") are the project's; the value Unset removes a
// key. Encrypted values become SecretPlaceholder and are listed in
// secretKeys.
func StackConfig(dir, stack string, overrides map[string]string) (cfg map[string]string, secretKeys []string, err error) {
	var project struct {
		Name   string `yaml:"name"`
		Config map[string]struct {
			Default any `yaml:"default"`
		} `yaml:"config"`
	}
	if err := readYAML(filepath.Join(dir, "Pulumi.yaml"), &project); err != nil {
		return nil, nil, err
	}
	if project.Name == "" {
		return nil, nil, fmt.Errorf("%s: no project name", filepath.Join(dir, "Pulumi.yaml"))
	}
	cfg = map[string]string{}
	secret := map[string]bool{}
	put := func(key string, v any) error {
		s, isSecret, err := configString(v)
		if err != nil {
			return fmt.Errorf("config %s: %w", key, err)
		}
		cfg[key], secret[key] = s, isSecret
		return nil
	}
	for k, v := range project.Config {
		if v.Default != nil {
			if err := put(namespaced(project.Name, k), v.Default); err != nil {
				return nil, nil, err
			}
		}
	}
	if stack != "" {
		file := filepath.Join(dir, "Pulumi."+stack+".yaml")
		var st struct {
			Config map[string]any `yaml:"config"`
		}
		if err := readYAML(file, &st); err != nil {
			return nil, nil, err
		}
		for k, v := range st.Config {
			if err := put(namespaced(project.Name, k), v); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", file, err)
			}
		}
	}
	for k, v := range overrides {
		k = namespaced(project.Name, k)
		if v == Unset {
			delete(cfg, k)
			delete(secret, k)
			continue
		}
		cfg[k], secret[k] = v, false
	}
	for k, s := range secret {
		if s {
			secretKeys = append(secretKeys, k)
		}
	}
	sort.Strings(secretKeys)
	return cfg, secretKeys, nil
}

func namespaced(project, key string) string {
	if strings.Contains(key, ":") {
		return key
	}
	return project + ":" + key
}

// configString renders a YAML config value the way the CLI hands it to
// programs: strings as they are, scalars formatted, objects and lists as
// JSON; {secure: ...} is a secret.
func configString(v any) (string, bool, error) {
	switch v := v.(type) {
	case string:
		return v, false, nil
	case int, bool, float64:
		return fmt.Sprint(v), false, nil
	case map[string]any:
		if _, ok := v["secure"]; ok && len(v) == 1 {
			return SecretPlaceholder, true, nil
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", false, err
	}
	return string(b), false, nil
}

func readYAML(path string, out any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := yaml.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
