package files

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	filesv1 "github.com/files-gateway/files-gateway/clients/go/filesv1"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// ChunkSize is the default size of the data messages an upload sends.
const ChunkSize = 1 << 20

type transferConfig struct {
	mkdirParents   bool
	providedMtime  string
	expectedSize   *int64
	expectedMD5    string
	expectedCRC32C *uint32
	noOverwrite    bool
	chunkSize      int
	offset, length int64
	callOptions    []grpc.CallOption
	progress       func(Progress)
	uploadOnly     []string // names of the upload options given
	downloadOnly   []string // names of the download options given
}

// TransferOption configures UploadFile, Upload, DownloadFile, Download and Open.
type TransferOption func(*transferConfig)

// MkdirParents creates the missing parent folders of an upload's destination.
func MkdirParents() TransferOption {
	return func(c *transferConfig) { c.mkdirParents = true; c.uploadOnly = append(c.uploadOnly, "MkdirParents") }
}

// ProvidedMtime stores t as the uploaded file's provided_mtime.
func ProvidedMtime(t time.Time) TransferOption {
	return func(c *transferConfig) {
		c.providedMtime = t.UTC().Format(time.RFC3339Nano)
		c.uploadOnly = append(c.uploadOnly, "ProvidedMtime")
	}
}

// ExpectedSize makes an upload fail, committing nothing, unless exactly n
// bytes arrive (UploadFile sets it from the local file's size).
func ExpectedSize(n int64) TransferOption {
	return func(c *transferConfig) { c.expectedSize = &n; c.uploadOnly = append(c.uploadOnly, "ExpectedSize") }
}

// ExpectedMD5 has the gateway verify the content's MD5 (hex) before it commits.
func ExpectedMD5(hex string) TransferOption {
	return func(c *transferConfig) {
		c.expectedMD5 = strings.ToLower(hex)
		c.uploadOnly = append(c.uploadOnly, "ExpectedMD5")
	}
}

// ExpectedCRC32C has the gateway verify the content's CRC32C (Castagnoli) before it commits.
func ExpectedCRC32C(crc uint32) TransferOption {
	return func(c *transferConfig) {
		c.expectedCRC32C = &crc
		c.uploadOnly = append(c.uploadOnly, "ExpectedCRC32C")
	}
}

// NoOverwrite makes an upload fail with DestinationExistsError when the file
// exists (checked before any byte is sent upstream).
func NoOverwrite() TransferOption {
	return func(c *transferConfig) { c.noOverwrite = true; c.uploadOnly = append(c.uploadOnly, "NoOverwrite") }
}

// WithChunkSize sets the data size per message: what an upload sends (default
// 1 MiB), or what a download asks for (default: the gateway's).
func WithChunkSize(n int) TransferOption {
	return func(c *transferConfig) { c.chunkSize = n }
}

// Range reads length bytes from offset (length 0: to the end) instead of the
// whole file. Only whole-file reads are checked for completeness.
func Range(offset, length int64) TransferOption {
	return func(c *transferConfig) {
		c.offset, c.length = offset, length
		c.downloadOnly = append(c.downloadOnly, "Range")
	}
}

// WithCallOptions gives a transfer per-call options (WithWorkspaceID,
// WithLanguage, WithAPIKey, WithSessionID, or any grpc.CallOption).
func WithCallOptions(opts ...grpc.CallOption) TransferOption {
	return func(c *transferConfig) { c.callOptions = append(c.callOptions, opts...) }
}

// Progress is where a transfer is: Bytes sent to the gateway (upload) or
// received from it (download) so far, of Total (-1 when unknown: an upload
// from a reader without ExpectedSize).
type Progress struct {
	Path   string
	Upload bool
	Bytes  int64
	Total  int64
}

// OnProgress calls fn after every data message of an upload or download
// (1 MiB by default, see WithChunkSize), in the goroutine that moves the
// data: keep it short. The last call of a complete transfer has Bytes == Total.
func OnProgress(fn func(Progress)) TransferOption {
	return func(c *transferConfig) { c.progress = fn }
}

func (c *Client) streamContext(ctx context.Context, cfg *transferConfig) (context.Context, context.CancelFunc, []grpc.CallOption) {
	ctx, cancel := c.callContext(ctx, true)
	ctx = withCallMetadata(ctx, cfg.callOptions)
	return ctx, cancel, c.withOptions(cfg.callOptions)
}

// withOptions gives the client's call options followed by extra ones.
func (c *Client) withOptions(extra []grpc.CallOption) []grpc.CallOption {
	return append(c.callOptions[:len(c.callOptions):len(c.callOptions)], extra...)
}

