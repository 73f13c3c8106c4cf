package components

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ssm"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// RecordingPermission is the canned ACL Ant Media must send with every
// upload (its s3Permission setting). Ant Media 3.0.x always sets a canned ACL
// (AmazonS3StorageClient.save calls putRequest.setCannedAcl(getCannedAcl()),
// and getCannedAcl falls back to public-read); a bucket with ACLs disabled
// refuses every ACL but this one with AccessControlListNotSupported.
const RecordingPermission = "bucket-owner-full-control"

// transitionClasses are the storage classes a lifecycle rule may move
// recordings to, with the least age AWS accepts for each (S3 User Guide,
// "Transitioning objects using Amazon S3 Lifecycle": 30 days before
// STANDARD_IA or ONEZONE_IA).
var transitionClasses = map[string]int{
	"STANDARD_IA": 30, "ONEZONE_IA": 30, "INTELLIGENT_TIERING": 0,
	"GLACIER_IR": 0, "GLACIER": 0, "DEEP_ARCHIVE": 0,
}

var recordingPrefixPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// RecordingStoreArgs configures a RecordingStore.
type RecordingStoreArgs struct {
	// Prefix is the folder Ant Media uploads recordings under (its
	// s3StreamsFolderPath, whose default is "streams"): lower-case letters,
	// digits, hyphens and underscores, up to 63. Defaults to "streams".
	Prefix string
	// ExpireDays is how long a recording is kept, 1 to 36500 days.
	// Defaults to 365.
	ExpireDays int
	// TransitionDays, when not 0, moves recordings to TransitionClass after
	// that many days; it must be less than ExpireDays, and at least 30 for
	// STANDARD_IA and ONEZONE_IA. Defaults to 0: no transition.
	TransitionDays int
	// TransitionClass is the storage class of that transition: STANDARD_IA,
	// ONEZONE_IA, INTELLIGENT_TIERING, GLACIER_IR, GLACIER or DEEP_ARCHIVE.
	// Defaults to STANDARD_IA.
	TransitionClass string
	// ParameterPrefix is the SSM path of the uploader's secret key parameter
	// (<ParameterPrefix>/recordings/uploader-secret-key). Required.
	ParameterPrefix string
	// Tags are added to every resource that takes tags.
	Tags map[string]string
}

// RecordingStore is where the cluster's MP4 recordings go: an S3 bucket
// (SSE-S3, public access blocked, ACLs disabled, TLS only, a lifecycle rule
// that expires recordings and may move them to a cheaper class first),
// protected and retained like the database's volumes, and an IAM user whose
// access key Ant Media uploads with (it cannot use the instance role: see
// docs/recordings.md). The user may do exactly what Ant Media's upload
// does, on exactly Prefix; its secret key is a SecureString parameter that
// the nodes read through their role. Settings are the application settings
// that make Ant Media record and upload there.
type RecordingStore struct {
	pulumi.ResourceState

	// BucketName is the bucket's name (Ant Media's s3BucketName).
	BucketName pulumi.StringOutput `pulumi:"bucketName"`
	// BucketArn is the bucket's ARN.
	BucketArn pulumi.StringOutput `pulumi:"bucketArn"`
	// Prefix is the folder recordings are uploaded under (s3StreamsFolderPath).
	Prefix pulumi.StringOutput `pulumi:"prefix"`
	// URLPattern is where the recording of stream {streamId} lands.
	URLPattern pulumi.StringOutput `pulumi:"urlPattern"`
	// UploaderSecretParameterName is the SecureString parameter holding the
	// uploader's secret access key (Ant Media's s3SecretKey).
	UploaderSecretParameterName pulumi.StringOutput `pulumi:"uploaderSecretParameterName"`

	// Settings are the application settings (AppSettings JSON fields) that
	// record every stream as MP4 and upload it here as the uploader.
	Settings []AppSetting
}

// Validate applies the defaults to a copy of the arguments and reports
// every field that is not acceptable.
func (a *RecordingStoreArgs) Validate() error {
	_, err := a.withDefaults()
	return err
}

