package plan

import (
	"fmt"
	"strings"
)

// CostComparison renders estimates side by side as Markdown: one column
// per estimate, one row per cost category, the totals, then each
// estimate's detail as the plan prints it.
func CostComparison(estimates []*Estimate) string {
	var b strings.Builder
	b.WriteString("| monthly USD |")
	for _, e := range estimates {
		fmt.Fprintf(&b, " %s |", e.Name)
	}
	b.WriteString("\n|---|")
	for range estimates {
		b.WriteString("---:|")
	}
	b.WriteString("\n")
	cats := make([]map[string]float64, len(estimates))
	for i, e := range estimates {
		cats[i] = e.ByCategory()
	}
	for _, c := range Categories() {
		shown := false
		for i := range estimates {
			shown = shown || cats[i][c] > 0
		}
		if !shown {
			continue
		}
		fmt.Fprintf(&b, "| %s |", c)
		for i := range estimates {
			fmt.Fprintf(&b, " %s |", usd(cats[i][c]))
		}
		b.WriteString("\n")
	}
	row := func(title string, v func(*Estimate) float64) {
		fmt.Fprintf(&b, "| **%s** |", title)
		for _, e := range estimates {
			fmt.Fprintf(&b, " **%s** |", usd(v(e)))
		}
		b.WriteString("\n")
	}
	row("total", (*Estimate).Total)
	row("every group at its maximum size", func(e *Estimate) float64 { return e.AtMax })
	row("edges on Spot would save", func(e *Estimate) float64 { return e.SpotSavings["edge"] })
	for _, e := range estimates {
		fmt.Fprintf(&b, "\n### %s\n\n%s.\n\n```\n", e.Name, e.Basis())
		e.writeTable(&b)
		b.WriteString("```\n")
	}
	if len(estimates) > 0 {
		b.WriteString("\n### Assumptions\n\n")
		for _, a := range estimates[0].AssumptionsText() {
			fmt.Fprintf(&b, "- %s\n", a)
		}
		b.WriteString("\n### Not included\n\n")
		for _, n := range NotIncluded() {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	return b.String()
}
