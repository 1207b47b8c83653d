"""connect() and the Client: one gRPC channel to files-gateway, every resource
as an attribute, and the file transfer helpers.

    import files_gateway
    client = files_gateway.connect("127.0.0.1:50051")
    for user in client.users.list({"per_page": 1000}).auto_paging_iter():
        print(user.username)
"""
import os
import threading
from typing import (TYPE_CHECKING, Any, BinaryIO, Callable, Iterator, List, Literal, Optional,
                    Sequence, Tuple, Union, overload)

import grpc

from files_gateway import _api, transfer
from files_gateway._gen.typed import Resources
from files_gateway.errors import InvalidParameterError, from_rpc_error
from files_gateway.resources import CallOptions, Resource

if TYPE_CHECKING:
    from files_gateway._gen.typed import File

__all__ = ["connect", "Client", "DEFAULT_TARGET", "call_metadata"]

DEFAULT_TARGET = "127.0.0.1:50051"
_MIB = 1 << 20
_OPTION_KEYS = frozenset(("timeout", "metadata", "wait_for_ready", "workspace_id", "language",
                          "api_key", "session_id"))
# Per-call options sent as metadata, and the gateway's names for them.
_HEADER_OPTIONS = (("api_key", "x-files-api-key"), ("session_id", "x-files-session-id"),
                   ("language", "x-files-language"))
Progress = Optional[Callable[[int, Optional[int]], Any]]
LocalFile = Union[str, "os.PathLike[str]", BinaryIO]


def _printable(value):
    return isinstance(value, str) and value and all(0x20 <= ord(c) <= 0x7e for c in value)


def call_metadata(options):
    """The gRPC metadata a call's options add: workspace_id as
    x-files-workspace-id, language as x-files-language, api_key / session_id
    (a Files.com credential of the caller's own, where the gateway's profile
    allows it) as x-files-api-key / x-files-session-id, then options["metadata"]."""
    extra = []
    workspace = options.get("workspace_id")
    if workspace is not None:
        if isinstance(workspace, bool) or not isinstance(workspace, int) and not (
                isinstance(workspace, str) and workspace.isdigit()):
            raise InvalidParameterError("workspace_id must be an integer, got %r" % (workspace,))
        extra.append(("x-files-workspace-id", str(int(workspace))))
    for key, header in _HEADER_OPTIONS:
        value = options.get(key)
        if value is None:
            continue
        if key == "session_id" and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not _printable(value):
            # Never echo a credential's value in the message.
            shown = "a value" if key in ("api_key", "session_id") else repr(value)
            raise InvalidParameterError("%s must be a non-empty printable ASCII string, got %s"
                                        % (key, shown))
        extra.append((header, value))
    return tuple(extra) + tuple(options.get("metadata") or ())


def check_options(options):
    options = dict(options or {})
    unknown = set(options) - _OPTION_KEYS
    if unknown:
        raise InvalidParameterError("unknown call options: %s (known: %s)" % (
            ", ".join(sorted(unknown)), ", ".join(sorted(_OPTION_KEYS))))
    return options


def _read_pem(value):
    if value is None or isinstance(value, bytes):
        return value
    with open(os.fspath(value), "rb") as f:  # a path to a PEM file
        return f.read()


def channel_args(max_message_bytes, keepalive_time, keepalive_timeout,
                 keepalive_permit_without_calls, channel_options):
    options = [("grpc.max_receive_message_length", int(max_message_bytes)),
               ("grpc.max_send_message_length", int(max_message_bytes))]
    if keepalive_time is not None:
        options += [("grpc.keepalive_time_ms", int(keepalive_time * 1000)),
                    ("grpc.keepalive_timeout_ms", int(keepalive_timeout * 1000)),
                    ("grpc.keepalive_permit_without_calls",
                     int(bool(keepalive_permit_without_calls))),
                    ("grpc.http2.max_pings_without_data", 0)]
    return options + list(channel_options)


def credentials(tls, root_certificates, private_key, certificate_chain):
    """Channel credentials, or None for a plaintext channel."""
    if tls or root_certificates is not None or certificate_chain is not None:
        return grpc.ssl_channel_credentials(root_certificates=_read_pem(root_certificates),
                                            private_key=_read_pem(private_key),
                                            certificate_chain=_read_pem(certificate_chain))
    return None


