package components

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
)

var (
	// instanceTypePattern is an EC2 instance type as AWS names them: a
	// family (letters, a generation, attribute letters, maybe -flex; or
	// u-6tb1, u7i-12tb, mac2-m2pro) and a size (nano to 48xlarge, metal,
	// metal-24xl).
	instanceTypePattern = regexp.MustCompile(`^(?:[a-z]{1,3}[1-9][0-9]?[a-z]{0,6}(?:-flex)?|u-[0-9]+tb[0-9]|u7i[a-z]?-[0-9]+tb|mac[1-9](?:-m[1-9](?:pro)?)?)` +
		`\.(?:nano|micro|small|medium|large|xlarge|[1-9][0-9]?xlarge|metal|metal-[1-9][0-9]?xl)$`)
	amiIDPattern     = regexp.MustCompile(`^ami-([0-9a-f]{8}|[0-9a-f]{17})$`)
	armFamilyPattern = regexp.MustCompile(`^(?:[a-z]+[0-9]+g[a-z]*|a1|mac2(?:-m[1-9](?:pro)?)?)\.`)
)

// ArgError reports a component argument that was rejected, naming the
// component, the field, the value given and what is accepted.
type ArgError struct {
	Component string
	Field     string
	Value     any
	Accepted  string
}

func (e *ArgError) Error() string {
	return fmt.Sprintf("%s: %s = %v is not valid; accepted: %s", e.Component, e.Field, quoteValue(e.Value), e.Accepted)
}

func quoteValue(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprint(v)
}

func argErr(component, field string, value any, accepted string) error {
	return &ArgError{Component: component, Field: field, Value: value, Accepted: accepted}
}

// fieldErrors collects every rejected field of one component's arguments,
// so that a caller learns of all bad fields at once.
type fieldErrors struct {
	component string
	errs      []error
}

// reject records field as not valid: value was given, accepted is what the
// component takes instead.
func (f *fieldErrors) reject(field string, value any, accepted string) {
	f.errs = append(f.errs, argErr(f.component, field, value, accepted))
}

// within records field as not valid unless min <= v <= max; the accepted
// values read "min to max", then note (a unit, a reason) when there is one.
func (f *fieldErrors) within(field string, v, min, max int, note string) {
	if v >= min && v <= max {
		return
	}
	accepted := fmt.Sprintf("%d to %d", min, max)
	if note != "" {
		accepted += " " + note
	}
	f.reject(field, v, accepted)
}

// add records err, the result of a shared check, unless it is nil.
func (f *fieldErrors) add(err error) {
	if err != nil {
		f.errs = append(f.errs, err)
	}
}

// err is every recorded rejection joined with errors.Join, or nil.
func (f *fieldErrors) err() error { return errors.Join(f.errs...) }

// instanceTagKeys records every key of tags that instance metadata tags
// refuse: nodes read their tags from instance metadata, and EC2 refuses to
// launch an instance with any other tag key.
func (f *fieldErrors) instanceTagKeys(tags map[string]string) {
	for k := range tags {
		if !metadataTagKeyPattern.MatchString(k) || k == "." || k == ".." || k == "_index" {
			f.reject("Tags", k, "tag keys of letters, digits and + - = . , _ : @ (no spaces or /), as instance metadata tags require")
		}
	}
}

// setDefault sets *s to v when it is empty.
func setDefault(s *string, v string) {
	if *s == "" {
		*s = v
	}
}

// setDefaultInt sets *n to v when it is zero.
func setDefaultInt(n *int, v int) {
	if *n == 0 {
		*n = v
	}
}

// isInstanceType reports whether s looks like an EC2 instance type such as "m5.xlarge".
func isInstanceType(s string) bool { return instanceTypePattern.MatchString(s) }

// isAmiID reports whether s looks like an EC2 image ID such as "ami-0123456789abcdef0".
func isAmiID(s string) bool { return amiIDPattern.MatchString(s) }

