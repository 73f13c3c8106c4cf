package components

import (
	"bytes"
	"embed"
	"fmt"
	"strings"
	"text/template"
)

//go:embed scripts/*.sh
var scripts embed.FS

// renderScript fills the embedded boot script name with data. Every value is
// inserted through shq, so no value can break out of its shell word.
func renderScript(name string, data any) (string, error) {
	src, err := scripts.ReadFile("scripts/" + name)
	if err != nil {
		return "", fmt.Errorf("script %s: %w", name, err)
	}
	tmpl, err := template.New(name).Option("missingkey=error").Funcs(template.FuncMap{"shq": shellQuote}).Parse(string(src))
	if err != nil {
		return "", fmt.Errorf("script %s: %w", name, err)
	}
	var out bytes.Buffer
	if err := tmpl.Execute(&out, data); err != nil {
		return "", fmt.Errorf("script %s: %w", name, err)
	}
	return out.String(), nil
}

// shellQuote quotes any value as one single-quoted shell word.
func shellQuote(v any) string {
	return "'" + strings.ReplaceAll(fmt.Sprint(v), "'", `'\''`) + "'"
}