def connect(target: str = DEFAULT_TARGET, *, tls: bool = False, root_certificates: Any = None,
            private_key: Any = None, certificate_chain: Any = None, token: Optional[str] = None,
            timeout: Optional[float] = 30.0, transfer_timeout: Optional[float] = None,
            keepalive_time: Optional[float] = None, keepalive_timeout: float = 20.0,
            keepalive_permit_without_calls: bool = False, max_message_bytes: int = 64 * _MIB,
            wait_for_ready: bool = False, channel_options: Sequence[Tuple[str, Any]] = (),
            metadata: Sequence[Tuple[str, str]] = ()) -> "Client":
    """Opens a channel to files-gateway and returns a Client.

    target: "host:port" or "unix:/path/to.sock".
    tls: use TLS; root_certificates (PEM bytes or a path; default: the system's),
        private_key and certificate_chain (PEM bytes or paths) for mutual TLS.
    token: a bearer token, sent as "authorization: Bearer <token>" on every call.
    timeout: the default deadline of each unary call, in seconds (None: none).
    transfer_timeout: the default deadline of uploads and downloads (None: none,
        since their length grows with the file; keepalive detects dead peers).
    keepalive_time / keepalive_timeout: seconds between HTTP/2 pings on an idle
        connection and how long to wait for the answer (None: no pings). Keep it
        at or above the server's minimum ping interval (gRPC's default: 5 min
        without calls in flight).
    keepalive_permit_without_calls: also ping while no call is in flight.
    max_message_bytes: the largest message accepted either way (a 1,000-item page
        of a big model can pass gRPC's default 4 MiB).
    wait_for_ready: calls wait (within their deadline) for the gateway to come up
        instead of failing at once with APIConnectionError, e.g. in a pod whose
        sidecar starts after the application.
    channel_options: more (name, value) gRPC channel arguments.
    metadata: (key, value) pairs sent on every call.
    """
    options = channel_args(max_message_bytes, keepalive_time, keepalive_timeout,
                           keepalive_permit_without_calls, channel_options)
    creds = credentials(tls, root_certificates, private_key, certificate_chain)
    if creds is not None:
        channel = grpc.secure_channel(target, creds, options=options)
    else:
        channel = grpc.insecure_channel(target, options=options)
    every_call = list(metadata or ())
    if token:
        every_call.append(("authorization", "Bearer " + token))
    return Client(channel, timeout=timeout, transfer_timeout=transfer_timeout,
                  metadata=every_call, target=target, wait_for_ready=wait_for_ready)


