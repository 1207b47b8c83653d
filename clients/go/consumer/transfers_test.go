package main

// The cases only the typed Go API has words for, against the same servers
// as TestScenario: resumable uploads (start, query, resume from the persisted
// offset in a second client, cancel), progress on uploads and downloads, a
// write ended by an error that leaves no file, and the per-call workspace and
// language options. They use the typed layer (client.Users(), client.Files()).

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/files-gateway/files-gateway/clients/go/files"
	"github.com/files-gateway/files-gateway/clients/go/filesv1"

	"google.golang.org/protobuf/proto"
)

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func download(t *testing.T, c *files.Client, remote string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := c.Download(context.Background(), remote, &buf); err != nil {
		t.Fatalf("download %s: %v", remote, err)
	}
	return buf.Bytes()
}

// absent checks that remote does not exist, typed: FileNotFoundError is an ErrNotFound.
func absent(t *testing.T, c *files.Client, remote string) {
	t.Helper()
	f, err := c.Files().Find(context.Background(), remote, nil)
	if !files.IsNotFound(err) {
		t.Errorf("%s: want not found, got %v, %v", remote, f, err)
	}
}

func progressLog(calls *[]files.Progress) files.TransferOption {
	return files.OnProgress(func(p files.Progress) { *calls = append(*calls, p) })
}

// checkProgress: increasing Bytes, the last call at want of want.
func checkProgress(t *testing.T, what string, calls []files.Progress, want int64, upload bool) {
	t.Helper()
	if len(calls) == 0 {
		t.Fatalf("%s: no progress reported", what)
	}
	for i, p := range calls {
		if p.Upload != upload || (i > 0 && p.Bytes <= calls[i-1].Bytes) || p.Total != want {
			t.Fatalf("%s: progress call %d is %+v (want increasing bytes of %d, upload %v)", what, i, p, want, upload)
		}
	}
	if last := calls[len(calls)-1]; last.Bytes != want {
		t.Errorf("%s: progress ended at %d of %d", what, last.Bytes, want)
	}
}

func TestTransfers(t *testing.T) {
	e, _ := servers(t)
	client := e.clients["default"]
	dir := e.run + "-go-transfers"

	t.Run("resumable_upload", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		remote := dir + "/resumable.bin"
		data := randomBytes(t, 6<<20+12345) // more than one 5 MiB part

		up, err := client.StartResumableUpload(ctx, remote, files.MkdirParents(), files.ExpectedSize(int64(len(data))))
		if err != nil {
			t.Fatal(err)
		}
		if up.ID() == "" {
			t.Fatal("no upload id")
		}
		// A first stream sends 5.5 MiB and ends without finishing: the upload stays open.
		first, err := up.WriteAt(ctx, bytes.NewReader(data[:11<<19]), 0, false)
		if err != nil {
			t.Fatal(err)
		}
		persisted := first.GetPersistedSize()
		if persisted <= 0 || persisted > 11<<19 {
			t.Fatalf("persisted %d bytes of the 5.5 MiB sent", persisted)
		}
		st, err := up.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.GetPersistedSize() != persisted || st.GetComplete() {
			t.Fatalf("status %v, the stream said %d persisted", st, persisted)
		}
		absent(t, client, remote) // nothing visible before the commit

		// Another client (another process, say) resumes by id from the persisted offset.
		other, err := files.Connect(client.Target())
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		var calls []files.Progress
		res, err := other.ResumableUpload(up.ID(), remote).Resume(ctx, bytes.NewReader(data), true, progressLog(&calls))
		if err != nil {
			t.Fatal(err)
		}
		if res.GetFile().GetSize() != int64(len(data)) || res.GetFile().GetPath() != remote {
			t.Errorf("committed %v", res.GetFile())
		}
		// Progress counts from the file's start: the resumed stream begins past the persisted bytes.
		checkProgress(t, "resume", calls, int64(len(data)), true)
		if first := calls[0].Bytes; first <= persisted {
			t.Errorf("the resumed stream's first progress is at %d, not past the %d persisted", first, persisted)
		}
		if !bytes.Equal(download(t, client, remote), data) {
			t.Error("the resumed upload's content differs")
		}

		// Cancel: the upload is gone and nothing appears.
		gone := dir + "/cancelled.bin"
		up2, err := client.StartResumableUpload(ctx, gone, files.MkdirParents())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := up2.WriteAt(ctx, bytes.NewReader(randomBytes(t, 1024)), 0, false); err != nil {
			t.Fatal(err)
		}
		if err := up2.Cancel(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := up2.Status(ctx); !files.IsNotFound(err) {
			t.Errorf("status of a cancelled upload: %v, want not found", err)
		}
		absent(t, client, gone)
	})

	t.Run("progress", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		data := randomBytes(t, 3<<20+5)
		local := filepath.Join(t.TempDir(), "progress.bin")
		if err := os.WriteFile(local, data, 0o600); err != nil {
			t.Fatal(err)
		}
		var up []files.Progress
		if _, err := client.UploadFile(ctx, local, dir+"/progress.bin", true, progressLog(&up)); err != nil {
			t.Fatal(err)
		}
		checkProgress(t, "upload", up, int64(len(data)), true)
		var down []files.Progress
		back := filepath.Join(t.TempDir(), "back.bin")
		if _, err := client.DownloadFile(ctx, dir+"/progress.bin", back, progressLog(&down)); err != nil {
			t.Fatal(err)
		}
		checkProgress(t, "download", down, int64(len(data)), false)
		if got, _ := os.ReadFile(back); !bytes.Equal(got, data) {
			t.Error("the downloaded content differs")
		}
	})

	t.Run("aborted_write", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		remote := dir + "/aborted.txt"
		produce := func() (err error) {
			f, err := client.Open(ctx, remote, "w", files.MkdirParents())
			if err != nil {
				return err
			}
			defer func() {
				if err != nil {
					err = f.CloseWithError(err) // aborts: nothing is committed
				} else {
					err = f.Close()
				}
			}()
			if _, err := f.Write(randomBytes(t, 2<<20)); err != nil {
				return err
			}
			return errors.New("the producer failed half way")
		}
		if err := produce(); err == nil || !strings.Contains(err.Error(), "half way") {
			t.Fatalf("produce: %v", err)
		}
		// The same with a panic: the deferred Abort runs.
		func() {
			defer func() { _ = recover() }()
			f, err := client.Open(ctx, dir+"/panicked.txt", "w", files.MkdirParents())
			if err != nil {
				t.Error(err)
				return
			}
			defer f.Abort()
			if _, err := f.WriteString("partial"); err != nil {
				t.Error(err)
			}
			panic("boom")
		}()
		// A complete write in the same folder after the aborted ones, then neither is there.
		w, err := client.Open(ctx, dir+"/after.txt", "w", files.MkdirParents())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.WriteString("after"); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		absent(t, client, remote)
		absent(t, client, dir+"/panicked.txt")
		if got := string(download(t, client, dir+"/after.txt")); got != "after" {
			t.Errorf("after.txt holds %q", got)
		}
	})
}

