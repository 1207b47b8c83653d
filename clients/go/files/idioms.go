package files

import (
	"context"
	"errors"
)

// Go's error idioms beside the class tree (errors.As with *NotFoundError, ...):
//
//	if errors.Is(err, files.ErrNotFound) { ... }     // sentinels, one per group
//	if files.IsNotFound(err) { ... }                 // the same, as helpers
//	var re *files.ResponseError                       // what Files.com answered
//	if errors.As(err, &re) { fmt.Println(re.Type, re.HttpCode, re.ErrorMessage) }
//
// A sentinel matches its class and every class below it: errors.Is(err,
// ErrNotFound) holds for a UserNotFoundError and a FolderNotFoundError;
// ErrConnection for a DeadlineExceededError. errors.Is(err,
// context.DeadlineExceeded) and errors.Is(err, context.Canceled) hold for
// DeadlineExceededError and CancelledError.

// Sentinel is the type of the package's sentinel errors; compare with errors.Is.
type Sentinel struct{ class, text string }

func (s *Sentinel) Error() string { return "files: " + s.text }

// Class is the SDK class the sentinel stands for, e.g. "NotFoundError".
func (s *Sentinel) Class() string { return s.class }

// The sentinels, one per group of the tree.
var (
	ErrAPI                 = &Sentinel{"APIError", "Files.com refused the call"}
	ErrBadRequest          = &Sentinel{"BadRequestError", "bad request"}
	ErrNotAuthenticated    = &Sentinel{"NotAuthenticatedError", "not authenticated"}
	ErrNotAuthorized       = &Sentinel{"NotAuthorizedError", "not authorized"}
	ErrNotFound            = &Sentinel{"NotFoundError", "not found"}
	ErrProcessingFailure   = &Sentinel{"ProcessingFailureError", "processing failure"}
	ErrRateLimited         = &Sentinel{"RateLimitedError", "rate limited"}
	ErrServiceUnavailable  = &Sentinel{"ServiceUnavailableError", "service unavailable"}
	ErrSiteConfiguration   = &Sentinel{"SiteConfigurationError", "site configuration"}
	ErrGateway             = &Sentinel{"GatewayError", "the gateway failed"}
	ErrDataLoss            = &Sentinel{"DataLossError", "content did not arrive intact"}
	ErrConnection          = &Sentinel{"APIConnectionError", "the gateway could not be reached"}
	ErrDeadlineExceeded    = &Sentinel{"DeadlineExceededError", "deadline exceeded"}
	ErrCancelled           = &Sentinel{"CancelledError", "cancelled"}
	ErrInvalidRequest      = &Sentinel{"InvalidRequestError", "invalid request"}
	ErrInvalidParameter    = &Sentinel{"InvalidParameterError", "invalid parameter"}
	ErrMissingParameter    = &Sentinel{"MissingParameterError", "missing parameter"}
	ErrDestinationExists   = &Sentinel{"DestinationExistsError", "the destination exists"}
	ErrInvalidCredentials  = &Sentinel{"InvalidCredentialsError", "invalid credentials"}
	ErrTooManyRequests     = &Sentinel{"TooManyRequestsError", "too many requests"}
	ErrFolderAdminRequired = &Sentinel{"FolderAdminPermissionRequiredError", "folder admin permission required"}
)

// Is makes errors.Is match the sentinels of the error's class and its
// ancestors, and context.DeadlineExceeded / context.Canceled.
func (e *Error) Is(target error) bool {
	switch t := target.(type) {
	case *Sentinel:
		return e.IsA(t.class)
	}
	switch target {
	case context.DeadlineExceeded:
		return e.IsA("DeadlineExceededError")
	case context.Canceled:
		return e.IsA("CancelledError")
	}
	return false
}

// IsAPIError reports whether Files.com (through the gateway) refused the call.
func IsAPIError(err error) bool { return errors.Is(err, ErrAPI) }

// IsBadRequest reports a BadRequestError (or a class below it).
func IsBadRequest(err error) bool { return errors.Is(err, ErrBadRequest) }

// IsNotAuthenticated reports a NotAuthenticatedError (or a class below it).
func IsNotAuthenticated(err error) bool { return errors.Is(err, ErrNotAuthenticated) }

// IsNotAuthorized reports a NotAuthorizedError (or a class below it).
func IsNotAuthorized(err error) bool { return errors.Is(err, ErrNotAuthorized) }

// IsNotFound reports a NotFoundError (or a class below it: UserNotFoundError, ...).
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// IsProcessingFailure reports a ProcessingFailureError (or a class below it).
func IsProcessingFailure(err error) bool { return errors.Is(err, ErrProcessingFailure) }

// IsRateLimited reports a RateLimitedError (or a class below it); see Error.RetryDelay.
func IsRateLimited(err error) bool { return errors.Is(err, ErrRateLimited) }

// IsServiceUnavailable reports a ServiceUnavailableError (or a class below it).
func IsServiceUnavailable(err error) bool { return errors.Is(err, ErrServiceUnavailable) }

// IsSiteConfiguration reports a SiteConfigurationError (or a class below it).
func IsSiteConfiguration(err error) bool { return errors.Is(err, ErrSiteConfiguration) }

// IsConnection reports that the gateway could not be reached (DeadlineExceededError included).
func IsConnection(err error) bool { return errors.Is(err, ErrConnection) }

// IsDeadlineExceeded reports a call whose deadline passed.
func IsDeadlineExceeded(err error) bool { return errors.Is(err, ErrDeadlineExceeded) }

// IsCancelled reports a cancelled call.
func IsCancelled(err error) bool { return errors.Is(err, ErrCancelled) }

// IsDataLoss reports content that did not arrive intact.
func IsDataLoss(err error) bool { return errors.Is(err, ErrDataLoss) }

// IsInvalidRequest reports a request that could not be built (InvalidParameterError, MissingParameterError).
func IsInvalidRequest(err error) bool { return errors.Is(err, ErrInvalidRequest) }

// ResponseError is what Files.com answered to a refused call, in the field
// names of the Files.com Go SDK's files_sdk.ResponseError. errors.As finds
// it in every APIError (but not in GatewayError, whose cause is the gateway's
// own, nor in connection or request errors):
//
//	var re *files.ResponseError
//	if errors.As(err, &re) && re.HttpCode == 404 { ... }
type ResponseError struct {
	Type         string         // "not-found/user-not-found"
	Title        string         // "User Not Found"
	ErrorMessage string         // Files.com's "error"
	HttpCode     int            // Files.com's HTTP status
	Errors       []any          // Files.com's "errors"
	Data         map[string]any // Files.com's "data"
	ModelErrors  map[string]any
	RetryDelay   int64 // milliseconds; 0 when unknown
	Class        string
	Err          *Error // the full error
}

func (r *ResponseError) Error() string { return r.Err.Error() }

// Unwrap gives the *Error it was made from.
func (r *ResponseError) Unwrap() error { return r.Err }

func (e *Error) responseError() (*ResponseError, bool) {
	if !e.IsA("APIError") || e.IsA("GatewayError") {
		return nil, false
	}
	code := e.HTTPCode
	if code == 0 {
		code = e.HTTPStatus
	}
	return &ResponseError{Type: e.Type, Title: e.Title, ErrorMessage: e.Message, HttpCode: code,
		Errors: e.Errors, Data: e.Data, ModelErrors: e.ModelErrors, RetryDelay: e.RetryDelay.Milliseconds(),
		Class: e.ClassName(), Err: e}, true
}
