package files

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	filesv1 "github.com/files-gateway/files-gateway/clients/go/filesv1"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
)

// resumableFake keeps resumable uploads as the gateway does: whole parts of
// partSize bytes are persisted when a stream ends without finish_upload; the
// first data of a stream must start at the persisted size.
type resumableFake struct {
	filesv1.UnimplementedTransferServiceServer
	mu        sync.Mutex
	partSize  int
	uploads   map[string][]byte // id -> persisted bytes
	specs     map[string]*filesv1.UploadSpec
	committed map[string][]byte
	firsts    []*filesv1.UploadRequest // each stream's first message (data left out)
}

func (f *resumableFake) StartResumableUpload(_ context.Context, r *filesv1.StartResumableUploadRequest) (*filesv1.StartResumableUploadResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := "up-" + r.GetSpec().GetPath()
	f.uploads[id], f.specs[id] = nil, r.GetSpec()
	return &filesv1.StartResumableUploadResponse{UploadId: id}, nil
}

func (f *resumableFake) QueryUploadStatus(_ context.Context, r *filesv1.QueryUploadStatusRequest) (*filesv1.QueryUploadStatusResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	data, ok := f.uploads[r.GetUploadId()]
	if !ok {
		return nil, status.Error(codes.NotFound, "unknown upload")
	}
	return &filesv1.QueryUploadStatusResponse{PersistedSize: int64(len(data))}, nil
}

func (f *resumableFake) CancelResumableUpload(_ context.Context, r *filesv1.CancelResumableUploadRequest) (*emptypb.Empty, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.uploads, r.GetUploadId())
	return &emptypb.Empty{}, nil
}

func (f *resumableFake) Upload(s filesv1.TransferService_UploadServer) error {
	var id string
	var got []byte
	finish := false
	for n := 0; ; n++ {
		msg, err := s.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if n == 0 {
			id = msg.GetUploadId()
			f.mu.Lock()
			persisted, ok := f.uploads[id]
			first := proto.Clone(msg).(*filesv1.UploadRequest)
			first.Data = nil
			f.firsts = append(f.firsts, first)
			f.mu.Unlock()
			if !ok {
				return status.Error(codes.NotFound, "unknown upload")
			}
			if msg.GetWriteOffset() != int64(len(persisted)) {
				return status.Errorf(codes.InvalidArgument, "offset %d, persisted %d", msg.GetWriteOffset(), len(persisted))
			}
		}
		got = append(got, msg.GetData()...)
		finish = finish || msg.GetFinishUpload()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	all := append(append([]byte(nil), f.uploads[id]...), got...)
	if finish {
		path := f.specs[id].GetPath()
		f.committed[path] = all
		delete(f.uploads, id)
		return s.SendAndClose(&filesv1.UploadResponse{File: &filesv1.File{Path: proto.String(path),
			Size: proto.Int64(int64(len(all)))}, PersistedSize: int64(len(all))})
	}
	keep := len(all) / f.partSize * f.partSize
	f.uploads[id] = all[:keep]
	return s.SendAndClose(&filesv1.UploadResponse{PersistedSize: int64(keep)})
}

func TestResumableUploadStartWriteStatusResumeCancel(t *testing.T) {
	gw := startFake(t)
	fake := &resumableFake{partSize: 4, uploads: map[string][]byte{}, specs: map[string]*filesv1.UploadSpec{},
		committed: map[string][]byte{}}
	gw.transfer = fake
	c := gw.client(t)
	ctx := context.Background()
	data := []byte("0123456789abcdefghij") // 20 bytes

	up, err := c.StartResumableUpload(ctx, "a/b.bin", MkdirParents())
	if err != nil {
		t.Fatal(err)
	}
	// 10 bytes in a stream left open: whole parts (8 bytes) persist.
	res, err := up.WriteAt(ctx, bytes.NewReader(data[:10]), 0, false, WithChunkSize(3))
	if err != nil {
		t.Fatal(err)
	}
	if res.GetPersistedSize() != 8 {
		t.Fatalf("persisted %d", res.GetPersistedSize())
	}
	first := fake.firsts[0]
	if first.GetUploadId() != up.ID() || first.WriteOffset == nil || first.GetWriteOffset() != 0 || first.GetFinishUpload() {
		t.Errorf("first message %v", first)
	}
	if len(fake.committed) != 0 {
		t.Error("an unfinished stream committed")
	}

	// Resume (another Client value, by id): seeks the source to 8, sends the rest, finishes.
	var progress []Progress
	res, err = c.ResumableUpload(up.ID(), "a/b.bin").Resume(ctx, bytes.NewReader(data), true, WithChunkSize(5),
		OnProgress(func(p Progress) { progress = append(progress, p) }))
	if err != nil {
		t.Fatal(err)
	}
	if got := fake.committed["a/b.bin"]; !bytes.Equal(got, data) {
		t.Errorf("committed %q", got)
	}
	if res.GetFile().GetSize() != 20 {
		t.Errorf("answer %v", res)
	}
	if fake.firsts[1].GetWriteOffset() != 8 {
		t.Errorf("resumed at %d", fake.firsts[1].GetWriteOffset())
	}
	want := []Progress{{"a/b.bin", true, 13, 20}, {"a/b.bin", true, 18, 20}, {"a/b.bin", true, 20, 20}}
	if len(progress) != len(want) {
		t.Fatalf("progress %v", progress)
	}
	for i := range want {
		if progress[i] != want[i] {
			t.Errorf("progress %d: %+v, want %+v", i, progress[i], want[i])
		}
	}

	// A failing source cancels the stream and comes back as is; what was persisted stays.
	up2, err := c.StartResumableUpload(ctx, "c.bin")
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("disk gone")
	if _, err := up2.WriteAt(ctx, io.MultiReader(strings.NewReader("abcd"), failing{boom}), 0, false, WithChunkSize(4)); !errors.Is(err, boom) {
		t.Errorf("WriteAt gave %v", err)
	}
	if len(fake.committed) != 1 {
		t.Error("a failed stream committed")
	}
	if err := up2.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := up2.Status(ctx); !IsNotFound(err) {
		t.Errorf("status after cancel: %v", err)
	}
}

type failing struct{ err error }

func (f failing) Read([]byte) (int, error) { return 0, f.err }
