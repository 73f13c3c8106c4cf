package rules

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/property"
)

func encryptedVolumes() Rule {
	return newRule(EncryptedVolumes,
		"EBS volumes, instance block devices and launch template block device mappings must be encrypted.",
		map[string]check{
			typeVolume: func(r Resource) []string {
				return requireTrue(r, "encrypted", r.Properties.Get("encrypted"), "the volume is stored unencrypted")
			},
			typeInstance: func(r Resource) []string {
				root := r.Properties.Get("rootBlockDevice")
				if root.IsComputed() {
					return nil
				}
				var out []string
				if !root.IsMap() {
					out = append(out, r.violation("rootBlockDevice is %s, so the root volume takes the image's encryption setting; set rootBlockDevice.encrypted to true", show(root)))
				} else {
					out = append(out, requireTrue(r, "rootBlockDevice.encrypted", get(r.Properties, "rootBlockDevice", "encrypted"), "the root volume is stored unencrypted")...)
				}
				for i, d := range elements(r.Properties.Get("ebsBlockDevices")) {
					path := fmt.Sprintf("ebsBlockDevices[%d].encrypted", i)
					if !d.IsMap() {
						continue
					}
					out = append(out, requireTrue(r, path, d.AsMap().Get("encrypted"), "the volume is stored unencrypted")...)
				}
				return out
			},
			typeLaunchTemplate: func(r Resource) []string {
				mappings := r.Properties.Get("blockDeviceMappings")
				if mappings.IsComputed() {
					return nil
				}
				var out []string
				ebs := 0
				for i, m := range elements(mappings) {
					if m.IsComputed() {
						return out
					}
					e := propertyMap(m).Get("ebs")
					if !e.IsMap() {
						continue // ephemeral or noDevice mapping
					}
					ebs++
					path := fmt.Sprintf("blockDeviceMappings[%d].ebs.encrypted", i)
					out = append(out, requireTrue(r, path, e.AsMap().Get("encrypted"), `the volume is stored unencrypted; set it to "true"`)...)
				}
				if ebs == 0 {
					out = append(out, r.violation("blockDeviceMappings is %s, with no ebs mapping, so the root volume takes the image's encryption setting; map the root device with ebs.encrypted \"true\"", show(mappings)))
				}
				return out
			},
		})
}

func imdsv2Required() Rule {
	require := func(r Resource) []string {
		tokens := get(r.Properties, "metadataOptions", "httpTokens")
		if tokens.IsComputed() {
			return nil
		}
		if s, ok := str(tokens); ok && s == "required" {
			return nil
		}
		return []string{r.violation(`metadataOptions.httpTokens is %s, which allows IMDSv1; set it to "required"`, show(tokens))}
	}
	return newRule(IMDSv2Required,
		`Instances and launch templates must require IMDSv2 (metadataOptions.httpTokens "required").`,
		map[string]check{typeInstance: require, typeLaunchTemplate: require})
}

// StatefulTypes are the resource types that hold data and so must be protected.
func StatefulTypes() []string {
	return []string{
		typeVolume,
		"aws:rds/instance:Instance",
		"aws:rds/cluster:Cluster",
		"aws:docdb/cluster:Cluster",
		"aws:dynamodb/table:Table",
		"aws:s3/bucket:Bucket",
		"aws:s3/bucketV2:BucketV2",
	}
}

func statefulResourcesProtected() Rule {
	checks := map[string]check{}
	for _, t := range StatefulTypes() {
		checks[t] = func(r Resource) []string {
			if r.Protect {
				return nil
			}
			return []string{r.violation("protect is false; a resource that holds data must be created with pulumi.Protect(true) so that no replace or destroy can delete it")}
		}
	}
	return newRule(StatefulResourcesProtected,
		"Resources that hold data (EBS volumes, databases, tables, buckets) must be protected.",
		checks)
}

// requireTrue reports path unless v is true; an unknown value passes.
func requireTrue(r Resource, path string, v property.Value, consequence string) []string {
	if v.IsComputed() || isTrue(v) {
		return nil
	}
	return []string{r.violation("%s is %s: %s", path, show(v), consequence)}
}

// propertyMap returns v's map, an empty map for anything else.
func propertyMap(v property.Value) property.Map {
	if v.IsMap() {
		return v.AsMap()
	}
	return property.Map{}
}