func transferOptions(opts []TransferOption, upload bool) (transferConfig, error) {
	var c transferConfig
	for _, o := range opts {
		o(&c)
	}
	if c.chunkSize < 0 {
		return c, errorf("InvalidParameterError", "the chunk size must be positive")
	}
	if upload && len(c.downloadOnly) > 0 {
		return c, errorf("InvalidParameterError", "download options given to an upload: %s", strings.Join(c.downloadOnly, ", "))
	}
	if !upload && len(c.uploadOnly) > 0 {
		return c, errorf("InvalidParameterError", "upload options given to a download: %s", strings.Join(c.uploadOnly, ", "))
	}
	if upload && c.chunkSize == 0 {
		c.chunkSize = ChunkSize
	}
	return c, nil
}

func (c *transferConfig) spec(remote string) *filesv1.UploadSpec {
	spec := &filesv1.UploadSpec{
		Path:           remote,
		MkdirParents:   c.mkdirParents,
		ProvidedMtime:  c.providedMtime,
		ExpectedSize:   c.expectedSize,
		ExpectedMd5:    c.expectedMD5,
		ExpectedCrc32C: c.expectedCRC32C,
	}
	if c.noOverwrite {
		spec.Overwrite = filesv1.OverwritePolicy_OVERWRITE_POLICY_FAIL_IF_EXISTS
	}
	return spec
}

// --- uploads ------------------------------------------------------------------

// UploadFile uploads the local file to remote and gives the committed File.
// Nothing appears at remote unless every byte arrived and checked out: a
// failed local read, a cancelled ctx or a short stream commit nothing.
func (c *Client) UploadFile(ctx context.Context, local, remote string, mkdirParents bool, opts ...TransferOption) (*filesv1.File, error) {
	f, err := os.Open(local)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		// Lets the gateway plan its parts and refuse a short stream.
		opts = append([]TransferOption{ExpectedSize(st.Size())}, opts...)
	}
	if mkdirParents {
		opts = append(opts, MkdirParents())
	}
	return c.Upload(ctx, f, remote, opts...)
}

// Upload streams everything r gives to remote and gives the committed File.
// An error from r cancels the upload (nothing is committed) and is returned as is.
func (c *Client) Upload(ctx context.Context, r io.Reader, remote string, opts ...TransferOption) (*filesv1.File, error) {
	w, err := c.openWriter(ctx, remote, opts)
	if err != nil {
		return nil, err
	}
	defer w.Abort()
	buf := make([]byte, w.chunk)
	for {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return nil, werr
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return w.File(), nil
}

// uploadWriter streams writes to TransferService.Upload: data goes out in
// chunks of a fixed size whatever the write sizes; Send blocks under gRPC
// flow control, so a slow gateway slows the writer and memory stays at one chunk.
type uploadWriter struct {
	client  *Client
	remote  string
	stream  filesv1.TransferService_UploadClient
	cancel  context.CancelFunc
	chunk   int
	buf     []byte
	written int64
	sent    int64 // data bytes the stream took
	total   int64 // expected size, -1 when unknown
	err     error // sticky failure

	progress func(Progress)

	mu        sync.Mutex // Abort may come from another goroutine
	closed    bool       // Close was called
	committed bool       // Close succeeded
	aborted   bool
	result    *filesv1.UploadResponse
	file      *filesv1.File
}

func (c *Client) openWriter(ctx context.Context, remote string, opts []TransferOption) (*uploadWriter, error) {
	cfg, err := transferOptions(opts, true)
	if err != nil {
		return nil, err
	}
	ctx, cancel, callOpts := c.streamContext(ctx, &cfg)
	stream, err := c.TransferService().Upload(ctx, callOpts...)
	if err != nil {
		cancel()
		return nil, FromError(err)
	}
	w := &uploadWriter{client: c, remote: remote, stream: stream, cancel: cancel, chunk: cfg.chunkSize,
		buf: make([]byte, 0, cfg.chunkSize), progress: cfg.progress, total: -1}
	if cfg.expectedSize != nil {
		w.total = *cfg.expectedSize
	}
	if err := w.send(&filesv1.UploadRequest{FirstMessage: &filesv1.UploadRequest_Spec{Spec: cfg.spec(remote)}}); err != nil {
		cancel()
		return nil, err
	}
	return w, nil
}

func (w *uploadWriter) send(req *filesv1.UploadRequest) error {
	if err := w.stream.Send(req); err != nil {
		if err == io.EOF {
			// The gateway ended the stream; its status says why.
			_, err = w.stream.CloseAndRecv()
			if err == nil {
				err = errorf("GatewayError", "the upload of %s ended before it was closed", w.remote)
			}
		}
		w.err = FromError(err)
		w.cancel()
		return w.err
	}
	if n := len(req.GetData()); n > 0 {
		w.sent += int64(n)
		if w.progress != nil {
			w.progress(Progress{Path: w.remote, Upload: true, Bytes: w.sent, Total: w.total})
		}
	}
	return nil
}

// state checks that the upload is still open.
func (w *uploadWriter) state() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.aborted:
		return errorf("CancelledError", "the upload of %s was aborted", w.remote)
	case w.closed:
		return ErrClosed
	}
	return nil
}

