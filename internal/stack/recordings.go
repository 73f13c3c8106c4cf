package stack

import (
	"fmt"

	"github.com/ams-cluster/ams-aws/components"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// RecordingsConfig is the recording store's configuration (issue 18, item 3).
type RecordingsConfig struct {
	// Recordings creates the recording bucket and has the applications
	// upload their MP4 recordings there. Key recordings, default false.
	Recordings bool
	// RecordingsExpireDays, RecordingsTransitionDays and
	// RecordingsTransitionClass are the bucket's lifecycle. Keys
	// recordingsExpireDays, recordingsTransitionDays (0: none),
	// recordingsTransitionClass.
	RecordingsExpireDays, RecordingsTransitionDays int
	RecordingsTransitionClass                      string
}

// recordings reads the recording store's keys.
func (r *reader) recordings() RecordingsConfig {
	return RecordingsConfig{
		Recordings:                r.boolean("recordings"),
		RecordingsExpireDays:      r.integer("recordingsExpireDays"),
		RecordingsTransitionDays:  r.integer("recordingsTransitionDays"),
		RecordingsTransitionClass: r.str("recordingsTransitionClass"),
	}
}

// recordingKeys maps RecordingStoreArgs' fields to configuration keys.
var recordingKeys = map[string]string{
	"ExpireDays": "recordingsExpireDays", "TransitionDays": "recordingsTransitionDays",
	"TransitionClass": "recordingsTransitionClass",
}

// recordingStoreArgs are the store's arguments; parameterPrefix is the
// stack's SSM path.
func (c *Config) recordingStoreArgs(parameterPrefix string) *components.RecordingStoreArgs {
	return &components.RecordingStoreArgs{
		ExpireDays:      c.RecordingsExpireDays,
		TransitionDays:  c.RecordingsTransitionDays,
		TransitionClass: c.RecordingsTransitionClass,
		ParameterPrefix: parameterPrefix,
		Tags:            c.tags(),
	}
}

// buildRecordings creates the recording store when recordings are on (nil
// otherwise) and adds its application settings to w's.
func buildRecordings(ctx *pulumi.Context, base string, cfg *Config, w *wiring) (*components.RecordingStore, error) {
	if !cfg.Recordings {
		return nil, nil
	}
	store, err := components.NewRecordingStore(ctx, base+"-recordings", cfg.recordingStoreArgs(fmt.Sprintf("/%s/%s", ctx.Project(), ctx.Stack())))
	if err != nil {
		return nil, err
	}
	w.recordings = store
	w.appSettings.Extra = append(w.appSettings.Extra, store.Settings...)
	return store, nil
}

// addRecordingOutputs exports where recordings land.
func addRecordingOutputs(out Outputs, store *components.RecordingStore) {
	if store == nil {
		return
	}
	out["recordingsBucket"] = store.BucketName
	out["recordingUrlPattern"] = store.URLPattern
}
