"""The asyncio client (grpc.aio), in the same shape as the blocking one:

    import files_gateway.aio

    async def main():
        async with files_gateway.aio.connect("127.0.0.1:50051") as client:
            user = await client.users.find(1)
            page = await client.users.list({"per_page": 100})
            async for u in page.auto_paging_iter():
                print(u.username)
            await client.upload_file("report.csv", "reports/report.csv", mkdir_parents=True)
            async with client.open("reports/report.csv", "rb") as f:
                data = await f.read()

Every action is a coroutine; models' per-object actions too (await
user.delete()). Transfers, resumable uploads, progress callbacks and errors
are those of the blocking client. Importing this module imports grpc.aio
(and asyncio); the blocking client never does.
"""
import asyncio
import codecs
import io
import os
import tempfile
from typing import (TYPE_CHECKING, Any, AsyncIterator, List, Literal, Optional, Sequence, Tuple,
                    overload)

import grpc
import grpc.aio

from files_gateway import _api, models
from files_gateway._gen.typed import AsyncResources
from files_gateway.client import (DEFAULT_TARGET, _MIB, LocalFile, Progress, call_metadata,
                                  channel_args, check_options, credentials)
from files_gateway.errors import (DataLossError, GatewayError, InvalidParameterError,
                                  from_rpc_error)
from files_gateway.resources import AsyncResource, CallOptions
from files_gateway.transfer import (CHUNK_SIZE, UploadStatus, _DataStub, _data_frame, _Source,
                                    upload_spec, _remaining_size)

if TYPE_CHECKING:
    from files_gateway._gen.typed import AsyncFile

__all__ = ["connect", "AsyncClient", "AsyncResumableUpload", "AsyncUploadWriter",
           "AsyncDownloadReader"]


def connect(target: str = DEFAULT_TARGET, *, tls: bool = False, root_certificates: Any = None,
            private_key: Any = None, certificate_chain: Any = None, token: Optional[str] = None,
            timeout: Optional[float] = 30.0, transfer_timeout: Optional[float] = None,
            keepalive_time: Optional[float] = None, keepalive_timeout: float = 20.0,
            keepalive_permit_without_calls: bool = False, max_message_bytes: int = 64 * _MIB,
            wait_for_ready: bool = False, channel_options: Sequence[Tuple[str, Any]] = (),
            metadata: Sequence[Tuple[str, str]] = ()) -> "AsyncClient":
    """An AsyncClient over a grpc.aio channel; the arguments are files_gateway.connect's."""
    options = channel_args(max_message_bytes, keepalive_time, keepalive_timeout,
                           keepalive_permit_without_calls, channel_options)
    creds = credentials(tls, root_certificates, private_key, certificate_chain)

    def make_channel():
        if creds is not None:
            return grpc.aio.secure_channel(target, creds, options=options)
        return grpc.aio.insecure_channel(target, options=options)
    call_md = list(metadata or ())
    if token:
        call_md.append(("authorization", "Bearer " + token))
    return AsyncClient(make_channel, timeout=timeout, transfer_timeout=transfer_timeout,
                       metadata=call_md, target=target, wait_for_ready=wait_for_ready)


