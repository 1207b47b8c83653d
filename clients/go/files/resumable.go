package files

import (
	"context"
	"io"

	filesv1 "github.com/files-gateway/files-gateway/clients/go/filesv1"
)

// ResumableUpload is an upload that survives a broken stream or a restarted
// process: StartResumableUpload gives its ID (persist it), Status says how
// many bytes are durably stored (whole Files.com parts, 5 MiB and up), Resume
// sends the rest from there, and the write that finishes commits. Until then
// nothing appears at the destination; Cancel drops it.
//
//	up, err := client.StartResumableUpload(ctx, "backups/db.dump", files.MkdirParents())
//	save(up.ID())
//	...                                         // later, maybe in another process:
//	up = client.ResumableUpload(load(), "backups/db.dump")
//	res, err := up.Resume(ctx, localFile, true) // seeks to the persisted size
//	file := res.GetFile()
type ResumableUpload struct {
	client *Client
	id     string
	remote string
}

// StartResumableUpload begins a resumable upload to remote. Options:
// MkdirParents, ProvidedMtime, ExpectedSize, ExpectedMD5, ExpectedCRC32C,
// NoOverwrite, WithCallOptions.
func (c *Client) StartResumableUpload(ctx context.Context, remote string, opts ...TransferOption) (*ResumableUpload, error) {
	cfg, err := transferOptions(opts, true)
	if err != nil {
		return nil, err
	}
	ctx, cancel := c.callContext(ctx, false)
	defer cancel()
	ctx = withCallMetadata(ctx, cfg.callOptions)
	resp, err := c.TransferService().StartResumableUpload(ctx,
		&filesv1.StartResumableUploadRequest{Spec: cfg.spec(remote)}, c.withOptions(cfg.callOptions)...)
	if err != nil {
		return nil, FromError(err)
	}
	return &ResumableUpload{client: c, id: resp.GetUploadId(), remote: remote}, nil
}

// ResumableUpload takes up a resumable upload by the ID StartResumableUpload
// gave (remote is for messages only).
func (c *Client) ResumableUpload(id, remote string) *ResumableUpload {
	return &ResumableUpload{client: c, id: id, remote: remote}
}

// ID is the upload's id: persist it to resume after a restart.
func (u *ResumableUpload) ID() string { return u.id }

// Status says how many bytes are durably stored (PersistedSize), whether the
// upload was committed (Complete) and then the File. An unknown or cancelled
// upload fails with NotFoundError.
func (u *ResumableUpload) Status(ctx context.Context, opts ...TransferOption) (*filesv1.QueryUploadStatusResponse, error) {
	cfg, err := transferOptions(opts, true)
	if err != nil {
		return nil, err
	}
	c := u.client
	ctx, cancel := c.callContext(ctx, false)
	defer cancel()
	ctx = withCallMetadata(ctx, cfg.callOptions)
	resp, err := c.TransferService().QueryUploadStatus(ctx,
		&filesv1.QueryUploadStatusRequest{UploadId: u.id}, c.withOptions(cfg.callOptions)...)
	if err != nil {
		return nil, FromError(err)
	}
	return resp, nil
}

// Cancel drops the upload and its stored parts: nothing appears at the destination.
func (u *ResumableUpload) Cancel(ctx context.Context, opts ...TransferOption) error {
	cfg, err := transferOptions(opts, true)
	if err != nil {
		return err
	}
	c := u.client
	ctx, cancel := c.callContext(ctx, false)
	defer cancel()
	ctx = withCallMetadata(ctx, cfg.callOptions)
	_, err = c.TransferService().CancelResumableUpload(ctx,
		&filesv1.CancelResumableUploadRequest{UploadId: u.id}, c.withOptions(cfg.callOptions)...)
	return FromError(err)
}

// WriteAt sends everything r gives as the file's bytes from offset (which
// must be the persisted size, see Status) in one stream. With finish the
// upload commits after the last byte and the answer carries the File;
// without it the stream ends leaving the upload open, and the answer's
// PersistedSize says where the next WriteAt starts. An error from r cancels
// the stream (what was persisted stays) and is returned as is.
// Options: WithChunkSize, OnProgress (Bytes counts from the start of the file;
// Total is ExpectedSize's, else -1), WithCallOptions.
func (u *ResumableUpload) WriteAt(ctx context.Context, r io.Reader, offset int64, finish bool, opts ...TransferOption) (*filesv1.UploadResponse, error) {
	cfg, err := transferOptions(opts, true)
	if err != nil {
		return nil, err
	}
	c := u.client
	ctx, cancel, callOpts := c.streamContext(ctx, &cfg)
	defer cancel()
	stream, err := c.TransferService().Upload(ctx, callOpts...)
	if err != nil {
		return nil, FromError(err)
	}
	w := &uploadWriter{client: c, remote: u.remote, stream: stream, cancel: cancel, progress: cfg.progress,
		total: -1, sent: offset}
	if cfg.expectedSize != nil {
		w.total = *cfg.expectedSize
	}
	first := &filesv1.UploadRequest{FirstMessage: &filesv1.UploadRequest_UploadId{UploadId: u.id}, WriteOffset: &offset}
	buf := make([]byte, cfg.chunkSize)
	for {
		n, rerr := io.ReadFull(r, buf)
		if rerr != nil && rerr != io.EOF && rerr != io.ErrUnexpectedEOF {
			return nil, rerr // the deferred cancel ends the stream
		}
		last := rerr != nil
		msg := &filesv1.UploadRequest{Data: buf[:n]}
		if first != nil {
			first.Data, msg = buf[:n], first
			first = nil
		}
		msg.FinishUpload = last && finish
		if n > 0 || msg.FinishUpload || msg.FirstMessage != nil {
			if err := w.send(msg); err != nil {
				return nil, err
			}
		}
		if last {
			break
		}
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return nil, FromError(err)
	}
	return resp, nil
}

// Resume asks Status for the persisted size, seeks src (the whole file's
// content) there and sends the rest with WriteAt; progress reports src's size
// as the Total.
func (u *ResumableUpload) Resume(ctx context.Context, src io.ReadSeeker, finish bool, opts ...TransferOption) (*filesv1.UploadResponse, error) {
	st, err := u.Status(ctx, opts...)
	if err != nil {
		return nil, err
	}
	if st.GetComplete() {
		return &filesv1.UploadResponse{File: st.GetFile(), PersistedSize: st.GetPersistedSize()}, nil
	}
	size, err := src.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, err
	}
	if _, err := src.Seek(st.GetPersistedSize(), io.SeekStart); err != nil {
		return nil, err
	}
	return u.WriteAt(ctx, src, st.GetPersistedSize(), finish, append([]TransferOption{ExpectedSize(size)}, opts...)...)
}