func (a *RecordingStoreArgs) withDefaults() (RecordingStoreArgs, error) {
	bad := fieldErrors{component: "RecordingStore"}
	out := RecordingStoreArgs{}
	if a != nil {
		out = *a
	}
	setDefault(&out.Prefix, "streams")
	setDefaultInt(&out.ExpireDays, 365)
	setDefault(&out.TransitionClass, "STANDARD_IA")
	if !recordingPrefixPattern.MatchString(out.Prefix) {
		bad.reject("Prefix", out.Prefix, "lower-case letters, digits, hyphens and underscores, up to 63")
	}
	bad.within("ExpireDays", out.ExpireDays, 1, 36500, "days")
	least, known := transitionClasses[out.TransitionClass]
	if !known {
		classes := make([]string, 0, len(transitionClasses))
		for c := range transitionClasses {
			classes = append(classes, c)
		}
		sort.Strings(classes)
		bad.reject("TransitionClass", out.TransitionClass, "one of "+strings.Join(classes, ", "))
	}
	if out.TransitionDays != 0 {
		if least < 1 {
			least = 1
		}
		bad.within("TransitionDays", out.TransitionDays, least, out.ExpireDays-1,
			fmt.Sprintf("days (0 for none; at least %d for %s, and less than ExpireDays)", least, out.TransitionClass))
	}
	if out.ParameterPrefix == "" || !strings.HasPrefix(out.ParameterPrefix, "/") {
		bad.reject("ParameterPrefix", out.ParameterPrefix, "an SSM path starting with / (required)")
	}
	return out, bad.err()
}

// NewRecordingStore creates the bucket, its policy and lifecycle, and the
// uploader with its key parameter.
func NewRecordingStore(ctx *pulumi.Context, name string, args *RecordingStoreArgs, opts ...pulumi.ResourceOption) (*RecordingStore, error) {
	a, err := args.withDefaults()
	if err != nil {
		return nil, err
	}
	r := &RecordingStore{}
	if err := ctx.RegisterComponentResource(typePrefix+"RecordingStore", name, r, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(r)
	// The recordings are the one thing here nobody can rebuild: the bucket
	// is protected and outlives a destroy, as the database's volumes do.
	bucket, block, err := privateBucket(ctx, name, false, tagMap(a.Tags, map[string]string{"Name": name}), parent,
		pulumi.Protect(true), pulumi.RetainOnDelete(true))
	if err != nil {
		return nil, fmt.Errorf("recording store %s: %w", name, err)
	}
	if err := recordingLifecycle(ctx, name, bucket, a, parent); err != nil {
		return nil, fmt.Errorf("recording store %s: lifecycle: %w", name, err)
	}
	if _, err := s3.NewBucketPolicy(ctx, name, &s3.BucketPolicyArgs{
		Bucket: bucket.ID(),
		Policy: bucket.Arn.ApplyT(func(arn string) (string, error) {
			doc, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []map[string]any{denyInsecureTransport(arn)}})
			return string(doc), err
		}).(pulumi.StringOutput),
	}, parent, pulumi.DependsOn([]pulumi.Resource{block})); err != nil {
		return nil, fmt.Errorf("recording store %s: policy: %w", name, err)
	}
	key, secret, err := recordingUploader(ctx, name, bucket, a, parent)
	if err != nil {
		return nil, fmt.Errorf("recording store %s: %w", name, err)
	}
	region, err := aws.GetRegion(ctx, nil, parent)
	if err != nil {
		return nil, fmt.Errorf("recording store %s: region: %w", name, err)
	}

	r.BucketName = bucket.Bucket
	r.BucketArn = bucket.Arn
	r.Prefix = pulumi.String(a.Prefix).ToStringOutput()
	r.URLPattern = pulumi.Sprintf("s3://%s/%s", bucket.Bucket, RecordingKeyPattern(a.Prefix))
	r.UploaderSecretParameterName = secret.Name
	r.Settings = recordingSettings(bucket.Bucket, region.Name, a.Prefix, key.ID().ToStringOutput(), secret)
	if err := ctx.RegisterResourceOutputs(r, pulumi.Map{
		"bucketName":                  r.BucketName,
		"bucketArn":                   r.BucketArn,
		"prefix":                      r.Prefix,
		"urlPattern":                  r.URLPattern,
		"uploaderSecretParameterName": r.UploaderSecretParameterName,
	}); err != nil {
		return nil, err
	}
	return r, nil
}

