"""Typed errors with the Files.com SDK's class names and hierarchy.

The class tree is built at import time from error_catalog.proto: every value of
the ErrorGroup and ErrorType enums carries a (files.v1.error) option with its
SDK class name and parent, so

    FolderAdminPermissionRequiredError -> NotAuthorizedError -> APIError -> Error

exists without being written here. from_rpc_error() turns a failed RPC into
the right class from the gateway's rich status (google.rpc.Status in
grpc-status-details-bin: ErrorInfo with the Files.com "type", RetryInfo,
files.v1.FilesError with the rest of the body).

Failures that are not Files.com answers get classes of their own:
APIConnectionError (the gateway, or Files.com behind it, cannot be reached),
DeadlineExceededError (a subclass of it), CancelledError, DataLossError and
GatewayError (any other failure of the gateway itself).
"""
import grpc
from google.protobuf import json_format

from files_gateway import _api

__all__ = ["Error", "APIConnectionError", "DeadlineExceededError", "CancelledError",
           "InvalidRequestError", "InvalidParameterError", "MissingParameterError", "APIError",
           "GatewayError", "DataLossError", "from_rpc_error", "class_for_type",
           "catalog_classes"]

_ATTRIBUTES = ("code", "http_status", "retry_delay", "type", "reason", "domain", "metadata",
               "title", "errors", "data", "model_errors", "model_error_keys", "http_code",
               "instance")


class Error(Exception):
    """Base of every error this package raises.

    Attributes (None when unknown): message, code (grpc.StatusCode),
    http_status (what Files.com answered), retry_delay (seconds, from RetryInfo),
    type (Files.com type, e.g. "not-found/user-not-found"), reason and domain
    (google.rpc.ErrorInfo), metadata (ErrorInfo.metadata as a dict), and from
    the Files.com body: title, errors, data, model_errors, model_error_keys,
    http_code, instance.
    """

    def __init__(self, message=None, **attributes):
        super().__init__(message)
        self.message = message
        for name in _ATTRIBUTES:
            setattr(self, name, attributes.pop(name, None))
        if attributes:
            raise TypeError("unknown error attributes: %s" % ", ".join(sorted(attributes)))
        if self.metadata is None:
            self.metadata = {}

    # The SDK's spellings.
    @property
    def error_type(self):
        return self.type

    @property
    def error(self):
        return self.message

    def __str__(self):
        text = self.message or self.title or self.__class__.__name__
        if self.http_status:
            return "HTTP %s %s" % (self.http_status, text)
        return text

    def __repr__(self):
        extra = "".join(", %s=%r" % (k, getattr(self, k)) for k in ("type", "code", "retry_delay")
                        if getattr(self, k) is not None)
        return "%s(%r%s)" % (self.__class__.__name__, self.message, extra)


class APIConnectionError(Error):
    """The gateway (or Files.com behind it) could not be reached."""


class DeadlineExceededError(APIConnectionError):
    """The call's deadline passed before an answer arrived."""


class CancelledError(Error):
    """The call was cancelled (by this process or the gateway)."""


class InvalidRequestError(Error):
    """The request could not be built from the given arguments."""


class InvalidParameterError(InvalidRequestError):
    """A parameter is unknown for the action or has the wrong type."""


class MissingParameterError(InvalidRequestError):
    """A parameter the action cannot do without is absent."""


class APIError(Error):
    """Files.com (through the gateway) refused the call."""


class GatewayError(APIError):
    """The gateway failed the call for a reason of its own (INTERNAL, UNIMPLEMENTED, ...)."""


class DataLossError(GatewayError):
    """Content did not arrive intact (a checksum or size mismatch)."""


_BASES = {c.__name__: c for c in (Error, APIConnectionError, DeadlineExceededError,
                                  CancelledError, InvalidRequestError, InvalidParameterError,
                                  MissingParameterError, APIError, GatewayError, DataLossError)}
_BY_TYPE = {}      # "not-found/user-not-found" -> class; groups too ("not-found")
_BY_NAME = {}      # "UserNotFoundError" -> class


def _catalog_entries(enum_descriptor, prefix):
    for value in enum_descriptor.values:
        opts = value.GetOptions()
        if opts.HasExtension(_api.options_pb2.error):
            yield value.name[len(prefix):], opts.Extensions[_api.options_pb2.error]


def _make_class(reason, info, parent):
    doc = "%s (Files.com type %r, HTTP %s)." % (info.title or info.class_name, info.type,
                                                 info.http_status)
    cls = type(info.class_name, (parent,), {
        "__module__": __name__, "__doc__": doc, "__qualname__": info.class_name,
        "files_type": info.type, "catalog_reason": reason,
        "catalog_http_status": info.http_status or None})
    _BY_TYPE[info.type] = cls
    _BY_NAME[info.class_name] = cls
    globals()[info.class_name] = cls
    __all__.append(info.class_name)
    return cls


def _build_catalog():
    catalog = _api.error_catalog_pb2
    for reason, info in _catalog_entries(catalog.ErrorGroup.DESCRIPTOR, "ERROR_GROUP_"):
        if info.class_name not in _BASES:
            _make_class(reason, info, APIError)
    for reason, info in _catalog_entries(catalog.ErrorType.DESCRIPTOR, "ERROR_TYPE_"):
        if info.class_name in _BASES or info.class_name in _BY_NAME:
            continue
        parent = _BY_NAME.get(info.group) or _BY_TYPE.get(info.type.split("/")[0]) or APIError
        _make_class(reason, info, parent)