class AsyncClient(AsyncResources):
    """Every Files.com resource as an attribute whose actions are coroutines,
    plus upload_file, download_file, open, list_for and resumable uploads.

    A grpc.aio channel belongs to the event loop it is first used in: connect()
    may run anywhere (at import time too), the channel is opened by the first
    call; use the client from that one loop."""

    is_async = True

    def __init__(self, channel, *, timeout=30.0, transfer_timeout=None, metadata=(),
                 target=None, wait_for_ready=False):
        # A grpc.aio channel, or a function making one on first use.
        self._channel = None if callable(channel) else channel
        self._make_channel = channel if callable(channel) else None
        self.timeout = timeout
        self.transfer_timeout = transfer_timeout
        self.metadata = tuple(metadata)
        self.target = target
        self.wait_for_ready = wait_for_ready
        self._resources = {}
        self._stubs = {}

    def resource(self, name: str) -> AsyncResource:
        """A resource by SDK name ("User") or attribute name ("users", "user")."""
        sdk_name = _api.resource_for_attribute(name)
        if sdk_name is None:
            raise AttributeError("no Files.com resource named %r" % (name,))
        res = self._resources.get(sdk_name)
        if res is None:
            res = self._resources.setdefault(
                sdk_name, AsyncResource(self, sdk_name, _api.resources()[sdk_name]))
        return res

    if not TYPE_CHECKING:
        def __getattr__(self, name):
            if name.startswith("_"):
                raise AttributeError(name)
            try:
                return self.resource(name)
            except AttributeError:
                raise AttributeError("%r is neither an AsyncClient attribute nor a Files.com "
                                     "resource" % (name,)) from None

    @property
    def resources(self) -> List[str]:
        return sorted(_api.resources())

    @property
    def channel(self) -> Any:
        """The grpc.aio channel (opened on first use, inside the running loop)."""
        if self._channel is None:
            self._channel = self._make_channel()
        return self._channel

    # --- plumbing ------------------------------------------------------------

    def _stub(self, stub_class):
        stub = self._stubs.get(stub_class)
        if stub is None:
            stub = self._stubs.setdefault(stub_class, stub_class(self.channel))
        return stub

    def _transfer(self):
        return self._stub(_api.transfer_pb2_grpc.TransferServiceStub)

    def _call_kwargs(self, options, transfer_call=False):
        if options is None and not self.wait_for_ready:  # the common case, kept short
            return {"timeout": self.transfer_timeout if transfer_call else self.timeout,
                    "metadata": self.metadata}
        options = check_options(options)
        default = self.transfer_timeout if transfer_call else self.timeout
        kwargs = {"timeout": options.get("timeout", default),
                  "metadata": self.metadata + call_metadata(options)}
        if options.get("wait_for_ready", self.wait_for_ready):
            kwargs["wait_for_ready"] = True
        return kwargs

    async def _call(self, callable_, request, options=None):
        kwargs = self._call_kwargs(options)
        try:
            return await callable_(request, **kwargs)
        except grpc.RpcError as e:
            raise from_rpc_error(e) from None

    async def _unary(self, method, request, options=None):
        return await self._call(getattr(self._stub(method.stub_class), method.name), request,
                                options)

    # --- transfers -----------------------------------------------------------

    async def upload_file(self, local: LocalFile, remote: str, mkdir_parents: bool = False, *,
                          progress: Progress = None, options: CallOptions = None,
                          chunk_size: int = CHUNK_SIZE, **spec_options: Any) -> "AsyncFile":
        """Uploads a local file (path or binary file object); returns the File."""
        owned = not hasattr(local, "read")
        f = open(local, "rb") if owned else local
        try:
            if "expected_size" not in spec_options:
                spec_options["expected_size"] = _remaining_size(f)
            spec = upload_spec(remote, mkdir_parents, **spec_options)
            total = spec.expected_size if spec.HasField("expected_size") else None
            pb = _api.transfer_pb2
            loop = asyncio.get_running_loop()

            async def requests():
                yield pb.UploadRequest(spec=spec)
                sent = 0
                while True:
                    data = await loop.run_in_executor(None, f.read, int(chunk_size))
                    if not data:
                        return
                    yield _data_frame(data)
                    sent += len(data)
                    if progress is not None:
                        progress(sent, total)

            response = await _stream_unary(self, requests(), options)
            return models.wrap(response.file, self)
        finally:
            if owned:
                f.close()

    async def download_file(self, remote: str, local: LocalFile, *, progress: Progress = None,
                            options: CallOptions = None, offset: int = 0, length: int = 0,
                            chunk_size: int = 0) -> "AsyncFile":
        """Downloads remote to local (path or binary file object); returns the
        File. A path is written through a temporary file and renamed at the end."""
        reader = AsyncDownloadReader(self, remote, offset=offset, length=length,
                                     chunk_size=chunk_size, options=options, progress=progress)
        async with reader:
            if hasattr(local, "write"):
                # io's own file objects take memoryviews (no copy); any other
                # writer gets bytes, as it always did.
                chunks = reader._views() if isinstance(local, io.IOBase) else reader.chunks()
                async for data in chunks:
                    local.write(data)
                return reader.metadata
            local = os.fspath(local)
            folder = os.path.dirname(os.path.abspath(local))
            fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(local), suffix=".part",
                                       dir=folder)
            try:
                with os.fdopen(fd, "wb") as out:
                    async for data in reader._views():
                        out.write(data)
                os.replace(tmp, local)
            except BaseException:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise
            return reader.metadata

    @overload
    def open(self, remote: str, mode: Literal["r", "rb"] = ...,
             **kwargs: Any) -> "AsyncDownloadReader": ...

    @overload
    def open(self, remote: str, mode: Literal["w", "wb"],
             **kwargs: Any) -> "AsyncUploadWriter": ...

    def open(self, remote: str, mode: str = "rb", *, mkdir_parents: bool = False,
             chunk_size: int = CHUNK_SIZE, queue_size: int = 4, progress: Progress = None,
             options: CallOptions = None, **spec_options: Any) -> Any:
        """An async file object: "rb"/"r" read a Download stream, "wb"/"w" feed an
        Upload stream (close() commits; an exception in `async with`, or
        abort(), commits nothing). Use `async with client.open(...) as f` or
        `f = await client.open(...)`."""
        if mode in ("rb", "r"):
            if spec_options or mkdir_parents:
                raise InvalidParameterError("upload options given to open(%r, %r)" % (remote,
                                                                                      mode))
            return AsyncDownloadReader(self, remote, options=options, progress=progress,
                                       text=(mode == "r"))
        if mode in ("wb", "w"):
            spec = upload_spec(remote, mkdir_parents, **spec_options)
            return AsyncUploadWriter(self, spec, chunk_size=chunk_size, queue_size=queue_size,
                                     options=options, progress=progress, text=(mode == "w"))
        raise ValueError("mode must be 'r', 'rb', 'w' or 'wb', not %r" % (mode,))

    async def list_for(self, folder: str = "", params: Any = None,
                       options: CallOptions = None) -> AsyncIterator["AsyncFile"]:
        """Every entry of a folder (Folder.list_for, all pages): `async for`."""
        page = await self.resource("Folder").list_for(folder, params, options=options)
        async for item in page.auto_paging_iter():
            yield item

    async def start_resumable_upload(self, remote: str, mkdir_parents: bool = False, *,
                                     options: CallOptions = None,
                                     **spec_options: Any) -> "AsyncResumableUpload":
        """Begins a resumable upload; see files_gateway.Client.start_resumable_upload."""
        pb = _api.transfer_pb2
        spec = upload_spec(remote, mkdir_parents, **spec_options)
        response = await self._call(self._transfer().StartResumableUpload,
                                    pb.StartResumableUploadRequest(spec=spec), options)
        return AsyncResumableUpload(self, response.upload_id)

    def resumable_upload(self, upload_id: str) -> "AsyncResumableUpload":
        return AsyncResumableUpload(self, upload_id)

    # --- lifecycle -----------------------------------------------------------

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    def __repr__(self):
        return "<files_gateway.aio.AsyncClient %s>" % (self.target or self._channel)


