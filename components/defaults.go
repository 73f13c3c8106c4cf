package components

import "reflect"

// DefaultedFields names the whole-number fields of args, a pointer to one
// of the components' Args, that are 0 and that the component replaces with
// its default: for those fields 0 is not a value of its own. A caller that
// distinguishes an absent setting from a present 0 (internal/stack) refuses
// a present 0 there. Args of other types have none.
func DefaultedFields(args any) []string {
	var in, out any
	switch a := args.(type) {
	case *NetworkArgs:
		o, _ := a.withDefaults()
		in, out = a, &o
	case *MongoNodeArgs:
		o, _ := a.withDefaults()
		in, out = a, &o
	case *NodeSecurityGroupArgs:
		o, _ := a.withDefaults()
		in, out = a, &o
	case *StreamingLoadBalancerArgs:
		o, _ := a.withDefaults()
		in, out = a, &o
	case *ScalingGroupArgs:
		o, _ := a.withDefaults()
		in, out = a, &o
	case *ClusterLogsArgs:
		o, _ := a.withDefaults()
		in, out = a, &o
	case *AccessLogBucketArgs:
		o, _ := a.withDefaults()
		in, out = a, &o
	case *ClusterMonitoringArgs:
		o, _ := a.withDefaults()
		in, out = a, &o
	case *IngestLoadBalancerArgs:
		o, _ := a.withDefaults()
		in, out = a, &o
	case *RecordingStoreArgs:
		o, _ := a.withDefaults()
		in, out = a, &o
	case *TurnServerArgs:
		o, _ := a.withDefaults()
		in, out = a, &o
	default:
		return nil
	}
	vi, vo := reflect.ValueOf(in).Elem(), reflect.ValueOf(out).Elem()
	var fields []string
	for i := 0; i < vi.NumField(); i++ {
		f := vi.Type().Field(i)
		if f.IsExported() && f.Type.Kind() == reflect.Int && vi.Field(i).Int() == 0 && vo.Field(i).Int() != 0 {
			fields = append(fields, f.Name)
		}
	}
	return fields
}
