package antmedia

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/ams-cluster/ams-aws/internal/sandbox/machine"
)

// fakeStore is S3 answering from a set of keys, recording each call.
type fakeStore struct {
	keys    map[string]bool
	refuse  error
	uploads []S3Call
}

func (f *fakeStore) ListObjects(S3Call) error { return nil }
func (f *fakeStore) HeadObject(c S3Call) (bool, error) {
	return f.keys[c.Key], nil
}
func (f *fakeStore) Upload(c S3Call) error {
	if f.refuse != nil {
		return f.refuse
	}
	f.uploads = append(f.uploads, c)
	f.keys[c.Key] = true
	return nil
}

// TestRecordingFinalizesThenUploadsThenDeletes follows one recorded
// stream: the temporary file while it lasts, the trailer and rename
// RecordingFinalizeSeconds after it ends (a taken key gets _1), the upload
// at the file's size over RecordingUploadBytesPerSecond with the
// application's ACL and key, and the local file deleted only then; a
// refused upload leaves the file.
func TestRecordingFinalizesThenUploadsThenDeletes(t *testing.T) {
	for _, refuse := range []error{nil, errors.New("AccessControlListNotSupported")} {
		root := t.TempDir()
		e := &machine.Env{Root: root}
		if err := os.MkdirAll(e.State(""), 0o755); err != nil {
			t.Fatal(err)
		}
		at := func(now int) {
			if err := os.WriteFile(e.State("clock"), []byte(strconv.Itoa(now)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		s := &AMSServer{}
		s.SetStreams(100, AMSStream{App: "LiveApp", ID: "s", Publisher: true})
		s.SetStreams(120)
		store := &fakeStore{keys: map[string]bool{"streams/s.mp4": true}, refuse: refuse}
		cfg := DefaultRecordingSettings()
		cfg.MP4MuxingEnabled, cfg.S3RecordingEnabled, cfg.S3BucketName = true, true, "b"
		cfg.S3Permission, cfg.S3AccessKey, cfg.S3SecretKey = "bucket-owner-full-control", "AKIAX", "secret"
		r := &recorder{s: s, store: store, settings: func(string) RecordingSettings { return cfg }, recs: map[string]*recording{}}
		dir := filepath.Join(root, amsDir, "webapps", "LiveApp", "streams")
		exists := func(name string) bool { _, err := os.Stat(filepath.Join(dir, name)); return err == nil }
		size := int64(20 * RecordingBytesPerSecond)
		upload := 120 + RecordingFinalizeSeconds + int((size+RecordingUploadBytesPerSecond-1)/RecordingUploadBytesPerSecond)
		for _, step := range []struct {
			now      int
			tmp, mp4 bool
			uploaded int
		}{
			{100, true, false, 0}, {119, true, false, 0}, {120, true, false, 0}, {122, true, false, 0},
			{123, false, true, 0}, {upload - 1, false, true, 0},
			{upload, false, refuse != nil, map[bool]int{true: 0, false: 1}[refuse != nil]},
		} {
			at(step.now)
			r.step(e)
			if got := exists("s.mp4" + recordingTempExtension); got != step.tmp {
				t.Errorf("refuse=%v at %d: temporary file %v, want %v", refuse, step.now, got, step.tmp)
			}
			if got := exists("s_1.mp4"); got != step.mp4 {
				t.Errorf("refuse=%v at %d: s_1.mp4 %v, want %v", refuse, step.now, got, step.mp4)
			}
			if len(store.uploads) != step.uploaded {
				t.Errorf("refuse=%v at %d: %d uploads, want %d", refuse, step.now, len(store.uploads), step.uploaded)
			}
		}
		if refuse == nil && len(store.uploads) == 1 {
			want := S3Call{AccessKeyID: "AKIAX", Secret: "secret", Bucket: "b", Key: "streams/s_1.mp4", CannedACL: "bucket-owner-full-control", StorageClass: "STANDARD", Size: size, At: upload}
			if store.uploads[0] != want {
				t.Errorf("upload %+v, want %+v", store.uploads[0], want)
			}
		}
	}
}