async def _stream_unary(client, requests, options):
    """Runs an Upload stream; typed errors; a cancelled caller cancels the call."""
    # Upload and Download with transfer.py's codec: data framed in one copy, no
    # protobuf copies of the chunks.
    call = client._stub(_DataStub).Upload(requests, **client._call_kwargs(options, True))
    try:
        return await call
    except grpc.RpcError as e:
        raise from_rpc_error(e) from None
    except BaseException:
        call.cancel()
        raise


class AsyncDownloadReader:
    """An async reader over a Download stream: `await read(n)`, `async for chunk
    in f.chunks()`, metadata (the File), cancel()."""

    def __init__(self, client, remote, *, offset=0, length=0, chunk_size=0, options=None,
                 progress=None, text=False):
        self._client = client
        self._request = _api.transfer_pb2.DownloadRequest(
            path=os.fspath(remote), offset=int(offset), length=int(length),
            chunk_size=int(chunk_size))
        self.remote = self._request.path
        self._options = options
        self._progress = progress
        self._decoder = codecs.getincrementaldecoder("utf-8")() if text else None
        self._call = None
        self._buf = b""
        self._received = 0
        self._eof = False
        self.metadata = None
        self._total = None

    async def _start(self):
        if self._call is not None:
            return self
        self._call = self._client._stub(_DataStub).Download(
            self._request, **self._client._call_kwargs(self._options, True))
        first = await self._next()
        if first is None:
            raise DataLossError("the download of %s ended without its metadata" % self.remote)
        meta = first[0]
        if meta.HasField("metadata"):
            self.metadata = models.wrap(meta.metadata, self._client)
            if meta.metadata.HasField("size"):
                self._total = max(0, meta.metadata.size - self._request.offset)
        if self._request.length:
            self._total = self._request.length
        self._take(first)
        return self

    def __await__(self):
        return self._start().__await__()

    async def __aenter__(self):
        return await self._start()

    async def __aexit__(self, *exc):
        self.cancel()

    async def _next(self):
        try:
            msg = await self._call.read()
        except grpc.RpcError as e:
            self._eof = True
            raise from_rpc_error(e) from None
        if msg is grpc.aio.EOF:
            self._eof = True
            whole = self._request.offset == 0 and self._request.length == 0
            if whole and self.metadata is not None and self._received != self.metadata.size:
                raise DataLossError("the download of %s ended after %d of %d bytes" % (
                    self.remote, self._received, self.metadata.size))
            return None
        return msg

    def _check(self, item):
        """The message's data (a memoryview) once its offset is checked and counted."""
        msg, view = item  # see transfer._parse_download_response
        if view and msg.offset != self._request.offset + self._received:
            self.cancel()
            raise DataLossError("the download of %s skipped from offset %d to %d" % (
                self.remote, self._request.offset + self._received, msg.offset))
        if view:
            self._received += len(view)
            if self._progress is not None:
                self._progress(self._received, self._total)
        return view

    def _take(self, item):
        view = self._check(item)
        if view:
            data = view.tobytes()  # the one copy of the chunk
            self._buf = self._buf + data if self._buf else data

    async def _views(self):
        # The data as memoryviews into the received messages: what
        # download_file writes into io file objects.
        await self._start()
        if self._buf:
            data, self._buf = self._buf, b""
            yield memoryview(data)
        while not self._eof:
            item = await self._next()
            if item is None:
                return
            view = self._check(item)
            if view:
                yield view

    async def chunks(self) -> AsyncIterator[bytes]:
        """The remaining data, one bytes object per stream message."""
        await self._start()
        while True:
            if self._buf:
                data, self._buf = self._buf, b""
                yield data
            if self._eof:
                return
            msg = await self._next()
            if msg is None:
                return
            self._take(msg)

    async def read(self, n: int = -1) -> Any:
        """Up to n bytes (all that is left when n < 0); str in mode "r"."""
        await self._start()
        while (n < 0 or len(self._buf) < n) and not self._eof:
            msg = await self._next()
            if msg is None:
                break
            self._take(msg)
        if n < 0:
            data, self._buf = self._buf, b""
        else:
            data, self._buf = self._buf[:n], self._buf[n:]
        if self._decoder is not None:
            return self._decoder.decode(data, final=self._eof and not self._buf)
        return data

    @property
    def bytes_received(self) -> int:
        return self._received

    def cancel(self) -> None:
        if self._call is not None and not self._eof:
            self._call.cancel()