func (w *uploadWriter) Write(p []byte) (int, error) {
	if err := w.state(); err != nil {
		return 0, err
	}
	if w.err != nil {
		return 0, w.err
	}
	consumed := 0
	if len(w.buf) > 0 {
		k := w.chunk - len(w.buf)
		if k > len(p) {
			k = len(p)
		}
		w.buf = append(w.buf, p[:k]...)
		consumed = k
		if len(w.buf) == w.chunk {
			if err := w.send(&filesv1.UploadRequest{Data: w.buf}); err != nil {
				return consumed, err
			}
			w.buf = w.buf[:0]
		}
	}
	// Whole chunks straight from p: Send has encoded the message when it returns.
	for len(p)-consumed >= w.chunk {
		if err := w.send(&filesv1.UploadRequest{Data: p[consumed : consumed+w.chunk]}); err != nil {
			return consumed, err
		}
		consumed += w.chunk
	}
	w.buf = append(w.buf, p[consumed:]...)
	w.written += int64(len(p))
	return len(p), nil
}

// Close sends what is left, half-closes the stream (the commit) and waits for the File.
func (w *uploadWriter) Close() error {
	w.mu.Lock()
	closed, aborted := w.closed, w.aborted
	w.closed = true
	w.mu.Unlock()
	switch {
	case aborted:
		return errorf("CancelledError", "the upload of %s was aborted", w.remote)
	case closed:
		return w.err
	}
	defer w.cancel()
	if w.err != nil {
		return w.err
	}
	if len(w.buf) > 0 {
		if err := w.send(&filesv1.UploadRequest{Data: w.buf}); err != nil {
			return err
		}
		w.buf = nil
	}
	resp, err := w.stream.CloseAndRecv()
	if err != nil {
		w.err = FromError(err)
		return w.err
	}
	w.result = resp
	w.file = resp.GetFile()
	w.mu.Lock()
	w.committed = true
	w.mu.Unlock()
	return nil
}

// Abort cancels the upload: nothing is committed. A no-op once Close has
// committed; safe to call from another goroutine.
func (w *uploadWriter) Abort() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.committed || w.aborted {
		return
	}
	w.aborted = true
	w.cancel()
}

func (w *uploadWriter) File() *filesv1.File { return w.file }

// --- downloads ------------------------------------------------------------------

// downloadReader reads a TransferService.Download stream.
type downloadReader struct {
	remote    string
	stream    filesv1.TransferService_DownloadClient
	cancel    context.CancelFunc
	start     int64
	whole     bool
	received  int64
	pending   []byte
	eof       bool
	err       error // sticky
	cancelled bool
	metadata  *filesv1.File
	mu        sync.Mutex // guards cancelled against Cancel from another goroutine
	progress  func(Progress)
	length    int64 // asked for (0: to the end)
}

// total is what the download will deliver: the range asked for, else the
// file's size from the offset; -1 when unknown.
func (r *downloadReader) total() int64 {
	size, ok := r.size()
	switch {
	case !ok && r.length > 0:
		return r.length
	case !ok:
		return -1
	case r.length > 0 && r.start+r.length < size:
		return r.length
	case r.start >= size:
		return 0
	}
	return size - r.start
}