// recordingSettings are the application settings of recording into the
// store (AppSettings.java field names; Ant Media 3.0.x).
//   - mp4MuxingEnabled records every stream as MP4.
//   - uploadExtensionsToS3 is a bit set: 1 uploads MP4 (RecordMuxer.S3_CONSTANT),
//     2 HLS, 4 previews; its default, 7, uploads all three. MP4 only here.
//   - s3StreamsFolderPath is the prefix the uploader may write, owned by
//     the stack so that a change in the panel cannot leave the grant.
//   - s3Permission must be RecordingPermission (see there).
//   - s3AccessKey/s3SecretKey: AmazonS3StorageClient.initAmazonS3 uses the
//     default credential chain (the instance role) only when the access key
//     is null, and every way the settings reach it (red5-web.properties,
//     the cluster database, the REST API's merge) turns null into "", the
//     default: static keys are the only ones that work (docs/recordings.md).
func recordingSettings(bucket pulumi.StringOutput, region, prefix string, accessKey pulumi.StringOutput, secret *ssm.Parameter) []AppSetting {
	return []AppSetting{
		{Name: "mp4MuxingEnabled", Value: pulumi.Bool(true)},
		{Name: "s3RecordingEnabled", Value: pulumi.Bool(true)},
		{Name: "s3BucketName", Value: bucket},
		{Name: "s3RegionName", Value: pulumi.String(region)},
		{Name: "s3StreamsFolderPath", Value: pulumi.String(prefix)},
		{Name: "s3Permission", Value: pulumi.String(RecordingPermission)},
		{Name: "s3StorageClass", Value: pulumi.String("STANDARD")},
		{Name: "uploadExtensionsToS3", Value: pulumi.Int(1)},
		{Name: "s3AccessKey", Value: accessKey},
		{Name: "s3SecretKey", Secret: &SecretParameter{Name: secret.Name, Arn: secret.Arn}},
	}
}

// RecordingKeyPattern is the key of a stream's MP4 under prefix, as Ant
// Media 3.0.x names it (RecordMuxer.getS3Prefix, Muxer.getExtendedName):
// the stream ID, then _<height>p for an adaptive rendition and _1, _2…
// when the key is already taken.
func RecordingKeyPattern(prefix string) string {
	return prefix + "/{streamId}.mp4"
}

// recordingLifecycle expires recordings after ExpireDays, moves them to
// TransitionClass after TransitionDays when set, and aborts multipart
// uploads a leaving node never finished.
func recordingLifecycle(ctx *pulumi.Context, name string, bucket *s3.BucketV2, a RecordingStoreArgs, parent pulumi.ResourceOption) error {
	rule := &s3.BucketLifecycleConfigurationV2RuleArgs{
		Id:         pulumi.String("expire-recordings"),
		Status:     pulumi.String("Enabled"),
		Filter:     &s3.BucketLifecycleConfigurationV2RuleFilterArgs{Prefix: pulumi.String(a.Prefix + "/")},
		Expiration: &s3.BucketLifecycleConfigurationV2RuleExpirationArgs{Days: pulumi.Int(a.ExpireDays)},
		AbortIncompleteMultipartUpload: &s3.BucketLifecycleConfigurationV2RuleAbortIncompleteMultipartUploadArgs{
			DaysAfterInitiation: pulumi.Int(1),
		},
	}
	if a.TransitionDays != 0 {
		rule.Transitions = s3.BucketLifecycleConfigurationV2RuleTransitionArray{&s3.BucketLifecycleConfigurationV2RuleTransitionArgs{
			Days:         pulumi.Int(a.TransitionDays),
			StorageClass: pulumi.String(a.TransitionClass),
		}}
	}
	_, err := s3.NewBucketLifecycleConfigurationV2(ctx, name, &s3.BucketLifecycleConfigurationV2Args{
		Bucket: bucket.ID(),
		Rules:  s3.BucketLifecycleConfigurationV2RuleArray{rule},
	}, parent)
	return err
}