_EOF = object()


class AsyncUploadWriter:
    """An async writer feeding an Upload stream through a bounded queue:
    `await write(b)`, `await close()` commits (file: the File), `await abort()`
    or an exception inside `async with` cancels and commits nothing."""

    def __init__(self, client, spec, *, chunk_size=CHUNK_SIZE, queue_size=4, options=None,
                 progress=None, text=False):
        if int(chunk_size) <= 0:
            raise InvalidParameterError("chunk_size must be positive")
        self._client = client
        self._spec = spec
        self._chunk = int(chunk_size)
        self._queue_size = max(1, int(queue_size))
        self._options = options
        self._progress = progress
        self._text = text
        self._buf = bytearray()
        self._queue = None
        self._call = None
        self.remote = spec.path
        self.file = None
        self.closed = False
        self.aborted = False

    async def _start(self):
        if self._call is not None:
            return self
        self._queue = asyncio.Queue(self._queue_size)
        pb = _api.transfer_pb2
        queue, progress, spec = self._queue, self._progress, self._spec

        async def requests():
            yield pb.UploadRequest(spec=spec)
            sent = 0
            while True:
                item = await queue.get()
                if item is _EOF:
                    return
                frame, size = item  # framed by write()
                yield frame
                sent += size
                if progress is not None:
                    progress(sent, None)

        self._call = self._client._stub(_DataStub).Upload(
            requests(), **self._client._call_kwargs(self._options, True))
        return self

    def __await__(self):
        return self._start().__await__()

    async def __aenter__(self):
        return await self._start()

    async def __aexit__(self, exc_type, exc, tb):
        if exc_type is not None:
            await self.abort()
        else:
            await self.close()

    async def _put(self, item):
        while True:
            if self._call.done():
                raise await self._failure()
            try:
                await asyncio.wait_for(self._queue.put(item), 0.1)
                return
            except asyncio.TimeoutError:
                continue

    async def _failure(self):
        try:
            await self._call
        except grpc.RpcError as e:
            return from_rpc_error(e)
        except asyncio.CancelledError:
            return from_rpc_error(grpc.FutureCancelledError())
        return GatewayError("the upload of %s ended before it was closed" % self.remote)

    async def write(self, b: Any) -> int:
        await self._start()
        if self.closed:
            raise ValueError("write to a closed upload")
        if isinstance(b, str):
            if not self._text:
                raise TypeError("write() argument must be bytes-like, not str (open with 'w')")
            b = b.encode("utf-8")
        mv = memoryview(b)
        if mv.ndim != 1 or mv.itemsize != 1:
            mv = mv.cast("B")
        n, pos, chunk = len(mv), 0, self._chunk
        if self._buf:
            pos = min(chunk - len(self._buf), n)
            self._buf += mv[:pos]
            if len(self._buf) == chunk:
                await self._put((_data_frame(self._buf), chunk))
                self._buf = bytearray()
        while n - pos >= chunk:  # whole chunks framed straight from b
            await self._put((_data_frame(mv[pos:pos + chunk]), chunk))
            pos += chunk
        self._buf += mv[pos:]
        return len(b)

    async def close(self) -> None:
        """Sends what is left, commits, and waits for the File (self.file)."""
        if self.closed:
            return
        await self._start()
        try:
            if self._buf:
                await self._put((_data_frame(self._buf), len(self._buf)))
                self._buf = bytearray()
            await self._put(_EOF)
            try:
                response = await self._call
            except grpc.RpcError as e:
                raise from_rpc_error(e) from None
            self.file = models.wrap(response.file, self._client)
        finally:
            self.closed = True

    async def abort(self) -> None:
        """Cancels the upload; nothing is committed."""
        if self.closed:
            return
        self.closed = self.aborted = True
        if self._call is not None:
            self._call.cancel()


