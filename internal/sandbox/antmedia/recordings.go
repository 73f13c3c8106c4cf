package antmedia

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ams-cluster/ams-aws/internal/sandbox/machine"
)

// MP4 recording and upload as Ant Media 3.0.2/3.0.3 do them
// (Ant-Media-Server, tags ams-v3.0.2 and ams-v3.0.3):
//   - With mp4MuxingEnabled a published stream is recorded into
//     webapps/<app>/streams/<streamId>.mp4 + Muxer.TEMP_EXTENSION
//     (".tmp_extension") while it lasts (Muxer.getRecordFile, RecordMuxer).
//   - When it ends, RecordMuxer.writeTrailer writes the trailer, then, on a
//     vert.x worker: getFinalFileName, which with s3RecordingEnabled and the
//     MP4 bit of uploadExtensionsToS3 (RecordMuxer.S3_CONSTANT, 1) asks the
//     storage client whether <s3StreamsFolderPath>/<name> exists (a HEAD;
//     the client, built on first use by AmazonS3StorageClient.getAmazonS3,
//     lists the bucket first) and picks <name>_1, _2… when it does;
//     finalizeRecordFile renames the file; saveToStorage starts the upload.
//     Any exception on the way is logged and ends the work: the file stays.
//   - AmazonS3StorageClient.save uploads through a TransferManager in the
//     background, with the canned ACL of s3Permission (getCannedAcl: an
//     unknown value is public-read) and s3StorageClass, signed with the
//     static s3AccessKey/s3SecretKey unless the key is null (initAmazonS3);
//     the local file is deleted only on TRANSFER_COMPLETED_EVENT
//     (listenUploadProgress); a failed upload leaves it.
// The stand-in takes model time for both steps: RecordingFinalizeSeconds
// for the trailer and the rename, then the file's size at
// RecordingUploadBytesPerSecond.

// Recording times of the stand-in, in virtual seconds and bytes.
const (
	RecordingFinalizeSeconds      = 3
	RecordingBytesPerSecond       = 312_500   // a 2.5 Mbit/s stream
	RecordingUploadBytesPerSecond = 1_250_000 // 10 Mbit/s to S3
	recordingTempExtension        = ".tmp_extension"
)

// RecordingSettings are the AppSettings fields a recording follows.
type RecordingSettings struct {
	MP4MuxingEnabled, S3RecordingEnabled bool
	S3BucketName, S3StreamsFolderPath    string
	S3Permission, S3StorageClass         string
	S3AccessKey, S3SecretKey             string
	UploadExtensionsToS3                 int
}

// AppRecordingSettings are the recording fields of an application's
// settings as the node's bean holds them (appsettings.go), Ant Media's
// defaults when the application is not there.
func (s *AMSServer) AppRecordingSettings(app string) RecordingSettings {
	out := DefaultRecordingSettings()
	m, err := s.AppSettings(app)
	if err != nil {
		return out
	}
	str := func(k string) string { v, _ := m[k].(string); return v }
	out.MP4MuxingEnabled, _ = m["mp4MuxingEnabled"].(bool)
	out.S3RecordingEnabled, _ = m["s3RecordingEnabled"].(bool)
	out.S3BucketName, out.S3StreamsFolderPath = str("s3BucketName"), str("s3StreamsFolderPath")
	out.S3Permission, out.S3StorageClass = str("s3Permission"), str("s3StorageClass")
	out.S3AccessKey, out.S3SecretKey = str("s3AccessKey"), str("s3SecretKey")
	switch n := m["uploadExtensionsToS3"].(type) {
	case int64:
		out.UploadExtensionsToS3 = int(n)
	case int:
		out.UploadExtensionsToS3 = n
	case float64:
		out.UploadExtensionsToS3 = int(n)
	}
	return out
}

// DefaultRecordingSettings are AppSettings' defaults (AppSettings.java:
// mp4MuxingEnabled false, s3RecordingEnabled false, s3StreamsFolderPath
// "streams", s3Permission "public-read", s3StorageClass "STANDARD",
// uploadExtensionsToS3 7, s3AccessKey and s3SecretKey "").
func DefaultRecordingSettings() RecordingSettings {
	return RecordingSettings{S3StreamsFolderPath: "streams", S3Permission: "public-read", S3StorageClass: "STANDARD", UploadExtensionsToS3: 7}
}

// S3Call is one S3 request of Ant Media's storage client: static
// credentials, over HTTPS (the SDK's default), At the node's clock.
type S3Call struct {
	AccessKeyID, Secret, Bucket, Key, CannedACL, StorageClass string
	Size                                                      int64
	At                                                        int
}

// ObjectStore is S3 as AmazonS3StorageClient calls it.
type ObjectStore interface {
	ListObjects(c S3Call) error
	HeadObject(c S3Call) (bool, error)
	Upload(c S3Call) error
}

// recording is one stream's MP4 on its way to the bucket.
type recording struct {
	app, id   string
	started   int
	ended     int // -1 while the stream lasts
	uploadAt  int // -1 until the upload started
	file, key string
	size      int64
	done      bool
}

// StartRecorder has the server record its published streams and upload
// them to store with the applications' settings (settings(app)), on the
// node's clock, until Close.
func (s *AMSServer) StartRecorder(store ObjectStore, settings func(app string) RecordingSettings) {
	stop := make(chan struct{})
	s.mu.Lock()
	s.stopRecorder = stop
	s.mu.Unlock()
	go func() {
		r := &recorder{s: s, store: store, settings: settings, recs: map[string]*recording{}}
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				r.step(s.env())
			}
		}
	}()
}

// stopRecording ends the recorder, if any: the machine is gone.
func (s *AMSServer) stopRecording() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopRecorder != nil {
		close(s.stopRecorder)
		s.stopRecorder = nil
	}
}