// uploaderPolicy is the IAM policy of the uploader: what Ant Media 3.0.x's
// AmazonS3StorageClient does for an MP4, on the recordings' prefix only.
//   - s3:ListBucket on the bucket: getAmazonS3 lists the bucket (prefix "")
//     when it builds its client, and without it S3 answers a HEAD of a
//     missing key 403 instead of 404, so doesObjectExist throws and
//     RecordMuxer.writeTrailer gives up before saving.
//   - s3:GetObject on the prefix: RecordMuxer.getFinalFileName asks
//     fileExist (a HEAD) for the key before every upload.
//   - s3:PutObject on the prefix: the upload (TransferManager's single PUT,
//     or multipart above 5 MiB: create, parts and complete all need it).
//   - s3:AbortMultipartUpload and s3:ListMultipartUploadParts: the
//     TransferManager aborts a failed multipart upload and lists its parts
//     when it resumes.
func uploaderPolicy(bucketArn, prefix string) (string, error) {
	objects := bucketArn + "/" + prefix + "/*"
	doc, err := json.Marshal(map[string]any{
		"Version": "2012-10-17",
		"Statement": []map[string]any{
			{"Sid": "ListForClientAndHead", "Effect": "Allow", "Action": []string{"s3:ListBucket"}, "Resource": bucketArn},
			{
				"Sid": "UploadRecordings", "Effect": "Allow",
				"Action":   []string{"s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"},
				"Resource": objects,
			},
		},
	})
	return string(doc), err
}

// recordingUploader creates the IAM user Ant Media uploads as, its policy,
// its access key and the SecureString parameter holding the key's secret.
func recordingUploader(ctx *pulumi.Context, name string, bucket *s3.BucketV2, a RecordingStoreArgs, parent pulumi.ResourceOption) (*iam.AccessKey, *ssm.Parameter, error) {
	user, err := iam.NewUser(ctx, name+"-uploader", &iam.UserArgs{
		Path: pulumi.String("/ams/"),
		Tags: tagMap(a.Tags),
	}, parent)
	if err != nil {
		return nil, nil, fmt.Errorf("uploader: %w", err)
	}
	if _, err := iam.NewUserPolicy(ctx, name+"-uploader", &iam.UserPolicyArgs{
		User: user.Name,
		Policy: bucket.Arn.ApplyT(func(arn string) (string, error) {
			return uploaderPolicy(arn, a.Prefix)
		}).(pulumi.StringOutput),
	}, parent); err != nil {
		return nil, nil, fmt.Errorf("uploader policy: %w", err)
	}
	key, err := iam.NewAccessKey(ctx, name+"-uploader", &iam.AccessKeyArgs{User: user.Name}, parent)
	if err != nil {
		return nil, nil, fmt.Errorf("uploader key: %w", err)
	}
	param, err := ssm.NewParameter(ctx, name+"-uploader-secret-key", &ssm.ParameterArgs{
		Name:        pulumi.String(a.ParameterPrefix + "/recordings/uploader-secret-key"),
		Description: pulumi.String("Secret access key Ant Media uploads recordings with (its s3SecretKey)"),
		Type:        pulumi.String("SecureString"),
		Value:       key.Secret,
		Tags:        tagMap(a.Tags),
	}, parent)
	if err != nil {
		return nil, nil, fmt.Errorf("uploader key parameter: %w", err)
	}
	return key, param, nil
}
