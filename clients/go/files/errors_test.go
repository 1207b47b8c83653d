package files

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	filesv1 "github.com/files-gateway/files-gateway/clients/go/filesv1"

	protov1 "github.com/golang/protobuf/proto"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
)

// richStatus builds an error as the gateway sends it.
func richStatus(t *testing.T, code codes.Code, message string, details ...protov1.Message) error {
	t.Helper()
	st, err := status.New(code, message).WithDetails(details...)
	if err != nil {
		t.Fatal(err)
	}
	return st.Err()
}

func filesInfo(filesType, group string, httpStatus int) *errdetails.ErrorInfo {
	return &errdetails.ErrorInfo{Reason: "X", Domain: "files.com",
		Metadata: map[string]string{"type": filesType, "group": group, "http_status": fmt.Sprint(httpStatus)}}
}

// isA checks errors.As with the Go type of a class.
func isA(err error, class string) bool {
	goType, ok := ErrorGoType(class)
	if !ok {
		return false
	}
	target := reflect.New(goType)
	return errors.As(err, target.Interface()) && !target.Elem().IsNil()
}

func TestTheSDKExampleChain(t *testing.T) {
	chain := []string{"FolderAdminPermissionRequiredError", "NotAuthorizedError", "APIError", "Error"}
	for i := 0; i+1 < len(chain); i++ {
		if got := ErrorParent(chain[i]); got != chain[i+1] {
			t.Errorf("parent of %s is %s, want %s", chain[i], got, chain[i+1])
		}
	}
	err := FromError(richStatus(t, codes.PermissionDenied, "You need folder admin permission.",
		filesInfo("not-authorized/folder-admin-permission-required", "NotAuthorizedError", 403)))
	var leaf *FolderAdminPermissionRequiredError
	var group *NotAuthorizedError
	var api *APIError
	var root *Error
	if !errors.As(err, &leaf) || !errors.As(err, &group) || !errors.As(err, &api) || !errors.As(err, &root) {
		t.Fatalf("errors.As failed along the chain for %v", err)
	}
	if group.Type != "not-authorized/folder-admin-permission-required" || group.ClassName() != chain[0] ||
		root.HTTPStatus != 403 || api.Message != "You need folder admin permission." {
		t.Errorf("group view %+v", group.Error())
	}
	var nf *NotFoundError
	var conn *APIConnectionError
	if errors.As(err, &nf) || errors.As(err, &conn) {
		t.Error("errors.As matched a class outside the chain")
	}
	if fmt.Sprint(root.Ancestors()) != "[FolderAdminPermissionRequiredError NotAuthorizedError APIError Error]" {
		t.Errorf("ancestors %v", root.Ancestors())
	}
	// Wrapped errors keep their class.
	wrapped := fmt.Errorf("loading the folder: %w", err)
	if !errors.As(wrapped, &group) || status.Code(err) != codes.PermissionDenied {
		t.Error("a wrapped error lost its class or code")
	}
}

func TestEveryCatalogueEntryHasItsClassUnderItsGroup(t *testing.T) {
	n := 0
	for _, typ := range []bool{false, true} {
		var entries []catalogEntry
		if typ {
			entries = catalogEntries(filesv1.ErrorType(0).Descriptor(), "ERROR_TYPE_")
		} else {
			entries = catalogEntries(filesv1.ErrorGroup(0).Descriptor(), "ERROR_GROUP_")
		}
		for _, e := range entries {
			info := e.info
			if _, ok := catalogTypes[info.GetClassName()]; !ok {
				t.Errorf("%s has no generated Go type", info.GetClassName())
			}
			if got := ClassForType(info.GetType(), ""); got != info.GetClassName() {
				t.Errorf("type %s gives %s, want %s", info.GetType(), got, info.GetClassName())
			}
			want := info.GetGroup()
			if want == "" {
				want = "APIError"
			}
			if got := ErrorParent(info.GetClassName()); got != want {
				t.Errorf("parent of %s is %s, want %s", info.GetClassName(), got, want)
			}
			err := FromError(richStatus(t, codes.FailedPrecondition, "m", filesInfo(info.GetType(), info.GetGroup(), 422)))
			for _, class := range []string{info.GetClassName(), want, "APIError", "Error"} {
				if !isA(err, class) {
					t.Errorf("%v is not a %s", err, class)
				}
			}
			if reflect.TypeOf(err) != catalogTypes[info.GetClassName()].goType {
				t.Errorf("%s arrives as %T", info.GetClassName(), err)
			}
			n++
		}
	}
	if n != 213 {
		t.Errorf("%d catalogue classes, want 205 types + 8 groups", n)
	}
}