func TestCallOptions(t *testing.T) {
	e, _ := servers(t)
	client := e.clients["default"]
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := e.run + "-options"
	user, err := client.Users().Create(ctx, &filesv1.CreateUserRequest{Username: proto.String(name),
		Email: proto.String(name + "@example.com")}, files.WithLanguage("fr"))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Users().Delete(ctx, user.GetId(), nil)
	found, err := client.Users().Find(ctx, user.GetId(), files.WithWorkspaceID(0), files.WithLanguage("es-ES"))
	if err != nil {
		t.Fatal(err)
	}
	if found.GetUsername() != name {
		t.Errorf("found %q", found.GetUsername())
	}
	it, err := client.Users().List(ctx, &filesv1.ListUsersRequest{FilterPrefix: map[string]string{"username": name}},
		files.WithLanguage("de"), files.WithWorkspaceID(0))
	if err != nil {
		t.Fatal(err)
	}
	all, err := it.All()
	if err != nil || len(all) != 1 || all[0].GetId() != user.GetId() {
		t.Errorf("listed %v, %v", all, err)
	}
	var out bytes.Buffer
	remote := e.run + "-options/hello.txt"
	if _, err := client.Upload(ctx, strings.NewReader("hola"), remote, files.MkdirParents(),
		files.WithCallOptions(files.WithLanguage("es"), files.WithWorkspaceID(0))); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Download(ctx, remote, &out, files.WithCallOptions(files.WithLanguage("es"))); err != nil || out.String() != "hola" {
		t.Errorf("download: %q, %v", out.String(), err)
	}
}

// TestConsumerProgram runs this module's own program (one typed call).
func TestConsumerProgram(t *testing.T) {
	e, _ := servers(t)
	bin := os.Getenv("FILESGW_GO_CONSUMER")
	if bin == "" {
		t.Skip("FILESGW_GO_CONSUMER (the built consumer program) is not set")
	}
	client := e.clients["default"]
	name := e.run + "-consumer"
	user, err := client.Users().Create(context.Background(), &filesv1.CreateUserRequest{Username: proto.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	out, err := runCommand(bin, "-target", client.Target(), "-user", strconv.FormatInt(user.GetId(), 10))
	if err != nil {
		t.Fatalf("%s: %v\n%s", bin, err, out)
	}
	if want := fmt.Sprintf("%d %s\n", user.GetId(), name); out != want {
		t.Errorf("the program printed %q, want %q", out, want)
	}
	_ = io.Discard
}
