package plan

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"
)

// unitPrice prints a unit price to a millionth of a dollar, without the
// binary fraction's noise (a 60 % discount of $0.384 is $0.1536).
func unitPrice(v float64) string {
	return fmt.Sprintf("$%g", math.Round(v*1e6)/1e6)
}

// usd formats dollars with cents: "$1,234.56".
func usd(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	whole, cents, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return "$" + b.String() + "." + cents
}

// quantity formats a quantity without needless decimals.
func quantity(v float64) string {
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d", int64(v))
	}
	return fmt.Sprintf("%.2f", v)
}

// Basis says which prices the estimate uses and, when the stack deploys to
// another region, that the figures are that region's.
func (e *Estimate) Basis() string {
	s := fmt.Sprintf("list prices as of %s, %s, %s", e.Prices.AsOf, e.Prices.Region, e.Prices.Basis)
	if e.Region != "" && e.Region != e.Prices.Region {
		s += fmt.Sprintf("; the stack deploys to %s, which has no table: the figures are %s's", e.Region, e.Prices.Region)
	}
	return s
}

// AssumptionsText lists the assumptions behind the estimate, one a line.
func (e *Estimate) AssumptionsText() []string {
	a := e.Assume
	return []string{
		fmt.Sprintf("%g hours a month; every instance runs all month at its group's desired capacity", a.HoursPerMonth),
		fmt.Sprintf("Spot at %g%% below on-demand (groups marked Spot by a mixed-instances policy or launch template)", a.SpotDiscount*100),
		fmt.Sprintf("load balancers average %g LCU (application) and %g NLCU (network)", a.ALBCapacityUnits, a.NLBCapacityUnits),
		fmt.Sprintf("each running instance that ships logs sends %g GB a month to CloudWatch Logs; storage counts the whole retention (uncompressed, an upper bound)", a.LogGBPerInstance),
		fmt.Sprintf("the application load balancer writes %g GB of access logs a month", a.AccessLogGB),
		fmt.Sprintf("EC2 detailed monitoring bills %g metrics per instance; Auto Scaling group metrics are free", a.DetailedMonitoringMetrics),
		fmt.Sprintf("snapshots hold %g%% of a volume, plus %g%% for every further snapshot kept", a.SnapshotFullShare*100, a.SnapshotChangeShare*100),
		"warm pool instances in Stopped state pay for their volumes only (and hold no public IPv4 address)",
		"free tiers are not deducted (they are per account)",
	}
}

// NotIncluded lists what the estimate leaves out.
func NotIncluded() []string {
	return []string{
		"data transfer out to viewers (about $0.09/GB: one 1.5 Mbit/s viewer watching all month is about 490 GB, $44) and between zones ($0.01/GB each way)",
		"Ant Media's Marketplace software charge per instance-hour (see the listing)",
		"NAT gateway and load balancer data processed beyond the assumed capacity units",
		"T3 unlimited-mode CPU credits above the baseline, taxes",
	}
}

// WriteCost prints the estimate: a table per component with monthly USD,
// the total, the total at maximum sizes, Spot savings, what is unpriced,
// the assumptions and what is left out.
func (e *Estimate) WriteCost(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Monthly cost estimate, USD (%s)\n", e.Basis())
	e.writeTable(&b)
	b.WriteString("  Assumptions:\n")
	for _, a := range e.AssumptionsText() {
		fmt.Fprintf(&b, "    - %s\n", a)
	}
	b.WriteString("  Not included:\n")
	for _, n := range NotIncluded() {
		fmt.Fprintf(&b, "    - %s\n", n)
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// writeTable prints the lines by component, the totals, Spot savings and
// what is unpriced.
func (e *Estimate) writeTable(b *strings.Builder) {
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  COMPONENT / ITEM\t%12s\t%-15s\t%10s\t%11s\n", "QUANTITY", "UNIT", "UNIT PRICE", "MONTHLY")
	for i, l := range e.Lines {
		if i == 0 || l.Component != e.Lines[i-1].Component {
			sub := 0.0
			for _, m := range e.Lines[i:] {
				if m.Component == l.Component {
					sub += m.Monthly()
				}
			}
			fmt.Fprintf(tw, "  %s\t%12s\t%-15s\t%10s\t%11s\n", l.Component, "", "", "", usd(sub))
		}
		fmt.Fprintf(tw, "    %s\t%12s\t%-15s\t%10s\t%11s\n", l.Item, quantity(l.Quantity), l.Unit, unitPrice(l.UnitPrice), usd(l.Monthly()))
	}
	fmt.Fprintf(tw, "  Total\t%12s\t%-15s\t%10s\t%11s\n", "", "", "", usd(e.Total()))
	fmt.Fprintf(tw, "  Total with every group at its maximum size\t%12s\t%-15s\t%10s\t%11s\n", "", "", "", usd(e.AtMax))
	_ = tw.Flush()
	roles := make([]string, 0, len(e.SpotSavings))
	for r := range e.SpotSavings {
		roles = append(roles, r)
	}
	sort.Strings(roles)
	for _, r := range roles {
		fmt.Fprintf(b, "  On Spot, the %s group would save about %s a month at its desired capacity.\n", r, usd(e.SpotSavings[r]))
	}
	for _, u := range e.Unpriced {
		fmt.Fprintf(b, "  Not priced (not in the total): %s\n", u)
	}
}