type recorder struct {
	s        *AMSServer
	store    ObjectStore
	settings func(app string) RecordingSettings
	recs     map[string]*recording // the live ones, by app/stream
	all      []*recording
	client   bool // the storage client was built (getAmazonS3)
	last     int  // the latest clock reading
}

// step brings the recordings to the node's current time.
func (r *recorder) step(e *machine.Env) {
	now := e.Now()
	if now < r.last {
		// A reading torn by a concurrent Advance: the clock never goes back.
		return
	}
	r.last = now
	live := map[string]bool{}
	for _, st := range r.s.streamsAt(now) {
		if !st.Publisher || !r.settings(st.App).MP4MuxingEnabled {
			continue
		}
		k := st.App + "/" + st.ID
		live[k] = true
		if r.recs[k] == nil {
			dir := e.Path(amsDir + "/webapps/" + st.App + "/streams")
			rec := &recording{app: st.App, id: st.ID, started: now, ended: -1, uploadAt: -1,
				file: filepath.Join(dir, st.ID+".mp4"+recordingTempExtension)}
			err := os.MkdirAll(dir, 0o755)
			if err == nil {
				err = os.WriteFile(rec.file, []byte("ftyp"), 0o644)
			}
			if err != nil {
				amsLog(e, "ERROR", "io.antmedia.muxer.Muxer", "cannot open %s: %v", rec.file, err)
			}
			r.recs[k] = rec
			r.all = append(r.all, rec)
		}
	}
	for k, rec := range r.recs {
		if !live[k] {
			rec.ended = now
			delete(r.recs, k)
		}
	}
	for _, rec := range r.all {
		if rec.done {
			continue
		}
		if rec.ended >= 0 && rec.uploadAt < 0 && now >= rec.ended+RecordingFinalizeSeconds {
			r.writeTrailer(e, rec)
		}
		if rec.uploadAt >= 0 && now >= rec.uploadAt {
			r.finishUpload(e, rec)
		}
	}
}

// call is an S3 request with the application's credentials.
func call(cfg RecordingSettings, key string, at int) S3Call {
	return S3Call{AccessKeyID: cfg.S3AccessKey, Secret: cfg.S3SecretKey, Bucket: cfg.S3BucketName, Key: key, At: at}
}

// writeTrailer is RecordMuxer.writeTrailer's worker: final name, rename,
// upload start.
func (r *recorder) writeTrailer(e *machine.Env, rec *recording) {
	at := rec.ended + RecordingFinalizeSeconds
	cfg := r.settings(rec.app)
	rec.size = int64(max(1, rec.ended-rec.started)) * RecordingBytesPerSecond
	upload := cfg.S3RecordingEnabled && cfg.UploadExtensionsToS3&1 != 0
	prefix := strings.Trim(cfg.S3StreamsFolderPath, "/") + "/"
	name := rec.id + ".mp4"
	if upload {
		if !r.client {
			r.client = true // set before the listing, as getAmazonS3 does
			if err := r.store.ListObjects(call(cfg, "", at)); err != nil {
				r.fail(e, rec, "%v", err)
				return
			}
		}
		for i := 1; ; i++ {
			exists, err := r.store.HeadObject(call(cfg, prefix+name, at))
			if err != nil {
				r.fail(e, rec, "%v", err)
				return
			}
			if !exists {
				break
			}
			name = fmt.Sprintf("%s_%d.mp4", rec.id, i)
		}
	}
	final := filepath.Join(filepath.Dir(rec.file), name)
	if err := os.Rename(rec.file, final); err != nil {
		r.fail(e, rec, "%v", err)
		return
	}
	rec.file, rec.key = final, prefix+name
	amsLog(e, "INFO", "io.antmedia.muxer.RecordMuxer", "%s is ready", name)
	if !upload {
		rec.done = true
		return
	}
	amsLog(e, "INFO", "io.antmedia.storage.AmazonS3StorageClient", "File %s upload has started with key: %s", name, rec.key)
	rec.uploadAt = at + int((rec.size+RecordingUploadBytesPerSecond-1)/RecordingUploadBytesPerSecond)
}

// finishUpload ends the TransferManager's upload: the object is stored and
// the local file deleted, or the failure logged and the file kept.
func (r *recorder) finishUpload(e *machine.Env, rec *recording) {
	rec.done = true
	cfg := r.settings(rec.app)
	c := call(cfg, rec.key, rec.uploadAt)
	c.CannedACL, c.StorageClass, c.Size = cannedACL(cfg.S3Permission), strings.ToUpper(cfg.S3StorageClass), rec.size
	if err := r.store.Upload(c); err != nil {
		amsLog(e, "ERROR", "io.antmedia.storage.AmazonS3StorageClient", "S3 - Error: Upload failed with key %s: %v", rec.key, err)
		return
	}
	_ = os.Remove(rec.file)
	amsLog(e, "INFO", "io.antmedia.storage.AmazonS3StorageClient", "File uploaded to S3 with key: %s", rec.key)
}

// fail logs the exception writeTrailer's worker catches; the file stays.
func (r *recorder) fail(e *machine.Env, rec *recording, format string, args ...any) {
	rec.done = true
	amsLog(e, "ERROR", "io.antmedia.muxer.RecordMuxer", format, args...)
}

// cannedACL is AmazonS3StorageClient.getCannedAcl: the known canned ACLs,
// public-read for anything else.
func cannedACL(permission string) string {
	switch permission {
	case "public-read", "private", "public-read-write", "authenticated-read", "log-delivery-write",
		"bucket-owner-read", "bucket-owner-full-control", "aws-exec-read":
		return permission
	}
	return "public-read"
}