func TestGroupsAndNonFilesComClasses(t *testing.T) {
	for class, parent := range map[string]string{
		"BadRequestError": "APIError", "NotAuthenticatedError": "APIError", "NotAuthorizedError": "APIError",
		"NotFoundError": "APIError", "ProcessingFailureError": "APIError", "RateLimitedError": "APIError",
		"ServiceUnavailableError": "APIError", "SiteConfigurationError": "APIError",
		"APIError": "Error", "APIConnectionError": "Error", "DeadlineExceededError": "APIConnectionError",
		"CancelledError": "Error", "InvalidRequestError": "Error", "InvalidParameterError": "InvalidRequestError",
		"MissingParameterError": "InvalidRequestError", "GatewayError": "APIError", "DataLossError": "GatewayError",
		"Error": "",
	} {
		if got := ErrorParent(class); got != parent {
			t.Errorf("parent of %s is %q, want %q", class, got, parent)
		}
		if _, ok := ErrorGoType(class); !ok {
			t.Errorf("%s has no Go type", class)
		}
	}
	if n := len(ErrorClasses()); n != 213+10 {
		t.Errorf("%d classes", n)
	}
}

func TestUnknownLeafFallsBackToItsGroup(t *testing.T) {
	err := FromError(richStatus(t, codes.NotFound, "gone", filesInfo("not-found/some-new-thing", "NotFoundError", 404)))
	var nf *NotFoundError
	if !errors.As(err, &nf) || nf.ClassName() != "NotFoundError" || nf.Type != "not-found/some-new-thing" {
		t.Errorf("got %v", err)
	}
	if got := ClassForType("brand-new/x", "RateLimitedError"); got != "RateLimitedError" {
		t.Errorf("by group name: %s", got)
	}
	if got := ClassForType("brand-new/x", ""); got != "APIError" {
		t.Errorf("unknown: %s", got)
	}
}

func TestFilesComErrorCarriesTheBody(t *testing.T) {
	list, _ := structpb.NewList([]any{map[string]any{"field": "name"}, "plain"})
	data, _ := structpb.NewStruct(map[string]any{"id": 3.0})
	modelErrors, _ := structpb.NewStruct(map[string]any{"name": []any{"is taken"}})
	err := FromError(richStatus(t, codes.FailedPrecondition, "The destination exists.",
		filesInfo("processing-failure/destination-exists", "ProcessingFailureError", 422),
		&errdetails.RetryInfo{RetryDelay: durationpb.New(1500 * time.Millisecond)},
		&filesv1.FilesError{Type: "processing-failure/destination-exists", Title: "Destination Exists",
			Message: "The destination exists.", HttpCode: 422, Instance: "abc", Errors: list, Data: data,
			ModelErrors: modelErrors, HttpStatus: 422}))
	var e *DestinationExistsError
	if !errors.As(err, &e) {
		t.Fatalf("got %T %v", err, err)
	}
	if e.Title != "Destination Exists" || e.HTTPCode != 422 || e.HTTPStatus != 422 || e.Instance != "abc" ||
		e.RetryDelay != 1500*time.Millisecond || e.Code != codes.FailedPrecondition || e.Domain != "files.com" ||
		e.Reason != "X" || e.Metadata["group"] != "ProcessingFailureError" || e.Data["id"] != int64(3) ||
		fmt.Sprint(e.Errors) != "[map[field:name] plain]" || fmt.Sprint(e.ModelErrors) != "map[name:[is taken]]" {
		t.Errorf("error %+v", *e.base)
	}
	want := "DestinationExistsError: The destination exists. (processing-failure/destination-exists, HTTP 422, retry in 1.5s)"
	if e.Error() != want {
		t.Errorf("Error() = %q", e.Error())
	}
	// The type from the FilesError detail alone is enough.
	err = FromError(richStatus(t, codes.NotFound, "no", &filesv1.FilesError{Type: "not-found/user-not-found", HttpStatus: 404}))
	var unf *UserNotFoundError
	if !errors.As(err, &unf) || unf.HTTPStatus != 404 {
		t.Errorf("got %v", err)
	}
}