_build_catalog()


def catalog_classes():
    """{Files.com type: class} for every group and type in the catalogue."""
    return dict(_BY_TYPE)


def class_for_type(files_type, group=None):
    """The class for a Files.com type string; an unknown leaf falls back to its
    group (from the type's prefix or the group class name), then to APIError."""
    if files_type in _BY_TYPE:
        return _BY_TYPE[files_type]
    prefix = (files_type or "").split("/")[0]
    return _BY_TYPE.get(prefix) or _BY_NAME.get(group or "") or APIError


# Non-Files.com failures, by gRPC code. The group rows apply to statuses the
# gateway built itself (ErrorInfo domain "files-gateway", e.g. a bad request
# message or an unknown upload_id) and to bare statuses with codes gRPC never
# produces on its own; they mirror the gateway's group -> code table.
_ALWAYS = {
    grpc.StatusCode.UNAVAILABLE: APIConnectionError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
    grpc.StatusCode.CANCELLED: CancelledError,
    grpc.StatusCode.DATA_LOSS: DataLossError,
}
_FROM_GATEWAY = {
    grpc.StatusCode.INVALID_ARGUMENT: "bad-request",
    grpc.StatusCode.OUT_OF_RANGE: "bad-request",
    grpc.StatusCode.UNAUTHENTICATED: "not-authenticated",
    grpc.StatusCode.PERMISSION_DENIED: "not-authorized",
    grpc.StatusCode.NOT_FOUND: "not-found",
    grpc.StatusCode.FAILED_PRECONDITION: "processing-failure",
    grpc.StatusCode.ABORTED: "processing-failure",
    grpc.StatusCode.RESOURCE_EXHAUSTED: "rate-limited",
    # TransferService's overwrite policy FAIL_IF_EXISTS.
    grpc.StatusCode.ALREADY_EXISTS: "processing-failure/destination-exists",
}

# gRPC itself answers RESOURCE_EXHAUSTED for an oversized message: without the
# gateway's ErrorInfo it is no rate limit.
_AMBIGUOUS_WHEN_BARE = frozenset((grpc.StatusCode.RESOURCE_EXHAUSTED,))


def _duration_seconds(d):
    return d.seconds + d.nanos / 1e9


def _plain(msg):
    """A Struct / ListValue detail as plain Python, None when empty."""
    value = json_format.MessageToDict(msg)
    return value or None


def _parse_status_details(call):
    """(ErrorInfo, RetryInfo, FilesError) from grpc-status-details-bin, each or None."""
    info = retry = files_error = None
    try:
        trailers = call.trailing_metadata() or ()
    except Exception:  # a call that never started has no trailers
        trailers = ()
    for key, value in trailers:
        if key != "grpc-status-details-bin":
            continue
        status = _api.status_pb2.Status.FromString(value)
        for any_ in status.details:
            name = any_.type_url.rsplit("/", 1)[-1]
            if name == "google.rpc.ErrorInfo":
                info = _api.error_details_pb2.ErrorInfo.FromString(any_.value)
            elif name == "google.rpc.RetryInfo":
                retry = _api.error_details_pb2.RetryInfo.FromString(any_.value)
            elif name == "files.v1.FilesError":
                files_error = _api.error_catalog_pb2.FilesError.FromString(any_.value)
    return info, retry, files_error


def from_rpc_error(err):
    """The typed error for a grpc.RpcError (or grpc.FutureCancelledError)."""
    if isinstance(err, grpc.FutureCancelledError):
        return CancelledError("the call was cancelled", code=grpc.StatusCode.CANCELLED)
    code = err.code() if hasattr(err, "code") else None
    message = err.details() if hasattr(err, "details") else str(err)
    info, retry, files_error = _parse_status_details(err)
    attrs = {"code": code}
    metadata = dict(info.metadata) if info is not None else {}
    if info is not None:
        attrs.update(reason=info.reason or None, domain=info.domain or None, metadata=metadata)
    if retry is not None and retry.HasField("retry_delay"):
        attrs["retry_delay"] = _duration_seconds(retry.retry_delay)
    files_type = metadata.get("type") or (files_error.type if files_error else "")
    if files_type:
        cls = class_for_type(files_type, metadata.get("group"))
        attrs["type"] = files_type
    elif code in _ALWAYS:
        cls = _ALWAYS[code]
    elif code in _FROM_GATEWAY and (info is not None or code not in _AMBIGUOUS_WHEN_BARE):
        cls = class_for_type(_FROM_GATEWAY[code])
    else:
        cls = GatewayError
    http_status = metadata.get("http_status")
    if http_status and http_status.isdigit():
        attrs["http_status"] = int(http_status)
    if files_error is not None:
        attrs.update(title=files_error.title or None, http_code=files_error.http_code or None,
                     instance=files_error.instance or None, errors=_plain(files_error.errors),
                     data=_plain(files_error.data), model_errors=_plain(files_error.model_errors),
                     model_error_keys=_plain(files_error.model_error_keys))
        attrs["http_status"] = attrs.get("http_status") or files_error.http_status or None
    return cls(message or None, **attrs)
