package mockaws

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

var (
	emailEndpoint = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$`)
	retentionDays = map[int]bool{1: true, 3: true, 5: true, 7: true, 14: true, 30: true, 60: true, 90: true, 120: true,
		150: true, 180: true, 365: true, 400: true, 545: true, 731: true, 1096: true, 1827: true, 2192: true, 2557: true,
		2922: true, 3288: true, 3653: true}
)

// newMonitoringResource answers like AWS for SNS topics and subscriptions
// and CloudWatch alarms, dashboards and log groups, refusing what AWS
// refuses; ok is false for other types.
func newMonitoringResource(args pulumi.MockResourceArgs, set func(string, any), arn func(string, string) string,
	str func(string) string, physical string,
) (id string, ok bool, err error) {
	switch args.TypeToken {
	case "aws:sns/topic:Topic":
		name := str("name")
		if name == "" {
			name = physical
		}
		id = arn("sns", name)
		set("name", name)
		set("arn", id)
		set("owner", Account)
	case "aws:sns/topicSubscription:TopicSubscription":
		topic := str("topic")
		if !strings.HasPrefix(topic, "arn:aws:sns:") {
			return "", true, fmt.Errorf("InvalidParameter: Topic %q is not an ARN", topic)
		}
		if str("protocol") == "email" && !emailEndpoint.MatchString(str("endpoint")) {
			return "", true, fmt.Errorf("InvalidParameter: Invalid parameter: Email address %q", str("endpoint"))
		}
		// E-mail subscriptions wait for the recipient's confirmation.
		id = topic + ":" + "pending-" + physical
		set("arn", "pending confirmation")
		set("pendingConfirmation", true)
	case "aws:cloudwatch/metricAlarm:MetricAlarm":
		name := str("name")
		if name == "" {
			name = physical
		}
		id = name
		set("name", name)
		set("arn", arn("cloudwatch", "alarm:"+name))
	case "aws:cloudwatch/dashboard:Dashboard":
		id = str("dashboardName")
		set("dashboardArn", fmt.Sprintf("arn:aws:cloudwatch::%s:dashboard/%s", Account, id))
	case "aws:cloudwatch/logGroup:LogGroup":
		name := str("name")
		if name == "" {
			name = physical
		}
		if days := args.Inputs["retentionInDays"]; days.IsNumber() && !retentionDays[int(days.NumberValue())] {
			return "", true, fmt.Errorf("InvalidParameterException: 1 validation error detected: Value '%v' at 'retentionInDays' failed to satisfy constraint", days.NumberValue())
		}
		id = name
		set("name", name)
		// The provider reports the group's ARN without the trailing ":*".
		set("arn", arn("logs", "log-group:"+name))
	default:
		return "", false, nil
	}
	return id, true, nil
}