func (c *Client) openReader(ctx context.Context, remote string, opts []TransferOption) (*downloadReader, error) {
	cfg, err := transferOptions(opts, false)
	if err != nil {
		return nil, err
	}
	ctx, cancel, callOpts := c.streamContext(ctx, &cfg)
	req := &filesv1.DownloadRequest{Path: remote, Offset: cfg.offset, Length: cfg.length, ChunkSize: int32(cfg.chunkSize)}
	stream, err := c.TransferService().Download(ctx, req, callOpts...)
	if err != nil {
		cancel()
		return nil, FromError(err)
	}
	r := &downloadReader{remote: remote, stream: stream, cancel: cancel, start: cfg.offset,
		whole: cfg.offset == 0 && cfg.length == 0, progress: cfg.progress, length: cfg.length}
	first, err := stream.Recv()
	if err != nil {
		cancel()
		if err == io.EOF {
			return nil, errorf("DataLossError", "the download of %s ended without its metadata", remote)
		}
		return nil, FromError(err)
	}
	if first.GetMetadata() != nil {
		r.metadata = first.GetMetadata()
	}
	if err := r.take(first); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *downloadReader) take(msg *filesv1.DownloadResponse) error {
	if len(msg.GetData()) > 0 && msg.GetOffset() != r.start+r.received {
		r.cancel()
		r.err = errorf("DataLossError", "the download of %s skipped from offset %d to %d",
			r.remote, r.start+r.received, msg.GetOffset())
		return r.err
	}
	r.received += int64(len(msg.GetData()))
	r.pending = msg.GetData()
	if len(msg.GetData()) > 0 && r.progress != nil {
		r.progress(Progress{Path: r.remote, Bytes: r.received, Total: r.total()})
	}
	return nil
}

func (r *downloadReader) isCancelled() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cancelled
}

// fill makes data pending; false at the end of the stream or on an error (r.err).
func (r *downloadReader) fill() bool {
	for len(r.pending) == 0 {
		if r.isCancelled() {
			if r.err == nil {
				r.err = errorf("CancelledError", "the download of %s was cancelled", r.remote)
			}
			return false
		}
		if r.eof || r.err != nil {
			return false
		}
		msg, err := r.stream.Recv()
		if err == io.EOF {
			r.eof = true
			r.cancel()
			if size, ok := r.size(); ok && r.whole && r.received != size {
				// A whole-file read must deliver every byte (the gateway checks too).
				r.err = errorf("DataLossError", "the download of %s ended after %d of %d bytes", r.remote, r.received, size)
			}
			return false
		}
		if err != nil {
			r.err = FromError(err)
			r.cancel()
			return false
		}
		if err := r.take(msg); err != nil {
			return false
		}
	}
	return true
}

func (r *downloadReader) size() (int64, bool) {
	if r.metadata == nil || r.metadata.Size == nil {
		return 0, false
	}
	return r.metadata.GetSize(), true
}

func (r *downloadReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if !r.fill() {
		if r.err != nil {
			return 0, r.err
		}
		return 0, io.EOF
	}
	n := copy(p, r.pending)
	r.pending = r.pending[n:]
	return n, nil
}

// WriteTo writes the rest of the stream to w without an intermediate copy.
func (r *downloadReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for r.fill() {
		n, err := w.Write(r.pending)
		total += int64(n)
		r.pending = r.pending[n:]
		if err != nil {
			return total, err
		}
	}
	return total, r.err
}

// Cancel stops the stream; later reads fail with CancelledError.
func (r *downloadReader) Cancel() {
	r.mu.Lock()
	r.cancelled = true
	r.mu.Unlock()
	r.cancel()
}

func (r *downloadReader) Close() error {
	if !r.eof {
		r.Cancel()
	}
	r.cancel()
	return nil
}

// DownloadFile downloads remote into the local file and gives the File. It
// writes a temporary file beside local and renames it at the end, so a
// failed download leaves no partial file.
func (c *Client) DownloadFile(ctx context.Context, remote, local string, opts ...TransferOption) (*filesv1.File, error) {
	r, err := c.openReader(ctx, remote, opts)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	tmp, err := os.CreateTemp(filepath.Dir(local), "."+filepath.Base(local)+".*.part")
	if err != nil {
		return nil, err
	}
	_, err = r.WriteTo(tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), local)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return nil, err
	}
	return r.metadata, nil
}

// Download writes remote's content to w and gives the File.
func (c *Client) Download(ctx context.Context, remote string, w io.Writer, opts ...TransferOption) (*filesv1.File, error) {
	r, err := c.openReader(ctx, remote, opts)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if _, err := r.WriteTo(w); err != nil {
		return nil, err
	}
	return r.metadata, nil
}

// --- Open -----------------------------------------------------------------------

// RemoteFile is a Files.com file opened for streaming: an io.Reader in mode
// "r", an io.Writer in mode "w" ("rb" and "wb" are the same in Go).
//
// Reading: Open starts the download and reads the file's metadata, so a
// missing file fails at Open (FileNotFoundError). Close before the end, or
// Cancel, stops the stream.
//
// Writing: the content streams to the gateway as it is written; Close
// commits and waits for the File (Metadata). Until Close, nothing is
// visible; Abort (or Close never being reached: defer f.Abort() right after
// Open) cancels and commits nothing:
//
//	f, err := client.Open(ctx, "reports/today.csv", "w", files.MkdirParents())
//	if err != nil { return err }
//	defer f.Abort() // a no-op once Close succeeded
//	if _, err := io.Copy(f, src); err != nil { return err }
//	return f.Close()
type RemoteFile struct {
	remote string
	r      *downloadReader
	w      *uploadWriter
}

