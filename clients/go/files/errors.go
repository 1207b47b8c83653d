package files

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	filesv1 "github.com/files-gateway/files-gateway/clients/go/filesv1"

	protov1 "github.com/golang/protobuf/proto"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/structpb"
)

// Error is the root of every error this package returns, and holds what each
// of them carries. Every class of the Files.com SDK has a Go type of its own
// that embeds it (UserNotFoundError, NotFoundError, APIError, ...), and
// errors.As finds an error's class and every ancestor of it:
//
//	var na *files.NotAuthorizedError // true for a FolderAdminPermissionRequiredError
//	if errors.As(err, &na) { fmt.Println(na.Type, na.Message) }
//	var e *files.Error               // true for every error of this package
//
// The tree, read from the error catalogue in the protos:
//
//	Error
//	├── APIError                     Files.com (through the gateway) refused the call
//	│   ├── BadRequestError, NotAuthenticatedError, NotAuthorizedError, NotFoundError,
//	│   │   ProcessingFailureError, RateLimitedError, ServiceUnavailableError,
//	│   │   SiteConfigurationError   the eight groups, each over its leaf classes
//	│   └── GatewayError             the gateway failed for a reason of its own
//	│       └── DataLossError        content did not arrive intact
//	├── APIConnectionError           the gateway (or Files.com behind it) is unreachable
//	│   └── DeadlineExceededError
//	├── CancelledError
//	└── InvalidRequestError          the request could not be built
//	    ├── InvalidParameterError
//	    └── MissingParameterError
type Error struct {
	// Message is the human-readable message (Files.com's "error").
	Message string
	// Code is the gRPC status code (codes.OK for errors raised locally).
	Code codes.Code
	// HTTPStatus is what Files.com answered, when known.
	HTTPStatus int
	// RetryDelay is how long to wait before retrying (google.rpc.RetryInfo); 0 when unknown.
	RetryDelay time.Duration
	// Type is the Files.com type, e.g. "not-found/user-not-found".
	Type string
	// Reason, Domain and Metadata come from google.rpc.ErrorInfo.
	Reason   string
	Domain   string
	Metadata map[string]string
	// The rest of the Files.com error body (files.v1.FilesError).
	Title          string
	Errors         []any
	Data           map[string]any
	ModelErrors    map[string]any
	ModelErrorKeys map[string]any
	HTTPCode       int
	Instance       string

	class  *errorClass
	status *status.Status // the gRPC status it came from, if any
	cause  error
}

// base lets every class embed *Error under a name that does not shadow the
// Error() method.
type base = Error

// ClassName is the SDK class of the error, e.g. "UserNotFoundError".
func (e *Error) ClassName() string { return e.classOrRoot().name }

// IsA reports whether the error's class is class or one of its descendants:
// IsA("NotFoundError") for a UserNotFoundError. errors.As does the same with types.
func (e *Error) IsA(class string) bool {
	for c := e.classOrRoot(); c != nil; c = c.parent {
		if c.name == class {
			return true
		}
	}
	return false
}

// Ancestors lists the class and its ancestors, leaf first: UserNotFoundError,
// NotFoundError, APIError, Error.
func (e *Error) Ancestors() []string {
	var out []string
	for c := e.classOrRoot(); c != nil; c = c.parent {
		out = append(out, c.name)
	}
	return out
}

func (e *Error) classOrRoot() *errorClass {
	if e.class == nil {
		return catalog().byName["Error"]
	}
	return e.class
}

func (e *Error) Error() string {
	text := e.Message
	if text == "" {
		text = e.Title
	}
	if text == "" {
		text = e.ClassName()
	}
	var extra []string
	if e.Type != "" {
		extra = append(extra, e.Type)
	}
	if e.HTTPStatus != 0 {
		extra = append(extra, "HTTP "+strconv.Itoa(e.HTTPStatus))
	}
	if e.RetryDelay > 0 {
		extra = append(extra, "retry in "+e.RetryDelay.String())
	}
	s := e.ClassName() + ": " + text
	if len(extra) > 0 {
		s += " (" + strings.Join(extra, ", ") + ")"
	}
	return s
}