func TestGatewayStatusesMapByCode(t *testing.T) {
	gatewayInfo := &errdetails.ErrorInfo{Reason: "BAD", Domain: "files-gateway"}
	for _, c := range []struct {
		code   codes.Code
		detail bool
		class  string
	}{
		{codes.InvalidArgument, true, "BadRequestError"},
		{codes.InvalidArgument, false, "BadRequestError"},
		{codes.Unauthenticated, true, "NotAuthenticatedError"},
		{codes.PermissionDenied, false, "NotAuthorizedError"},
		{codes.NotFound, true, "NotFoundError"},
		{codes.FailedPrecondition, true, "ProcessingFailureError"},
		{codes.Aborted, true, "ProcessingFailureError"},
		{codes.ResourceExhausted, true, "RateLimitedError"},
		{codes.ResourceExhausted, false, "GatewayError"}, // gRPC's own: message too large
		{codes.AlreadyExists, true, "DestinationExistsError"},
		{codes.Unavailable, false, "APIConnectionError"},
		{codes.DeadlineExceeded, false, "DeadlineExceededError"},
		{codes.Canceled, false, "CancelledError"},
		{codes.DataLoss, true, "DataLossError"},
		{codes.Internal, true, "GatewayError"},
		{codes.Unimplemented, false, "GatewayError"},
		{codes.Unknown, false, "GatewayError"},
	} {
		var err error
		if c.detail {
			err = richStatus(t, c.code, "m", gatewayInfo)
		} else {
			err = status.Error(c.code, "m")
		}
		got := FromError(err)
		var e *Error
		if !errors.As(got, &e) || e.ClassName() != c.class || e.Code != c.code || !isA(got, c.class) {
			t.Errorf("%v (details %v) gave %T %v", c.code, c.detail, got, got)
		}
	}
}

func TestContextAndOtherErrors(t *testing.T) {
	if FromError(nil) != nil {
		t.Error("nil")
	}
	var ce *CancelledError
	if err := FromError(context.Canceled); !errors.As(err, &ce) || ce.Code != codes.Canceled {
		t.Errorf("context.Canceled gave %v", err)
	}
	var de *DeadlineExceededError
	var conn *APIConnectionError
	if err := FromError(fmt.Errorf("x: %w", context.DeadlineExceeded)); !errors.As(err, &de) || !errors.As(err, &conn) {
		t.Errorf("context.DeadlineExceeded gave %v", err)
	}
	if err := FromError(io.ErrUnexpectedEOF); err != io.ErrUnexpectedEOF {
		t.Errorf("a local error became %v", err)
	}
	once := FromError(status.Error(codes.NotFound, "x"))
	if twice := FromError(once); twice != once {
		t.Error("FromError is not idempotent")
	}
	if !strings.Contains(newError("InvalidParameterError", "bad").Error(), "InvalidParameterError: bad") {
		t.Error("local error text")
	}
	var e *Error
	errors.As(once, &e)
	if errors.Unwrap(e) == nil || status.Code(once) != codes.NotFound {
		t.Error("the gRPC status is lost")
	}
}
