package files

import (
	"context"
	"crypto/tls"
	"net"
	"strings"
	"sync"
	"time"

	filesv1 "github.com/files-gateway/files-gateway/clients/go/filesv1"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
)

// DefaultTarget is where .ci/start-gateway listens.
const DefaultTarget = "127.0.0.1:50051"

const (
	defaultTimeout         = 30 * time.Second
	defaultMaxMessageBytes = 64 << 20
)

type config struct {
	creds           credentials.TransportCredentials
	token           string
	timeout         time.Duration
	transferTimeout time.Duration
	keepalive       *keepalive.ClientParameters
	maxMessageBytes int
	waitForReady    bool
	metadata        []string
	dialOptions     []grpc.DialOption
	conn            *grpc.ClientConn
}

// Option configures Connect.
type Option func(*config)

// WithTLS connects with TLS; a nil config uses the system's roots. Give
// Certificates in the config for mutual TLS.
func WithTLS(cfg *tls.Config) Option {
	return func(c *config) {
		if cfg == nil {
			cfg = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		c.creds = credentials.NewTLS(cfg)
	}
}

// WithTransportCredentials connects with any gRPC transport credentials
// (e.g. credentials.NewClientTLSFromFile).
func WithTransportCredentials(creds credentials.TransportCredentials) Option {
	return func(c *config) { c.creds = creds }
}

// WithBearerToken sends "authorization: Bearer <token>" on every call. Over
// a connection without TLS the token is only sent to loopback addresses and
// unix sockets (the sidecar case); Connect refuses other targets.
func WithBearerToken(token string) Option {
	return func(c *config) { c.token = token }
}

// WithTimeout sets the default deadline of unary calls (30 s; 0: none). A
// context that has a deadline of its own keeps it.
func WithTimeout(d time.Duration) Option {
	return func(c *config) { c.timeout = d }
}

// WithTransferTimeout sets the default deadline of uploads and downloads
// (default none: their length grows with the file; keepalive finds dead peers).
func WithTransferTimeout(d time.Duration) Option {
	return func(c *config) { c.transferTimeout = d }
}

// WithKeepalive sends HTTP/2 pings every interval on an idle connection and
// drops it when an answer takes longer than timeout. Keep interval at or
// above the server's minimum ping interval (gRPC's default: 5 min without
// calls in flight). permitWithoutCalls also pings while no call is in flight.
func WithKeepalive(interval, timeout time.Duration, permitWithoutCalls bool) Option {
	return func(c *config) {
		c.keepalive = &keepalive.ClientParameters{Time: interval, Timeout: timeout, PermitWithoutStream: permitWithoutCalls}
	}
}

// WithMaxMessageBytes sets the largest message accepted either way (64 MiB:
// a 1,000-item page of a big model can pass gRPC's default 4 MiB).
func WithMaxMessageBytes(n int) Option {
	return func(c *config) { c.maxMessageBytes = n }
}

// WithWaitForReady makes calls wait (within their deadline) for the gateway
// to come up instead of failing at once with APIConnectionError, e.g. in a
// pod whose sidecar starts after the application.
func WithWaitForReady(wait bool) Option {
	return func(c *config) { c.waitForReady = wait }
}

// WithMetadata sends these key, value pairs on every call.
func WithMetadata(kv ...string) Option {
	return func(c *config) { c.metadata = append(c.metadata, kv...) }
}

// WithDialOptions adds gRPC dial options.
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(c *config) { c.dialOptions = append(c.dialOptions, opts...) }
}

// Client talks to files-gateway: every Files.com resource through
// Resource, plus UploadFile, DownloadFile, Open and ListFor over
// files.v1.TransferService. Safe for concurrent use; Close closes the connection.
type Client struct {
	conn            *grpc.ClientConn
	owned           bool
	target          string
	timeout         time.Duration
	transferTimeout time.Duration
	metadata        metadata.MD
	callOptions     []grpc.CallOption
	resources       sync.Map // SDK name -> *Resource
}

// Connect opens a connection to files-gateway at target ("host:port" or
// "unix:///path/to.sock") and gives a Client. It does not wait for the
// gateway: a call to a gateway that is not there fails with APIConnectionError
// (or waits, with WithWaitForReady).
func Connect(target string, opts ...Option) (*Client, error) {
	cfg := config{timeout: defaultTimeout, maxMessageBytes: defaultMaxMessageBytes}
	for _, o := range opts {
		o(&cfg)
	}
	if len(cfg.metadata)%2 != 0 {
		return nil, errorf("InvalidParameterError", "WithMetadata takes key, value pairs")
	}
	dial := []grpc.DialOption{
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(cfg.maxMessageBytes),
			grpc.MaxCallSendMsgSize(cfg.maxMessageBytes)),
	}
	if cfg.creds != nil {
		dial = append(dial, grpc.WithTransportCredentials(cfg.creds))
	} else {
		dial = append(dial, grpc.WithInsecure())
	}
	if cfg.token != "" {
		secure := cfg.creds != nil
		if !secure && !isLocalTarget(target) {
			return nil, errorf("InvalidParameterError",
				"a bearer token is sent without TLS only to loopback addresses and unix sockets, not to %s", target)
		}
		dial = append(dial, grpc.WithPerRPCCredentials(bearer{token: cfg.token, secure: secure}))
	}
	if cfg.keepalive != nil {
		dial = append(dial, grpc.WithKeepaliveParams(*cfg.keepalive))
	}
	dial = append(dial, cfg.dialOptions...)
	conn, err := grpc.Dial(target, dial...)
	if err != nil {
		return nil, FromError(err)
	}
	c := newClient(conn, cfg)
	c.owned, c.target = true, target
	return c, nil
}