class AsyncResumableUpload:
    """files_gateway.ResumableUpload for the asyncio client (same methods, awaited)."""

    def __init__(self, client, upload_id):
        self._client = client
        self.upload_id = upload_id

    def _status(self, response):
        file = models.wrap(response.file, self._client) if response.HasField("file") else None
        complete = bool(getattr(response, "complete", False)) or file is not None
        return UploadStatus(response.persisted_size, complete, file)

    async def query(self, options: CallOptions = None) -> UploadStatus:
        pb = _api.transfer_pb2
        return self._status(await self._client._call(
            self._client._transfer().QueryUploadStatus,
            pb.QueryUploadStatusRequest(upload_id=self.upload_id), options))

    async def cancel(self, options: CallOptions = None) -> None:
        pb = _api.transfer_pb2
        await self._client._call(self._client._transfer().CancelResumableUpload,
                                 pb.CancelResumableUploadRequest(upload_id=self.upload_id),
                                 options)

    async def upload(self, source: Any, *, offset: Optional[int] = None,
                     length: Optional[int] = None, finish: bool = True, progress: Progress = None,
                     chunk_size: int = CHUNK_SIZE, options: CallOptions = None) -> UploadStatus:
        if offset is None:
            status = await self.query(options)
            if status.complete:
                return status
            offset = status.persisted_size
            if offset and not _Source.positions_itself(source):
                raise InvalidParameterError(
                    "the upload goes on at offset %d but this source cannot seek: position "
                    "it there and pass offset=%d" % (offset, offset))
        offset = int(offset)
        if offset < 0 or (length is not None and int(length) < 0):
            raise InvalidParameterError("offset and length must not be negative")
        src = _Source(source, offset)
        pb = _api.transfer_pb2
        upload_id = self.upload_id

        async def requests():
            yield pb.UploadRequest(upload_id=upload_id, write_offset=offset)
            at = offset
            for data in src.chunks(int(chunk_size), length):
                yield _data_frame(data)
                at += len(data)
                if progress is not None:
                    progress(at, src.total)
            if finish:
                yield pb.UploadRequest(finish_upload=True)

        try:
            response = await _stream_unary(self._client, requests(), options)
        finally:
            src.close()
        return self._status(response)

    async def resume(self, source: Any, **kwargs: Any) -> UploadStatus:
        kwargs.pop("offset", None)
        return await self.upload(source, **kwargs)

    def __repr__(self):
        return "<AsyncResumableUpload %s>" % self.upload_id