// Unwrap gives the error this one was made from (a gRPC status error, a
// context error, ...), if any.
func (e *Error) Unwrap() error { return e.cause }

// GRPCStatus gives the gRPC status, so that status.Code(err) and
// status.FromError(err) work on these errors too.
func (e *Error) GRPCStatus() *status.Status {
	if e.status != nil {
		return e.status
	}
	if e.Code == codes.OK {
		return status.New(codes.Unknown, e.Error())
	}
	return status.New(e.Code, e.Message)
}

// As makes errors.As find every ancestor class: a *UserNotFoundError is also
// a *NotFoundError, an *APIError and an *Error.
func (e *Error) As(target any) bool {
	if re, ok := target.(**ResponseError); ok {
		r, ok := e.responseError()
		if ok {
			*re = r
		}
		return ok
	}
	if re, ok := target.(*ResponseError); ok { // var re files.ResponseError, as the Files.com SDK has it
		r, ok := e.responseError()
		if ok {
			*re = *r
		}
		return ok
	}
	t := reflect.TypeOf(target)
	if t == nil || t.Kind() != reflect.Pointer {
		return false
	}
	c, ok := catalog().byGoType[t.Elem()]
	if !ok || !e.IsA(c.name) {
		return false
	}
	reflect.ValueOf(target).Elem().Set(reflect.ValueOf(c.wrap(e)))
	return true
}

// The classes outside the Files.com catalogue. Each embeds *Error; see Error.
type (
	// APIConnectionError: the gateway (or Files.com behind it) could not be reached.
	APIConnectionError struct{ *base }
	// DeadlineExceededError: the call's deadline passed before an answer arrived.
	DeadlineExceededError struct{ *base }
	// CancelledError: the call was cancelled (by this process or the gateway).
	CancelledError struct{ *base }
	// InvalidRequestError: the request could not be built from the given arguments.
	InvalidRequestError struct{ *base }
	// InvalidParameterError: a parameter is unknown for the action or has the wrong type.
	InvalidParameterError struct{ *base }
	// MissingParameterError: a parameter the action cannot do without is absent.
	MissingParameterError struct{ *base }
	// APIError: Files.com (through the gateway) refused the call.
	APIError struct{ *base }
	// GatewayError: the gateway failed the call for a reason of its own
	// (INTERNAL, UNIMPLEMENTED, ...).
	GatewayError struct{ *base }
	// DataLossError: content did not arrive intact (a checksum or size mismatch).
	DataLossError struct{ *base }
)

type goClass struct {
	goType reflect.Type // pointer type, e.g. *NotFoundError
	wrap   func(*Error) error
}

func classOf[T any](wrap func(*Error) *T) goClass {
	return goClass{reflect.TypeOf((*T)(nil)), func(e *Error) error { return any(wrap(e)).(error) }}
}

// The hand-written classes, root first; catalogTypes (errors_gen.go) holds
// the Go types of the catalogue classes.
var baseClasses = []struct {
	name, parent string
	goClass
}{
	{"Error", "", goClass{reflect.TypeOf((*Error)(nil)), func(e *Error) error { return e }}},
	{"APIConnectionError", "Error", classOf(func(e *Error) *APIConnectionError { return &APIConnectionError{e} })},
	{"DeadlineExceededError", "APIConnectionError", classOf(func(e *Error) *DeadlineExceededError { return &DeadlineExceededError{e} })},
	{"CancelledError", "Error", classOf(func(e *Error) *CancelledError { return &CancelledError{e} })},
	{"InvalidRequestError", "Error", classOf(func(e *Error) *InvalidRequestError { return &InvalidRequestError{e} })},
	{"InvalidParameterError", "InvalidRequestError", classOf(func(e *Error) *InvalidParameterError { return &InvalidParameterError{e} })},
	{"MissingParameterError", "InvalidRequestError", classOf(func(e *Error) *MissingParameterError { return &MissingParameterError{e} })},
	{"APIError", "Error", classOf(func(e *Error) *APIError { return &APIError{e} })},
	{"GatewayError", "APIError", classOf(func(e *Error) *GatewayError { return &GatewayError{e} })},
	{"DataLossError", "GatewayError", classOf(func(e *Error) *DataLossError { return &DataLossError{e} })},
}

