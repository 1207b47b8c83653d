package files

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	filesv1 "github.com/files-gateway/files-gateway/clients/go/filesv1"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// fakeTransfer records uploads and serves downloads of a set of files.
type fakeTransfer struct {
	filesv1.UnimplementedTransferServiceServer
	mu         sync.Mutex
	spec       *filesv1.UploadSpec
	chunks     []int
	received   []byte
	committed  map[string][]byte
	cancelled  chan struct{} // closed when an upload or download sees its context end
	started    chan struct{} // closed when an upload's spec arrived
	failUpload error         // answered as soon as the spec arrives
	files      map[string][]byte
	chunk      int
	skipAt     int64 // download: jump the offset here (a gap)
	shortBy    int   // download: leave out the last bytes
	slow       bool  // download: wait between messages
	slowUpload bool  // upload: wait between messages
}

func newFakeTransfer() *fakeTransfer {
	return &fakeTransfer{committed: map[string][]byte{}, files: map[string][]byte{},
		cancelled: make(chan struct{}), started: make(chan struct{}), chunk: 64 << 10}
}

// set changes the fake's knobs while no call reads them.
func (f *fakeTransfer) set(change func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change()
}

func (f *fakeTransfer) markCancelled() {
	f.mu.Lock()
	defer f.mu.Unlock()
	select {
	case <-f.cancelled:
	default:
		close(f.cancelled)
	}
}

func (f *fakeTransfer) Upload(s filesv1.TransferService_UploadServer) error {
	first, err := s.Recv()
	if err != nil {
		f.markCancelled()
		return err
	}
	f.mu.Lock()
	f.spec = first.GetSpec()
	fail, slow := f.failUpload, f.slowUpload
	select {
	case <-f.started:
	default:
		close(f.started)
	}
	f.mu.Unlock()
	if fail != nil {
		return fail
	}
	var data []byte
	data = append(data, first.GetData()...)
	for {
		msg, err := s.Recv()
		if err == io.EOF {
			break // half-close: commit
		}
		if err != nil {
			f.markCancelled()
			return err
		}
		f.mu.Lock()
		f.chunks = append(f.chunks, len(msg.GetData()))
		f.mu.Unlock()
		if slow {
			time.Sleep(10 * time.Millisecond)
		}
		data = append(data, msg.GetData()...)
	}
	f.mu.Lock()
	f.received = data
	f.committed[f.spec.GetPath()] = data
	f.mu.Unlock()
	return s.SendAndClose(&filesv1.UploadResponse{File: &filesv1.File{Path: proto.String(f.spec.GetPath()),
		Size: proto.Int64(int64(len(data)))}})
}

func (f *fakeTransfer) Download(req *filesv1.DownloadRequest, s filesv1.TransferService_DownloadServer) error {
	f.mu.Lock()
	data, ok := f.files[req.GetPath()]
	chunk, skipAt, shortBy, slow := f.chunk, f.skipAt, f.shortBy, f.slow
	f.mu.Unlock()
	if !ok {
		st, _ := status.New(codes.NotFound, "Not Found").WithDetails(&errdetails.ErrorInfo{Reason: "FILE_NOT_FOUND",
			Domain: "files.com", Metadata: map[string]string{"type": "not-found/file-not-found", "http_status": "404"}})
		return st.Err()
	}
	if err := s.Send(&filesv1.DownloadResponse{Metadata: &filesv1.File{Path: proto.String(req.GetPath()),
		Size: proto.Int64(int64(len(data)))}}); err != nil {
		return err
	}
	end := int64(len(data) - shortBy)
	if req.GetLength() > 0 && req.GetOffset()+req.GetLength() < end {
		end = req.GetOffset() + req.GetLength()
	}
	for off := req.GetOffset(); off < end; {
		n := int64(chunk)
		if off+n > end {
			n = end - off
		}
		sendOff := off
		if skipAt > 0 && off >= skipAt {
			sendOff = off + 1
		}
		if err := s.Send(&filesv1.DownloadResponse{Offset: sendOff, Data: data[off : off+n]}); err != nil {
			return err
		}
		off += n
		if slow {
			select {
			case <-s.Context().Done():
				f.markCancelled()
				return s.Context().Err()
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return nil
}

func transferClient(t *testing.T) (*Client, *fakeTransfer) {
	t.Helper()
	gw := startFake(t)
	ft := newFakeTransfer()
	gw.transfer = ft
	return gw.client(t), ft
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

func waitClosed(t *testing.T, ch chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("the server never saw %s", what)
	}
}

func TestUploadFileSendsTheSpecThenChunks(t *testing.T) {
	c, ft := transferClient(t)
	data := randomBytes(2*ChunkSize + 123)
	local := filepath.Join(t.TempDir(), "data.bin")
	os.WriteFile(local, data, 0o600)
	mtime := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	file, err := c.UploadFile(ctxT(t), local, "dir/data.bin", true, ProvidedMtime(mtime), ExpectedMD5("ABC"))
	if err != nil {
		t.Fatal(err)
	}
	if file.GetPath() != "dir/data.bin" || file.GetSize() != int64(len(data)) {
		t.Errorf("file %v", file)
	}
	spec := ft.spec
	if spec.GetPath() != "dir/data.bin" || !spec.GetMkdirParents() || spec.GetExpectedSize() != int64(len(data)) ||
		spec.GetProvidedMtime() != "2026-11-29T10:00:00Z" || spec.GetExpectedMd5() != "abc" ||
		spec.GetOverwrite() != filesv1.OverwritePolicy_OVERWRITE_POLICY_UNSPECIFIED {
		t.Errorf("spec %v", spec)
	}
	if !bytes.Equal(ft.received, data) || len(ft.chunks) != 3 || ft.chunks[0] != ChunkSize || ft.chunks[2] != 123 {
		t.Errorf("chunks %v", ft.chunks)
	}
	var ip *InvalidParameterError
	if _, err := c.UploadFile(ctxT(t), local, "x", false, Range(1, 2)); !errors.As(err, &ip) {
		t.Errorf("a download option on an upload gave %v", err)
	}
	if _, err := c.UploadFile(ctxT(t), filepath.Join(t.TempDir(), "missing"), "x", false); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing local file gave %v", err)
	}
}

type failingReader struct{ n int }

var errDisk = errors.New("disk on fire")

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, errDisk
	}
	k := len(p)
	if k > r.n {
		k = r.n
	}
	r.n -= k
	return k, nil
}