// architectureOf returns the CPU architecture ("arm64" or "amd64") an EC2
// instance type runs: Graviton families carry a "g" after their generation
// (m7g, c6gn, t4g); a1 and the Apple silicon Macs are arm64 too.
func architectureOf(instanceType string) string {
	if armFamilyPattern.MatchString(instanceType) {
		return "arm64"
	}
	return "amd64"
}

// parseIPv4CIDR parses s as an IPv4 network in CIDR notation whose address is
// the network address itself (10.0.0.0/16, not 10.0.0.1/16).
func parseIPv4CIDR(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	if err != nil {
		return netip.Prefix{}, err
	}
	if !p.Addr().Is4() {
		return netip.Prefix{}, fmt.Errorf("%s is not an IPv4 network", s)
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Errorf("%s has host bits set; the network is %s", s, p.Masked())
	}
	return p, nil
}

// isOpenToWorld reports whether cidr admits every address (0.0.0.0/0 or ::/0).
func isOpenToWorld(cidr string) bool {
	p, err := netip.ParsePrefix(strings.TrimSpace(cidr))
	return err == nil && p.Bits() == 0
}

// validateIngressCIDRs checks a load balancer's list of networks: IPv4, and
// each once (rules are named by their network).
func validateIngressCIDRs(component string, cidrs []string) error {
	seen := map[string]bool{}
	for _, cidr := range cidrs {
		if _, err := parseIPv4CIDR(cidr); err != nil || seen[cidrName(cidr)] {
			return argErr(component, "IngressCIDRs", cidr, "distinct IPv4 networks such as 0.0.0.0/0 or 198.51.100.0/24")
		}
		seen[cidrName(cidr)] = true
	}
	return nil
}

var (
	// metricNamespacePattern is what CloudWatch accepts as a custom
	// namespace (PutMetricData, Namespace); AWS/ is reserved.
	metricNamespacePattern = regexp.MustCompile(`^[A-Za-z0-9._/#:-]{1,255}$`)
	logGroupPrefixPattern  = regexp.MustCompile(`^(/[A-Za-z0-9_.#-]+)+$`)
	// emailPattern is an address as people have them: a local part of
	// letters, digits and . _ % + -, a domain of labels and a top-level
	// domain of letters. No quotes, spaces, $ or backquotes: the address
	// reaches boot scripts and JSON bodies.
	emailPattern = regexp.MustCompile(`^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,63}$`)
)

// isEmail reports whether s is an e-mail address (name@domain.tld) of at
// most 254 characters, the most SMTP carries.
func isEmail(s string) bool { return len(s) <= 254 && emailPattern.MatchString(s) }

// targetHealth are the health check and deregistration settings a load
// balancer's target groups share.
type targetHealth struct {
	interval, timeout, healthy, unhealthy, deregistration *int
}

// defaults fills unset values: probes every 10 s with a 5 s timeout (below
// a shorter interval: 4 s for 5 s), 2 passes to be healthy and 2 failures
// to be out, 300 s deregistration.
func (h targetHealth) defaults() {
	setDefaultInt(h.interval, 10)
	setDefaultInt(h.timeout, max(2, min(5, *h.interval-1)))
	setDefaultInt(h.healthy, 2)
	setDefaultInt(h.unhealthy, 2)
	setDefaultInt(h.deregistration, 300)
}

// validate records every value Elastic Load Balancing would refuse.
func (h targetHealth) validate(bad *fieldErrors) {
	bad.within("HealthCheckIntervalSeconds", *h.interval, 5, 300, "seconds")
	if *h.timeout < 2 || *h.timeout >= *h.interval || *h.timeout > 120 {
		bad.reject("HealthCheckTimeoutSeconds", *h.timeout, fmt.Sprintf("2 to 120 seconds and below the interval (%d)", *h.interval))
	}
	bad.within("HealthyThreshold", *h.healthy, 2, 10, "probes")
	bad.within("UnhealthyThreshold", *h.unhealthy, 2, 10, "probes")
	bad.within("DeregistrationDelaySeconds", *h.deregistration, 0, 3600, "seconds")
}