// errorClass is one node of the class tree.
type errorClass struct {
	name       string
	parent     *errorClass
	filesType  string // Files.com type ("not-found/user-not-found"; "not-found" for a group)
	reason     string // google.rpc.ErrorInfo reason (UPPER_SNAKE)
	httpStatus int
	title      string
	goClass
}

type errorCatalog struct {
	byName   map[string]*errorClass
	byType   map[string]*errorClass
	byGoType map[reflect.Type]*errorClass
}

var (
	catalogOnce sync.Once
	theCatalog  *errorCatalog
)

func catalog() *errorCatalog {
	catalogOnce.Do(func() { theCatalog = buildCatalog() })
	return theCatalog
}

type catalogEntry struct {
	reason string
	info   *filesv1.ErrorTypeInfo
}

func catalogEntries(ed protoreflect.EnumDescriptor, prefix string) []catalogEntry {
	var out []catalogEntry
	values := ed.Values()
	for i := 0; i < values.Len(); i++ {
		v := values.Get(i)
		opts, ok := v.Options().(*descriptorpb.EnumValueOptions)
		if !ok || opts == nil || !proto.HasExtension(opts, filesv1.E_Error) {
			continue
		}
		info, _ := proto.GetExtension(opts, filesv1.E_Error).(*filesv1.ErrorTypeInfo)
		if info == nil || info.GetClassName() == "" {
			continue
		}
		out = append(out, catalogEntry{strings.TrimPrefix(string(v.Name()), prefix), info})
	}
	return out
}

func buildCatalog() *errorCatalog {
	c := &errorCatalog{
		byName:   map[string]*errorClass{},
		byType:   map[string]*errorClass{},
		byGoType: map[reflect.Type]*errorClass{},
	}
	add := func(cls *errorClass) {
		c.byName[cls.name] = cls
		if cls.goType != nil {
			c.byGoType[cls.goType] = cls
		}
		if cls.filesType != "" {
			c.byType[cls.filesType] = cls
		}
	}
	for _, b := range baseClasses {
		add(&errorClass{name: b.name, parent: c.byName[b.parent], goClass: b.goClass})
	}
	fromCatalog := func(e catalogEntry, parent *errorClass) {
		name := e.info.GetClassName()
		if _, taken := c.byName[name]; taken {
			return
		}
		gc, ok := catalogTypes[name]
		if !ok {
			// Not generated (protos newer than this build): behave as the parent.
			gc = goClass{wrap: parent.wrap}
		}
		add(&errorClass{name: name, parent: parent, filesType: e.info.GetType(), reason: e.reason,
			httpStatus: int(e.info.GetHttpStatus()), title: e.info.GetTitle(), goClass: gc})
	}
	apiError := c.byName["APIError"]
	for _, e := range catalogEntries(filesv1.ErrorGroup(0).Descriptor(), "ERROR_GROUP_") {
		fromCatalog(e, apiError)
	}
	for _, e := range catalogEntries(filesv1.ErrorType(0).Descriptor(), "ERROR_TYPE_") {
		parent := c.byName[e.info.GetGroup()]
		if parent == nil {
			parent = c.byType[strings.SplitN(e.info.GetType(), "/", 2)[0]]
		}
		if parent == nil {
			parent = apiError
		}
		fromCatalog(e, parent)
	}
	return c
}