func TestAFailingLocalReadCancelsTheUploadAndSurfacesItself(t *testing.T) {
	c, ft := transferClient(t)
	_, err := c.Upload(ctxT(t), &failingReader{n: 3 * ChunkSize / 2}, "x/fail.bin")
	if err != errDisk {
		t.Errorf("got %v", err)
	}
	waitClosed(t, ft.cancelled, "the cancellation")
	if _, ok := ft.committed["x/fail.bin"]; ok {
		t.Error("a failed upload was committed")
	}
}

func TestWriterCutsFullChunksWhateverTheWriteSizes(t *testing.T) {
	c, ft := transferClient(t)
	data := randomBytes(300000)
	f, err := c.Open(ctxT(t), "w/blob.bin", "wb", WithChunkSize(65536), NoOverwrite())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Abort()
	sizes := []int{1, 70000, 100, 65536, 3}
	for pos, i := 0, 0; pos < len(data); i++ {
		n := sizes[i%len(sizes)]
		if pos+n > len(data) {
			n = len(data) - pos
		}
		if k, err := f.Write(data[pos : pos+n]); err != nil || k != n {
			t.Fatalf("write: %d, %v", k, err)
		}
		pos += n
	}
	if f.BytesTransferred() != int64(len(data)) {
		t.Errorf("%d bytes written", f.BytesTransferred())
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	f.Abort() // a no-op after Close
	if !bytes.Equal(ft.received, data) || f.Metadata().GetSize() != int64(len(data)) ||
		f.UploadResult().GetFile().GetSize() != int64(len(data)) {
		t.Errorf("received %d bytes", len(ft.received))
	}
	for i, n := range ft.chunks {
		if n != 65536 && i != len(ft.chunks)-1 {
			t.Errorf("chunk %d has %d bytes", i, n)
		}
	}
	if ft.spec.GetOverwrite() != filesv1.OverwritePolicy_OVERWRITE_POLICY_FAIL_IF_EXISTS {
		t.Errorf("spec %v", ft.spec)
	}
	if _, err := f.Write([]byte("late")); !errors.Is(err, ErrClosed) {
		t.Errorf("a write after Close gave %v", err)
	}
	if _, err := f.Read(make([]byte, 1)); err == nil {
		t.Error("Read on a writer")
	}
}

func TestAbandonedWriterCancelsInsteadOfCommitting(t *testing.T) {
	c, ft := transferClient(t)
	func() {
		defer func() { recover() }()
		f, err := c.Open(ctxT(t), "w/abandoned.txt", "w", MkdirParents())
		if err != nil {
			t.Fatal(err)
		}
		defer f.Abort()
		f.WriteString("never committed\n")
		waitClosed(t, ft.started, "the upload") // the gateway has begun it
		panic("abandon")
	}()
	waitClosed(t, ft.cancelled, "the cancellation")
	if _, ok := ft.committed["w/abandoned.txt"]; ok {
		t.Error("an abandoned upload was committed")
	}
	f, _ := c.Open(ctxT(t), "w/aborted.txt", "w")
	f.Abort()
	var ce *CancelledError
	if _, err := f.Write([]byte("x")); !errors.As(err, &ce) {
		t.Errorf("a write after Abort gave %v", err)
	}
	if err := f.Close(); !errors.As(err, &ce) {
		t.Errorf("Close after Abort gave %v", err)
	}
}

func TestServerErrorReachesTheWriterAsItsClass(t *testing.T) {
	c, ft := transferClient(t)
	st, _ := status.New(codes.AlreadyExists, "exists").WithDetails(&errdetails.ErrorInfo{Reason: "X", Domain: "files-gateway"})
	ft.set(func() { ft.failUpload = st.Err() })
	f, err := c.Open(ctxT(t), "w/exists.txt", "w", NoOverwrite())
	if err == nil {
		// The refusal races with the first writes; it surfaces by Close at the latest.
		for i := 0; i < 64 && err == nil; i++ {
			_, err = f.Write(make([]byte, ChunkSize))
		}
		if err == nil {
			err = f.Close()
		}
	}
	var de *DestinationExistsError
	var pf *ProcessingFailureError
	if !errors.As(err, &de) || !errors.As(err, &pf) {
		t.Errorf("got %T %v", err, err)
	}
}

func TestDownloadReadsBackAndChecksOffsets(t *testing.T) {
	c, ft := transferClient(t)
	data := randomBytes(1<<20 + 17)
	ft.set(func() { ft.files["r/data.bin"] = data })
	var out bytes.Buffer
	meta, err := c.Download(ctxT(t), "r/data.bin", &out)
	if err != nil || !bytes.Equal(out.Bytes(), data) || meta.GetSize() != int64(len(data)) {
		t.Fatalf("download: %d bytes, %v", out.Len(), err)
	}
	f, err := c.Open(ctxT(t), "r/data.bin", "r")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(f)
	f.Close()
	if err != nil || !bytes.Equal(got, data) || f.Metadata().GetPath() != "r/data.bin" {
		t.Errorf("open: %d bytes, %v", len(got), err)
	}
	// A range.
	out.Reset()
	if _, err := c.Download(ctxT(t), "r/data.bin", &out, Range(100, 1000)); err != nil || !bytes.Equal(out.Bytes(), data[100:1100]) {
		t.Errorf("range: %d bytes, %v", out.Len(), err)
	}
	// To a local file, through a temporary one.
	dir := t.TempDir()
	local := filepath.Join(dir, "copy.bin")
	if _, err := c.DownloadFile(ctxT(t), "r/data.bin", local); err != nil {
		t.Fatal(err)
	}
	if back, _ := os.ReadFile(local); !bytes.Equal(back, data) {
		t.Error("DownloadFile wrote other bytes")
	}
	var dl *DataLossError
	ft.set(func() { ft.skipAt = 3 * 65536 })
	if _, err := c.DownloadFile(ctxT(t), "r/data.bin", filepath.Join(dir, "gap.bin")); !errors.As(err, &dl) {
		t.Errorf("a gap gave %v", err)
	}
	ft.set(func() { ft.skipAt, ft.shortBy = 0, 5 })
	if _, err := c.DownloadFile(ctxT(t), "r/data.bin", filepath.Join(dir, "short.bin")); !errors.As(err, &dl) {
		t.Errorf("a short stream gave %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("failed downloads left files: %v", entries)
	}
	var ip *InvalidParameterError
	if _, err := c.Open(ctxT(t), "r/data.bin", "r", MkdirParents()); !errors.As(err, &ip) {
		t.Errorf("an upload option on a download gave %v", err)
	}
	if _, err := c.Open(ctxT(t), "r/data.bin", "a"); !errors.As(err, &ip) {
		t.Errorf("mode a gave %v", err)
	}
}

func TestMissingFileFailsAtOpen(t *testing.T) {
	c, _ := transferClient(t)
	_, err := c.Open(ctxT(t), "r/missing.txt", "r")
	var fnf *FileNotFoundError
	var nf *NotFoundError
	if !errors.As(err, &fnf) || !errors.As(err, &nf) || fnf.HTTPStatus != 404 {
		t.Errorf("got %v", err)
	}
}

func TestCancelledDownloadStopsTheStream(t *testing.T) {
	c, ft := transferClient(t)
	data := randomBytes(8 << 20)
	ft.set(func() { ft.files["r/big.bin"], ft.slow = data, true })
	f, err := c.Open(ctxT(t), "r/big.bin", "rb")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(f, make([]byte, 100000)); err != nil {
		t.Fatal(err)
	}
	f.Cancel()
	_, err = io.ReadAll(f)
	var ce *CancelledError
	if !errors.As(err, &ce) || ce.Code != codes.Canceled {
		t.Errorf("a read after Cancel gave %v", err)
	}
	waitClosed(t, ft.cancelled, "the cancellation")
	if f.BytesTransferred() >= int64(len(data))/2 {
		t.Errorf("%d bytes arrived", f.BytesTransferred())
	}
	f.Close()
}

func TestAbortFromAnotherGoroutineStopsABlockedWriter(t *testing.T) {
	c, ft := transferClient(t)
	ft.set(func() { ft.slowUpload = true }) // the writer soon blocks under flow control
	f, err := c.Open(ctxT(t), "w/blocked.bin", "wb")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		var err error
		for err == nil {
			_, err = f.Write(make([]byte, ChunkSize))
		}
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	f.Abort()
	var ce *CancelledError
	select {
	case err := <-done:
		if !errors.As(err, &ce) {
			t.Errorf("the writer got %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Abort did not stop the writer")
	}
	waitClosed(t, ft.cancelled, "the cancellation")
	if _, ok := ft.committed["w/blocked.bin"]; ok {
		t.Error("an aborted upload was committed")
	}
}
