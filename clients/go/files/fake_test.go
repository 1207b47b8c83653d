package files

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	filesv1 "github.com/files-gateway/files-gateway/clients/go/filesv1"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
)

// fakeCall is one unary call the fake gateway received.
type fakeCall struct {
	method   string
	request  []byte // wire form; decode with the method's input type
	metadata metadata.MD
	deadline time.Duration // 0 without one
}

// fakeGateway answers every files.v1 resource RPC through answer (default:
// an empty message of the method's output type), and TransferService
// through transfer when set. It listens on loopback.
type fakeGateway struct {
	t        *testing.T
	mu       sync.Mutex
	calls    []fakeCall
	answer   func(m *Method, req proto.Message) (proto.Message, error)
	transfer filesv1.TransferServiceServer
	target   string
}

func startFake(t *testing.T) *fakeGateway {
	t.Helper()
	f := &fakeGateway{t: t}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.UnknownServiceHandler(f.handle))
	filesv1.RegisterTransferServiceServer(srv, transferProxy{f: f})
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	f.target = lis.Addr().String()
	return f
}

func (f *fakeGateway) client(t *testing.T, opts ...Option) *Client {
	t.Helper()
	c, err := Connect(f.target, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func methodByPath(path string) *Method {
	for _, methods := range api().resources {
		for _, m := range methods {
			if m.FullMethod == path {
				return m
			}
		}
	}
	return nil
}

func (f *fakeGateway) handle(_ any, stream grpc.ServerStream) error {
	path, _ := grpc.MethodFromServerStream(stream)
	// Unknown fields survive in Empty: its wire form is the request's.
	var raw emptypb.Empty
	if err := stream.RecvMsg(&raw); err != nil {
		return err
	}
	wire, _ := proto.Marshal(&raw)
	call := fakeCall{method: path, request: wire}
	call.metadata, _ = metadata.FromIncomingContext(stream.Context())
	if d, ok := stream.Context().Deadline(); ok {
		call.deadline = time.Until(d)
	}
	f.mu.Lock()
	f.calls = append(f.calls, call)
	answer := f.answer
	f.mu.Unlock()
	m := methodByPath(path)
	if m == nil {
		f.t.Errorf("fake gateway: unknown method %s", path)
		return nil
	}
	req := m.Input.New().Interface()
	if err := proto.Unmarshal(wire, req); err != nil {
		return err
	}
	resp := m.Output.New().Interface()
	if answer != nil {
		a, err := answer(m, req)
		if err != nil {
			return err
		}
		if a != nil {
			resp = a
		}
	}
	return stream.SendMsg(resp)
}

func (f *fakeGateway) lastCall() fakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		f.t.Fatal("the fake gateway received no call")
	}
	return f.calls[len(f.calls)-1]
}

func (f *fakeGateway) takeCalls() []fakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	calls := f.calls
	f.calls = nil
	return calls
}

// decode gives a recorded request as its method's input message.
func (c fakeCall) decode(t *testing.T) proto.Message {
	t.Helper()
	m := methodByPath(c.method)
	req := m.Input.New().Interface()
	if err := proto.Unmarshal(c.request, req); err != nil {
		t.Fatal(err)
	}
	return req
}

// transferProxy forwards TransferService calls to the test's server, if any.
type transferProxy struct {
	filesv1.UnimplementedTransferServiceServer
	f *fakeGateway
}

func (p transferProxy) server() filesv1.TransferServiceServer {
	p.f.mu.Lock()
	defer p.f.mu.Unlock()
	if p.f.transfer == nil {
		return filesv1.UnimplementedTransferServiceServer{}
	}
	return p.f.transfer
}

func (p transferProxy) Upload(s filesv1.TransferService_UploadServer) error {
	return p.server().Upload(s)
}

func (p transferProxy) Download(r *filesv1.DownloadRequest, s filesv1.TransferService_DownloadServer) error {
	return p.server().Download(r, s)
}

func (p transferProxy) StartResumableUpload(ctx context.Context, r *filesv1.StartResumableUploadRequest) (*filesv1.StartResumableUploadResponse, error) {
	return p.server().StartResumableUpload(ctx, r)
}

func (p transferProxy) QueryUploadStatus(ctx context.Context, r *filesv1.QueryUploadStatusRequest) (*filesv1.QueryUploadStatusResponse, error) {
	return p.server().QueryUploadStatus(ctx, r)
}

func (p transferProxy) CancelResumableUpload(ctx context.Context, r *filesv1.CancelResumableUploadRequest) (*emptypb.Empty, error) {
	return p.server().CancelResumableUpload(ctx, r)
}