// ErrorClasses lists every class name: the catalogue's and the others.
func ErrorClasses() []string {
	names := make([]string, 0, len(catalog().byName))
	for n := range catalog().byName {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ErrorParent gives the parent class of a class ("NotFoundError" for
// "UserNotFoundError"; "" for "Error" and unknown names).
func ErrorParent(class string) string {
	if c := catalog().byName[class]; c != nil && c.parent != nil {
		return c.parent.name
	}
	return ""
}

// ErrorGoType gives the Go type of a class, a pointer type such as
// *files.NotFoundError, for use with reflect (e.g. a table of errors.As targets).
func ErrorGoType(class string) (reflect.Type, bool) {
	c := catalog().byName[class]
	if c == nil || c.goType == nil {
		return nil, false
	}
	return c.goType, true
}

// ClassForType gives the class name for a Files.com type string; an unknown
// leaf falls back to its group (from the type's prefix, or the group class
// name given), then to APIError.
func ClassForType(filesType, group string) string {
	return classForType(filesType, group).name
}

func classForType(filesType, group string) *errorClass {
	c := catalog()
	if cls := c.byType[filesType]; cls != nil {
		return cls
	}
	if cls := c.byType[strings.SplitN(filesType, "/", 2)[0]]; cls != nil {
		return cls
	}
	if cls := c.byName[group]; cls != nil && group != "" {
		return cls
	}
	return c.byName["APIError"]
}

// The gRPC code of errors found locally, by class (codes.OK for the rest).
var localCodes = map[string]codes.Code{
	"CancelledError":        codes.Canceled,
	"DeadlineExceededError": codes.DeadlineExceeded,
	"DataLossError":         codes.DataLoss,
}

// newError makes an error of a class with a message (for failures found locally).
func newError(class, message string) error {
	e := &Error{Message: message, Code: localCodes[class], class: catalog().byName[class]}
	return e.typed()
}

// typed gives the error as its class's Go type.
func (e *Error) typed() error {
	c := e.classOrRoot()
	if c.wrap == nil {
		return e
	}
	return c.wrap(e)
}

// Classes for statuses without a Files.com type, by gRPC code.
var alwaysByCode = map[codes.Code]string{
	codes.Unavailable:      "APIConnectionError",
	codes.DeadlineExceeded: "DeadlineExceededError",
	codes.Canceled:         "CancelledError",
	codes.DataLoss:         "DataLossError",
}

// The group of statuses the gateway built itself (ErrorInfo domain
// "files-gateway", e.g. a bad request message or an unknown upload_id), and
// of bare statuses with codes gRPC never produces on its own; they mirror
// the gateway's group -> code table.
var fromGatewayByCode = map[codes.Code]string{
	codes.InvalidArgument:    "bad-request",
	codes.OutOfRange:         "bad-request",
	codes.Unauthenticated:    "not-authenticated",
	codes.PermissionDenied:   "not-authorized",
	codes.NotFound:           "not-found",
	codes.FailedPrecondition: "processing-failure",
	codes.Aborted:            "processing-failure",
	codes.ResourceExhausted:  "rate-limited",
	// TransferService's overwrite policy FAIL_IF_EXISTS.
	codes.AlreadyExists: "processing-failure/destination-exists",
}

// gRPC itself answers RESOURCE_EXHAUSTED for an oversized message: without
// the gateway's ErrorInfo it is no rate limit.
var ambiguousWhenBare = map[codes.Code]bool{codes.ResourceExhausted: true}

// FromError turns an error from a gRPC call into this package's typed error,
// built from the gateway's rich status (google.rpc.Status in
// grpc-status-details-bin: ErrorInfo with the Files.com "type", RetryInfo,
// files.v1.FilesError with the rest of the body). nil stays nil, errors of
// this package are returned unchanged, context errors become CancelledError
// or DeadlineExceededError, and other errors that carry no gRPC status are
// returned unchanged.
func FromError(err error) error {
	if err == nil {
		return nil
	}
	var mine *Error
	if errors.As(err, &mine) {
		return err
	}
	st, ok := status.FromError(err)
	if !ok {
		switch {
		case errors.Is(err, context.Canceled):
			st = status.New(codes.Canceled, err.Error())
		case errors.Is(err, context.DeadlineExceeded):
			st = status.New(codes.DeadlineExceeded, err.Error())
		default:
			return err
		}
	}
	return fromStatus(st, err)
}

func fromStatus(st *status.Status, cause error) error {
	e := &Error{Message: st.Message(), Code: st.Code(), status: st, cause: cause, Metadata: map[string]string{}}
	var info *errdetails.ErrorInfo
	var filesErr *filesv1.FilesError
	for _, detail := range st.Proto().GetDetails() {
		name := detail.GetTypeUrl()
		if i := strings.LastIndexByte(name, '/'); i >= 0 {
			name = name[i+1:]
		}
		switch name {
		case "google.rpc.ErrorInfo":
			m := &errdetails.ErrorInfo{}
			if proto.Unmarshal(detail.GetValue(), protov1.MessageV2(m)) == nil {
				info = m
			}
		case "google.rpc.RetryInfo":
			m := &errdetails.RetryInfo{}
			if proto.Unmarshal(detail.GetValue(), protov1.MessageV2(m)) == nil && m.GetRetryDelay() != nil {
				d := m.GetRetryDelay()
				e.RetryDelay = time.Duration(d.GetSeconds())*time.Second + time.Duration(d.GetNanos())
			}
		case "files.v1.FilesError":
			m := &filesv1.FilesError{}
			if proto.Unmarshal(detail.GetValue(), m) == nil {
				filesErr = m
			}
		}
	}
	if info != nil {
		e.Reason, e.Domain = info.GetReason(), info.GetDomain()
		for k, v := range info.GetMetadata() {
			e.Metadata[k] = v
		}
	}
	e.Type = e.Metadata["type"]
	if e.Type == "" && filesErr != nil {
		e.Type = filesErr.GetType()
	}
	switch {
	case e.Type != "":
		e.class = classForType(e.Type, e.Metadata["group"])
	case alwaysByCode[e.Code] != "":
		e.class = catalog().byName[alwaysByCode[e.Code]]
	case fromGatewayByCode[e.Code] != "" && (info != nil || !ambiguousWhenBare[e.Code]):
		e.class = classForType(fromGatewayByCode[e.Code], "")
	default:
		e.class = catalog().byName["GatewayError"]
	}
	if n, err := strconv.Atoi(e.Metadata["http_status"]); err == nil {
		e.HTTPStatus = n
	}
	if filesErr != nil {
		e.Title = filesErr.GetTitle()
		e.HTTPCode = int(filesErr.GetHttpCode())
		e.Instance = filesErr.GetInstance()
		if l := filesErr.GetErrors(); l != nil && len(l.GetValues()) > 0 {
			e.Errors, _ = plainJSON(l).([]any)
		}
		e.Data = plainMap(filesErr.GetData())
		e.ModelErrors = plainMap(filesErr.GetModelErrors())
		e.ModelErrorKeys = plainMap(filesErr.GetModelErrorKeys())
		if e.HTTPStatus == 0 {
			e.HTTPStatus = int(filesErr.GetHttpStatus())
		}
	}
	return e.typed()
}

func plainMap(s *structpb.Struct) map[string]any {
	if s == nil || len(s.GetFields()) == 0 {
		return nil
	}
	m, _ := plainJSON(s).(map[string]any)
	return m
}

// errorf makes a local error of a class, formatted like fmt.Sprintf.
func errorf(class, format string, args ...any) error {
	return newError(class, fmt.Sprintf(format, args...))
}