// NewClient makes a Client over a connection the caller dialled (and closes).
// Of the options, WithTimeout, WithTransferTimeout, WithWaitForReady and
// WithMetadata apply.
func NewClient(conn *grpc.ClientConn, opts ...Option) *Client {
	cfg := config{timeout: defaultTimeout}
	for _, o := range opts {
		o(&cfg)
	}
	return newClient(conn, cfg)
}

func newClient(conn *grpc.ClientConn, cfg config) *Client {
	c := &Client{conn: conn, target: conn.Target(), timeout: cfg.timeout, transferTimeout: cfg.transferTimeout}
	if len(cfg.metadata) > 0 {
		c.metadata = metadata.Pairs(cfg.metadata...)
	}
	if cfg.waitForReady {
		c.callOptions = append(c.callOptions, grpc.WaitForReady(true))
	}
	return c
}

func isLocalTarget(target string) bool {
	if strings.HasPrefix(target, "unix:") || strings.HasPrefix(target, "unix-abstract:") {
		return true
	}
	host := target
	if i := strings.LastIndex(target, "///"); i >= 0 { // passthrough:///host:port, dns:///host:port
		host = target[i+3:]
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

type bearer struct {
	token  string
	secure bool
}

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + b.token}, nil
}

func (b bearer) RequireTransportSecurity() bool { return b.secure }

// Conn gives the underlying gRPC connection (e.g. for the generated stubs).
func (c *Client) Conn() *grpc.ClientConn { return c.conn }

// Target is the address the client connects to.
func (c *Client) Target() string { return c.target }

// Close closes the connection (when Connect opened it).
func (c *Client) Close() error {
	if !c.owned {
		return nil
	}
	return c.conn.Close()
}

// Resource gives a Files.com resource by SDK name ("User", "ApiKey") or by
// its snake_case plural or singular ("users", "api_keys", "user"). An
// unknown name gives a Resource whose every action fails with
// InvalidParameterError (see Resource.Err).
func (c *Client) Resource(name string) *Resource {
	sdkName, ok := resourceName(name)
	if !ok {
		return &Resource{client: c, name: name,
			err: errorf("InvalidParameterError", "no Files.com resource named %q", name)}
	}
	if r, ok := c.resources.Load(sdkName); ok {
		return r.(*Resource)
	}
	r, _ := c.resources.LoadOrStore(sdkName, &Resource{client: c, name: sdkName, methods: api().resources[sdkName]})
	return r.(*Resource)
}

// Resources lists the SDK resource names.
func (c *Client) Resources() []string { return Resources() }

// TransferService gives the generated files.v1.TransferService client, for
// what UploadFile, DownloadFile and Open do not wrap (resumable uploads:
// StartResumableUpload, QueryUploadStatus, CancelResumableUpload). Its
// errors are gRPC status errors; FromError makes them typed.
func (c *Client) TransferService() filesv1.TransferServiceClient {
	return filesv1.NewTransferServiceClient(c.conn)
}

// ListFor walks every entry of a folder (Folder.list_for, all pages), as File models.
func (c *Client) ListFor(ctx context.Context, folder string, args ...any) (*Iter, error) {
	return c.Resource("Folder").ListAction(ctx, "list_for", append([]any{folder}, args...)...)
}

// callContext applies the client's metadata and, when ctx has no deadline,
// the default one (transfer: the transfer default).
func (c *Client) callContext(ctx context.Context, transfer bool) (context.Context, context.CancelFunc) {
	if ctx == nil {
		ctx = context.Background()
	}
	if c.metadata != nil {
		ctx = metadata.NewOutgoingContext(ctx, metadata.Join(c.metadata, outgoing(ctx)))
	}
	timeout := c.timeout
	if transfer {
		timeout = c.transferTimeout
	}
	if _, has := ctx.Deadline(); !has && timeout > 0 {
		return context.WithTimeout(ctx, timeout)
	}
	return context.WithCancel(ctx)
}

func outgoing(ctx context.Context) metadata.MD {
	md, _ := metadata.FromOutgoingContext(ctx)
	return md
}

func (c *Client) invoke(ctx context.Context, method string, req, resp proto.Message, opts []grpc.CallOption) error {
	ctx, cancel := c.callContext(ctx, false)
	defer cancel()
	ctx = withCallMetadata(ctx, opts)
	err := c.conn.Invoke(ctx, method, req, resp, append(c.callOptions[:len(c.callOptions):len(c.callOptions)], opts...)...)
	if err != nil {
		return FromError(err)
	}
	return nil
}