class Client(Resources):
    """Every Files.com resource as an attribute (client.users, client.files,
    client.api_keys, ...; the singular works too), plus upload_file,
    download_file, open, list_for and resumable uploads over TransferService.

    Thread-safe; close() (or a with-block) closes the channel.
    """

    is_async = False

    def __init__(self, channel, *, timeout=30.0, transfer_timeout=None, metadata=(), target=None,
                 wait_for_ready=False):
        self.channel = channel
        self.wait_for_ready = wait_for_ready
        self.timeout = timeout
        self.transfer_timeout = transfer_timeout
        self.metadata = tuple(metadata)
        self.target = target
        self._resources = {}
        self._stubs = {}
        self._lock = threading.Lock()

    # --- resources -------------------------------------------------------

    def resource(self, name: str) -> Resource:
        """A resource by SDK name ("User") or attribute name ("users", "user")."""
        sdk_name = _api.resource_for_attribute(name)
        if sdk_name is None:
            raise AttributeError("no Files.com resource named %r" % (name,))
        res = self._resources.get(sdk_name)
        if res is None:
            with self._lock:
                res = self._resources.setdefault(
                    sdk_name, Resource(self, sdk_name, _api.resources()[sdk_name]))
        return res

    if not TYPE_CHECKING:  # type checkers see the typed attributes of Resources instead
        def __getattr__(self, name):
            if name.startswith("_"):
                raise AttributeError(name)
            try:
                return self.resource(name)
            except AttributeError:
                raise AttributeError("%r is neither a Client attribute nor a Files.com "
                                     "resource" % (name,)) from None

    def __dir__(self):
        return sorted(set(object.__dir__(self)) | set(_api.attribute_names()))

    @property
    def resources(self) -> List[str]:
        """The SDK resource names, e.g. ['ActionLog', ..., 'User', ...]."""
        return sorted(_api.resources())

    # --- transfers -------------------------------------------------------

    def upload_file(self, local: LocalFile, remote: str, mkdir_parents: bool = False, *,
                    progress: Progress = None, options: CallOptions = None,
                    **kwargs: Any) -> "File":
        """Uploads a local file (path or binary file object); returns the File.
        progress(bytes_sent, total) is called after each chunk (total: None
        when unknown). kwargs: provided_mtime, expected_md5, expected_crc32c,
        overwrite, chunk_size."""
        return transfer.upload_file(self, local, remote, mkdir_parents, progress=progress,
                                    options=options, **kwargs)

    def download_file(self, remote: str, local: LocalFile, *, progress: Progress = None,
                      options: CallOptions = None, **kwargs: Any) -> "File":
        """Downloads remote to local (path or binary file object); returns the File.
        progress(bytes_received, total) is called after each chunk. kwargs:
        offset, length, chunk_size."""
        return transfer.download_file(self, remote, local, progress=progress, options=options,
                                      **kwargs)

    @overload
    def open(self, remote: str, mode: Literal["r"] = ...,
             **kwargs: Any) -> "transfer._TextDownload": ...

    @overload
    def open(self, remote: str, mode: Literal["rb"],
             **kwargs: Any) -> "transfer._BufferedDownload": ...

    @overload
    def open(self, remote: str, mode: Literal["w"],
             **kwargs: Any) -> "transfer._TextUploadWriter": ...

    @overload
    def open(self, remote: str, mode: Literal["wb"],
             **kwargs: Any) -> "transfer.UploadWriter": ...

    def open(self, remote: str, mode: str = "r", **kwargs: Any) -> Any:
        """A streaming file object: "r"/"rb" download, "w"/"wb" upload on close().
        kwargs: encoding, errors, newline, mkdir_parents, chunk_size, queue_size,
        progress, options, and the upload spec options."""
        return transfer.open_remote(self, remote, mode, **kwargs)

    def start_resumable_upload(self, remote: str, mkdir_parents: bool = False, *,
                               options: CallOptions = None,
                               **spec_options: Any) -> "transfer.ResumableUpload":
        """Begins a resumable upload (TransferService.StartResumableUpload) and
        returns its handle: upload(source, ...) / resume(source) send data,
        query() tells the persisted size, cancel() abandons it. Keep
        upload.upload_id to continue from another process
        (client.resumable_upload(upload_id)). spec_options: expected_size,
        expected_md5, expected_crc32c, provided_mtime, overwrite."""
        return transfer.ResumableUpload.start(self, remote, mkdir_parents, options=options,
                                              **spec_options)

    def resumable_upload(self, upload_id: str) -> "transfer.ResumableUpload":
        """The handle of a resumable upload started earlier (by its upload_id)."""
        return transfer.ResumableUpload(self, upload_id)

    @property
    def transfer_service(self) -> Any:
        """The generated files.v1.TransferService stub, for raw access. Its
        failures are grpc.RpcError; files_gateway.errors.from_rpc_error types them."""
        return self._stub(_api.transfer_pb2_grpc.TransferServiceStub)

    def list_for(self, folder: str = "", params: Any = None,
                 options: CallOptions = None) -> Iterator["File"]:
        """Every entry of a folder (Folder.list_for, all pages), as File models."""
        return self.resource("Folder").list_for(folder, params, options=options).auto_paging_iter()

    # --- plumbing ----------------------------------------------------------

    def _stub(self, stub_class):
        stub = self._stubs.get(stub_class)
        if stub is None:
            with self._lock:
                stub = self._stubs.setdefault(stub_class, stub_class(self.channel))
        return stub

    def _call_kwargs(self, options, transfer_call=False):
        if options is None and not self.wait_for_ready:  # the common case, kept short
            return {"timeout": self.transfer_timeout if transfer_call else self.timeout,
                    "metadata": self.metadata}
        options = check_options(options)
        default = self.transfer_timeout if transfer_call else self.timeout
        kwargs = {"timeout": options.get("timeout", default),
                  "metadata": self.metadata + call_metadata(options)}
        wait = options.get("wait_for_ready", self.wait_for_ready)
        if wait:
            kwargs["wait_for_ready"] = True
        return kwargs

    def _call(self, callable_, request, options=None, *, transfer=False, translate=True):
        """Invokes a stub callable with this client's deadline and metadata;
        failures come back as typed errors (unless translate=False: streams
        translate them as they surface)."""
        kwargs = self._call_kwargs(options, transfer)
        if not translate:
            return callable_(request, **kwargs)
        try:
            return callable_(request, **kwargs)
        except grpc.RpcError as e:
            raise from_rpc_error(e) from None

    def _unary(self, method, request, options=None):
        stub = self._stub(method.stub_class)
        return self._call(getattr(stub, method.name), request, options)

    # --- lifecycle -------------------------------------------------------

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return "<files_gateway.Client %s>" % (self.target or self.channel)