// Open opens remote for reading ("r", "rb") or writing ("w", "wb").
// Options: MkdirParents, ProvidedMtime, ExpectedSize, ExpectedMD5,
// ExpectedCRC32C, NoOverwrite and WithChunkSize for writing; Range and
// WithChunkSize for reading.
func (c *Client) Open(ctx context.Context, remote, mode string, opts ...TransferOption) (*RemoteFile, error) {
	f := &RemoteFile{remote: remote}
	var err error
	switch mode {
	case "r", "rb":
		f.r, err = c.openReader(ctx, remote, opts)
	case "w", "wb":
		f.w, err = c.openWriter(ctx, remote, opts)
	default:
		return nil, errorf("InvalidParameterError", "mode must be r, rb, w or wb, not %q", mode)
	}
	if err != nil {
		return nil, err
	}
	// A file dropped without Close or Abort ends its stream, committing nothing.
	runtime.SetFinalizer(f, func(f *RemoteFile) { f.Abort() })
	return f, nil
}

// Name is the remote path.
func (f *RemoteFile) Name() string { return f.remote }

// Read reads the download (mode "r").
func (f *RemoteFile) Read(p []byte) (int, error) {
	if f.r == nil {
		return 0, errorf("InvalidRequestError", "%s is open for writing", f.remote)
	}
	return f.r.Read(p)
}

// WriteTo writes the rest of the download to w (mode "r"); io.Copy uses it.
func (f *RemoteFile) WriteTo(w io.Writer) (int64, error) {
	if f.r == nil {
		return 0, errorf("InvalidRequestError", "%s is open for writing", f.remote)
	}
	return f.r.WriteTo(w)
}

// Write streams p to the upload (mode "w").
func (f *RemoteFile) Write(p []byte) (int, error) {
	if f.w == nil {
		return 0, errorf("InvalidRequestError", "%s is open for reading", f.remote)
	}
	return f.w.Write(p)
}

// WriteString streams s to the upload (mode "w").
func (f *RemoteFile) WriteString(s string) (int, error) { return f.Write([]byte(s)) }

// Close ends the stream: for a download it stops it (if not at its end);
// for an upload it commits and waits for the File, and its error says
// whether the file was stored.
func (f *RemoteFile) Close() error {
	runtime.SetFinalizer(f, nil)
	if f.r != nil {
		return f.r.Close()
	}
	return f.w.Close()
}

// Abort cancels the stream. An upload commits nothing; after a successful
// Close it is a no-op. Abort and Cancel may be called from another goroutine
// (e.g. to stop a transfer blocked in Read or Write); the other methods may not.
func (f *RemoteFile) Abort() {
	if f.r != nil {
		f.r.Cancel()
		return
	}
	f.w.Abort()
}

// CloseWithError ends the file because of err, as io.PipeWriter does: an
// upload is aborted (nothing is committed) and a download stopped; it gives
// err back, so that `return f.CloseWithError(err)` passes the cause on.
func (f *RemoteFile) CloseWithError(err error) error {
	runtime.SetFinalizer(f, nil)
	f.Abort()
	return err
}

// Cancel stops a download (later reads fail with CancelledError) or aborts an upload.
func (f *RemoteFile) Cancel() { f.Abort() }

// Metadata is the File: for a download from its start, for an upload once Close committed it.
func (f *RemoteFile) Metadata() *filesv1.File {
	if f.r != nil {
		return f.r.metadata
	}
	return f.w.file
}

// UploadResult is the gateway's answer to a committed upload (the File, and
// the md5 / crc32c of what it sent); nil before Close or for a download.
func (f *RemoteFile) UploadResult() *filesv1.UploadResponse {
	if f.w == nil || f.w.result == nil {
		return nil
	}
	return proto.Clone(f.w.result).(*filesv1.UploadResponse)
}

// BytesTransferred counts the bytes received (download) or written (upload) so far.
func (f *RemoteFile) BytesTransferred() int64 {
	if f.r != nil {
		return f.r.received
	}
	return f.w.written
}

// ErrClosed is the error of a write to an upload after its Close.
var ErrClosed = errors.New("files: write to a closed upload")
