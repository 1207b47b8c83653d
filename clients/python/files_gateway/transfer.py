"""File content over files.v1.TransferService (see proto/files/v1/transfer.proto).

Upload is a client stream: a first message {spec: {path, mkdir_parents, ...}},
then data chunks of about 1 MiB; half-closing commits, cancelling commits
nothing. Download is a server stream: the first message carries the File
metadata, the rest the data in order, each with its offset.

    client.upload_file("report.csv", "reports/2026/report.csv", mkdir_parents=True)
    client.download_file("reports/2026/report.csv", "copy.csv")
    with client.open("notes/today.txt", "w") as f:   # streamed as you write
        f.write("hello\\n")
    with client.open("notes/today.txt") as f:        # streamed as you read
        print(f.read())

    up = client.start_resumable_upload("big.iso", expected_size=size)
    up.upload("big.iso", length=64 << 20, finish=False)  # a first part...
    up.resume("big.iso")      # ...later: from the persisted offset to the end
    up.cancel()               # or abandon it: nothing appears

Progress: upload_file, download_file, open and ResumableUpload.upload take
progress=callable(done_bytes, total_bytes_or_None), called after each chunk
(for uploads from the thread that feeds gRPC).

Memory stays bounded whatever the file size: a writer holds at most
queue_size + 1 chunks, a reader one message and one buffer.
"""
import datetime
import io
import os
import queue
import stat
import tempfile
import threading
from typing import Any, Iterator, Optional

import grpc

from files_gateway import _api, models
from files_gateway.errors import (DataLossError, Error, GatewayError, InvalidParameterError,
                                  from_rpc_error)

__all__ = ["CHUNK_SIZE", "upload_file", "download_file", "open_remote", "UploadWriter",
           "DownloadReader", "upload_spec", "ResumableUpload", "UploadStatus"]

CHUNK_SIZE = 1 << 20
_EOF = object()
_POLL = 0.1  # seconds between checks for a call that ended while we wait


def upload_spec(remote, mkdir_parents=False, provided_mtime=None, expected_size=None,
                expected_md5=None, expected_crc32c=None, overwrite=True):
    """The UploadSpec message for these options (overwrite=False: fail if the file exists)."""
    pb = _api.transfer_pb2
    spec = pb.UploadSpec(path=os.fspath(remote), mkdir_parents=bool(mkdir_parents))
    if isinstance(provided_mtime, datetime.datetime):
        if provided_mtime.tzinfo is None:
            provided_mtime = provided_mtime.replace(tzinfo=datetime.timezone.utc)
        provided_mtime = provided_mtime.isoformat()
    if provided_mtime:
        spec.provided_mtime = provided_mtime
    if expected_size is not None:
        spec.expected_size = int(expected_size)
    if expected_md5:
        spec.expected_md5 = expected_md5.lower()
    if expected_crc32c is not None:
        spec.expected_crc32c = int(expected_crc32c)
    spec.overwrite = (pb.OVERWRITE_POLICY_UNSPECIFIED if overwrite
                      else pb.OVERWRITE_POLICY_FAIL_IF_EXISTS)
    return spec


def _stub(client):
    return client._stub(_api.transfer_pb2_grpc.TransferServiceStub)


# --- the data messages' wire form ------------------------------------------------
#
# Upload and Download carry the file in a bytes field. Going through the
# generated message classes copies every chunk twice more than needed (into the
# message, then out of it on SerializeToString or on each read of .data), so
# the transfer helpers call these two methods with their own codec: a data
# chunk is framed as a serialized UploadRequest{data} in one copy, and a
# DownloadResponse's data is a memoryview into the bytes gRPC received, the
# rest of the message (metadata, offset) parsed by protobuf. The wire format is
# the same; other messages (spec, upload_id, finish_upload) are plain protobuf.

_UPLOAD_DATA_KEY = b"\x22"   # UploadRequest.data: field 4, length-delimited
_DOWNLOAD_DATA_FIELD = 3      # DownloadResponse.data
_NO_DATA = memoryview(b"")


def _varint(n):
    out = bytearray()
    while n > 0x7f:
        out.append((n & 0x7f) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _data_frame(data):
    """UploadRequest{data: data}, serialized: the bytes gRPC sends as is."""
    return b"".join((_UPLOAD_DATA_KEY, _varint(len(data)), data))


def _serialize_upload_request(request):
    # bytes: a chunk already framed by _data_frame; else an UploadRequest.
    return request if type(request) is bytes else request.SerializeToString()


def _read_varint(raw, pos):
    result = shift = 0
    while True:
        b = raw[pos]
        pos += 1
        result |= (b & 0x7f) << shift
        if b < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _parse_download_response(raw):
    """(DownloadResponse without its data, the data as a memoryview of raw)."""
    pb = _api.transfer_pb2
    data, cuts, pos, end = None, [], 0, len(raw)
    try:
        while pos < end:
            start = pos
            key, pos = _read_varint(raw, pos)
            wire = key & 7
            if wire == 0:
                _, pos = _read_varint(raw, pos)
            elif wire == 2:
                size, pos = _read_varint(raw, pos)
                if key >> 3 == _DOWNLOAD_DATA_FIELD:
                    data = (pos, pos + size)  # the last one wins, as in protobuf
                    cuts.append((start, pos + size))
                pos += size
            elif wire == 1:
                pos += 8
            elif wire == 5:
                pos += 4
            else:
                raise ValueError("wire type %d" % wire)
        if pos != end:
            raise ValueError("truncated")
    except (ValueError, IndexError):
        # Unusual or broken: protobuf decides (and raises DecodeError if broken).
        msg = pb.DownloadResponse.FromString(raw)
        return msg, memoryview(msg.data)
    if data is None:
        return pb.DownloadResponse.FromString(raw), _NO_DATA
    rest, at = [], 0
    for a, b in cuts:
        rest.append(raw[at:a])
        at = b
    rest.append(raw[at:])
    msg = pb.DownloadResponse.FromString(b"".join(rest))
    return msg, memoryview(raw)[data[0]:data[1]]


class _DataStub:
    """TransferService's Upload and Download with the codec above."""

    def __init__(self, channel):
        pb = _api.transfer_pb2
        service = "/" + pb.DESCRIPTOR.services_by_name["TransferService"].full_name
        self.Upload = channel.stream_unary(
            service + "/Upload", request_serializer=_serialize_upload_request,
            response_deserializer=pb.UploadResponse.FromString)
        self.Download = channel.unary_stream(
            service + "/Download", request_serializer=pb.DownloadRequest.SerializeToString,
            response_deserializer=_parse_download_response)


def _data_stub(client):
    return client._stub(_DataStub)


def _chunks_of(reader, chunk_size):
    while True:
        data = reader.read(chunk_size)
        if not data:
            return
        yield data


def _remaining_size(f):
    """Bytes left in a regular file from its position, or None when unknowable."""
    try:
        st = os.fstat(f.fileno())
        if stat.S_ISREG(st.st_mode):
            return max(0, st.st_size - f.tell())
    except (OSError, AttributeError, ValueError, io.UnsupportedOperation):
        pass
    return None


def upload_file(client, local, remote, mkdir_parents=False, *, chunk_size=CHUNK_SIZE,
                options=None, progress=None, **spec_options):
    """Uploads a local file (a path or a binary file object) to remote; returns
    the File model. spec_options: provided_mtime, expected_md5, expected_crc32c,
    overwrite (see upload_spec)."""
    owned = not hasattr(local, "read")
    f = open(local, "rb") if owned else local
    try:
        if "expected_size" not in spec_options:
            # Lets the gateway plan its parts and refuse a short stream.
            spec_options["expected_size"] = _remaining_size(f)
        spec = upload_spec(remote, mkdir_parents, **spec_options)
        pb = _api.transfer_pb2
        read_errors = []

        total = spec.expected_size if spec.HasField("expected_size") else None

        def requests():
            yield pb.UploadRequest(spec=spec)
            sent = 0
            try:
                for data in _chunks_of(f, chunk_size):
                    yield _data_frame(data)
                    sent += len(data)
                    if progress is not None:
                        progress(sent, total)
            except Exception as e:  # gRPC cancels the call; the caller gets e itself
                read_errors.append(e)
                raise

        future = client._call(_data_stub(client).Upload.future, requests(), options,
                              transfer=True, translate=False)
        try:
            response = future.result()
        except (grpc.RpcError, grpc.FutureCancelledError) as e:
            if read_errors:
                raise read_errors[0] from None
            raise from_rpc_error(e) from None
        except BaseException:
            future.cancel()  # e.g. KeyboardInterrupt: abandon the upload, commit nothing
            raise
        return models.wrap(response.file, client)
    finally:
        if owned:
            f.close()


def download_file(client, remote, local, *, offset=0, length=0, chunk_size=0, options=None,
                  progress=None):
    """Downloads remote into local (a path, or a binary file object); returns
    the File model. A path is written through a temporary file beside it and
    renamed at the end, so a failed download leaves no partial file."""
    reader = DownloadReader(client, remote, offset=offset, length=length, chunk_size=chunk_size,
                            options=options, progress=progress)
    with reader:
        if hasattr(local, "write"):
            # io's own file objects take the data as memoryviews (no copy);
            # any other writer gets bytes, as it always did.
            chunks = reader._views() if isinstance(local, io.IOBase) else reader.chunks()
            for data in chunks:
                local.write(data)
            return reader.metadata
        local = os.fspath(local)
        folder = os.path.dirname(os.path.abspath(local))
        fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(local), suffix=".part",
                                   dir=folder)
        try:
            with os.fdopen(fd, "wb") as out:
                for data in reader._views():
                    out.write(data)
            os.replace(tmp, local)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        return reader.metadata


class _Feed:
    """What gRPC's request-consumer thread shares with an UploadWriter. It must
    not reference the writer itself, or a writer dropped without close() would
    stay alive (and its upload open) as long as the call."""

    def __init__(self, queue_size, progress=None):
        self.queue = queue.Queue(maxsize=max(1, int(queue_size)))
        self.ended = threading.Event()
        self.aborted = False
        self.progress = progress
        self.sent = 0

    def on_done(self, _future):
        self.ended.set()

    def requests(self, spec):
        pb = _api.transfer_pb2
        yield pb.UploadRequest(spec=spec)
        while True:
            try:
                item = self.queue.get(timeout=_POLL)
            except queue.Empty:
                # abort() cancels the call before it sets aborted, so ending the
                # iterator here can never half-close (commit) an aborted upload.
                if self.aborted or self.ended.is_set():
                    return
                continue
            if item is _EOF:
                return
            frame, size = item
            yield frame
            self.sent += size
            if self.progress is not None:
                self.progress(self.sent, None)


class UploadWriter(io.BufferedIOBase):
    """A binary file object whose writes stream to TransferService.Upload.

    The stream runs in the background, fed through a bounded queue: write()
    blocks while queue_size chunks wait, so memory stays bounded and a slow
    gateway slows the writer. close() commits and waits for the result
    (self.file); leaving a with-block on an exception, abort() or garbage
    collection without close() cancel the upload and nothing is committed.
    """

    def __init__(self, client, spec, *, chunk_size=CHUNK_SIZE, queue_size=4, options=None,
                 progress=None):
        super().__init__()
        self._chunk = int(chunk_size)
        if self._chunk <= 0:
            raise InvalidParameterError("chunk_size must be positive")
        self._feed = _Feed(queue_size, progress)
        self._buf = None  # a chunk being filled by small writes (allocated once)
        self._fill = 0
        self._written = 0
        self.remote = spec.path
        self.file = None     # the File model, once committed
        self.result = None   # the UploadResponse (file, md5, crc32c), once committed
        self._client = client
        self._future = client._call(_data_stub(client).Upload.future,
                                    self._feed.requests(spec), options, transfer=True,
                                    translate=False)
        self._future.add_done_callback(self._feed.on_done)

    @property
    def aborted(self):
        """True once the upload was cancelled (abort(), an exception, or GC)."""
        return self._feed.aborted

    def _failure(self):
        try:
            self._future.result(timeout=0)
        except (grpc.RpcError, grpc.FutureCancelledError) as e:
            return from_rpc_error(e)
        return GatewayError("the upload of %s ended before it was closed" % self.remote)

    def _put(self, item):
        while True:
            if self._feed.ended.is_set():
                raise self._failure()
            try:
                self._feed.queue.put(item, timeout=_POLL)
                return
            except queue.Full:
                continue

    def writable(self):
        return True

    def write(self, b: Any) -> int:
        if self.closed:
            raise ValueError("write to a closed upload")
        if isinstance(b, str):
            raise TypeError("write() argument must be bytes-like, not str (open with 'w' for text)")
        mv = memoryview(b)
        if mv.ndim != 1 or mv.itemsize != 1:
            mv = mv.cast("B")
        n, pos, chunk = len(mv), 0, self._chunk
        if self._fill:
            pos = min(chunk - self._fill, n)
            self._buf[self._fill:self._fill + pos] = mv[:pos]
            self._fill += pos
            if self._fill == chunk:
                self._send_buffer()
        while n - pos >= chunk:  # whole chunks straight from the caller's buffer
            self._put((_data_frame(mv[pos:pos + chunk]), chunk))
            pos += chunk
        if pos < n:
            if self._buf is None:
                self._buf = bytearray(chunk)
            self._buf[:n - pos] = mv[pos:]
            self._fill = n - pos
        self._written += n
        return n

    def _send_buffer(self):
        fill, self._fill = self._fill, 0
        self._put((_data_frame(memoryview(self._buf)[:fill]), fill))

    def tell(self) -> int:
        return self._written

    def flush(self) -> None:
        if self._feed.ended.is_set() and not self.closed and self.result is None:
            raise self._failure()

    def close(self) -> None:
        """Sends what is left, commits, and waits for the File (self.file)."""
        if self.closed:
            return
        try:
            if self._fill:
                self._send_buffer()
            self._put(_EOF)
            try:
                self.result = self._future.result()
            except (grpc.RpcError, grpc.FutureCancelledError) as e:
                raise from_rpc_error(e) from None
            self.file = models.wrap(self.result.file, self._client)
        finally:
            super().close()

    def abort(self) -> None:
        """Cancels the upload; nothing is committed."""
        if self.closed:
            return
        self._future.cancel()
        self._feed.aborted = True
        super().close()

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.abort()
        else:
            self.close()

    def __del__(self):
        if not self.closed:
            self.abort()


class _TextUploadWriter(io.TextIOWrapper):
    """Text mode over UploadWriter, with the same abort-on-exception rule."""

    @property
    def file(self) -> Any:
        return self.buffer.file

    def abort(self) -> None:
        self.buffer.abort()

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
            return
        self.buffer.abort()
        try:
            super().close()
        except (ValueError, Error):
            pass

    def __del__(self):
        if not self.buffer.closed:
            self.buffer.abort()


class DownloadReader(io.RawIOBase):
    """A raw binary file object reading a TransferService.Download stream.

    Opening it starts the stream and reads the metadata message (so a missing
    file fails here, as NotFoundError); metadata is the File model. close()
    before the end, or cancel(), cancels the stream.
    """

    def __init__(self, client, remote, *, offset=0, length=0, chunk_size=0, options=None,
                 progress=None):
        super().__init__()
        self._progress = progress
        request = _api.transfer_pb2.DownloadRequest(path=os.fspath(remote), offset=int(offset),
                                                    length=int(length),
                                                    chunk_size=int(chunk_size))
        self.remote = request.path
        self._start = request.offset
        self._whole = request.offset == 0 and request.length == 0
        self._received = 0
        self._pending = _NO_DATA
        self._eof = False
        self._call = client._call(_data_stub(client).Download, request, options, transfer=True,
                                  translate=False)
        first = self._next()
        if first is None:
            raise DataLossError("the download of %s ended without its metadata" % self.remote)
        meta = first[0]
        self.metadata = models.wrap(meta.metadata, client) if meta.HasField("metadata") else None
        self._total = request.length or None
        if self._total is None and self.metadata is not None and meta.metadata.HasField("size"):
            self._total = max(0, meta.metadata.size - request.offset)
        self._take(first)

    def _next(self):
        try:
            return next(self._call)
        except StopIteration:
            return None
        except grpc.RpcError as e:
            self._eof = True
            raise from_rpc_error(e) from None

    def _take(self, item):
        msg, data = item  # see _parse_download_response
        if data and msg.offset != self._start + self._received:
            self.cancel()
            raise DataLossError("the download of %s skipped from offset %d to %d" % (
                self.remote, self._start + self._received, msg.offset))
        self._received += len(data)
        self._pending = data
        if data and self._progress is not None:
            self._progress(self._received, self._total)

    def _fill(self):
        """True when there is pending data, False at the end of the stream."""
        while not self._pending:
            if self._eof:
                return False
            msg = self._next()
            if msg is None:
                self._eof = True
                self._check_complete()
                return False
            self._take(msg)
        return True

    def _check_complete(self):
        size = self.metadata.size if self.metadata is not None else None
        if self._whole and size is not None and self._received != size:
            # A whole-file read must deliver every byte (the gateway checks too).
            raise DataLossError("the download of %s ended after %d of %d bytes" % (
                self.remote, self._received, size))

    def readable(self):
        return True

    def readinto(self, b):
        if self.closed:
            raise ValueError("read from a closed download")
        if not self._fill():
            return 0
        n = min(len(b), len(self._pending))
        b[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def chunks(self) -> Iterator[bytes]:
        """The remaining data, one bytes object per stream message."""
        for view in self._views():
            yield view.tobytes()

    def _views(self):
        # Memoryviews into the received messages: what download_file writes.
        while self._fill():
            data, self._pending = self._pending, _NO_DATA
            yield data

    @property
    def bytes_received(self) -> int:
        return self._received

    def cancel(self) -> None:
        """Cancels the stream; later reads raise CancelledError."""
        self._call.cancel()

    def close(self):
        if not self.closed and not self._eof:
            self._call.cancel()
        super().close()


class _BufferedDownload(io.BufferedReader):
    """What open(path, "rb") returns: buffered, with metadata and cancel()."""

    @property
    def metadata(self) -> Any:
        return self.raw.metadata

    def cancel(self) -> None:
        self.raw.cancel()


class _TextDownload(io.TextIOWrapper):
    """What open(path, "r") returns: text, with metadata and cancel()."""

    @property
    def metadata(self) -> Any:
        return self.buffer.metadata

    def cancel(self) -> None:
        self.buffer.cancel()


def open_remote(client, remote, mode="r", *, encoding="utf-8", errors=None, newline=None,
                mkdir_parents=False, chunk_size=CHUNK_SIZE, queue_size=4, options=None,
                progress=None, **spec_options):
    """A streaming file object for remote: "r"/"rb" read it, "w"/"wb" (re)write it."""
    if mode in ("rb", "r"):
        if spec_options or mkdir_parents:
            raise InvalidParameterError("upload options given to open(%r, %r)" % (remote, mode))
        raw = DownloadReader(client, remote, options=options, progress=progress)
        buffered = _BufferedDownload(raw, buffer_size=max(io.DEFAULT_BUFFER_SIZE,
                                                          min(int(chunk_size), CHUNK_SIZE)))
        if mode == "rb":
            return buffered
        return _TextDownload(buffered, encoding=encoding, errors=errors, newline=newline)
    if mode in ("wb", "w"):
        spec = upload_spec(remote, mkdir_parents, **spec_options)
        writer = UploadWriter(client, spec, chunk_size=chunk_size, queue_size=queue_size,
                              options=options, progress=progress)
        if mode == "wb":
            return writer
        return _TextUploadWriter(writer, encoding=encoding, errors=errors, newline=newline)
    raise ValueError("mode must be 'r', 'rb', 'w' or 'wb', not %r" % (mode,))



# --- resumable uploads --------------------------------------------------------

class UploadStatus:
    """Where a resumable upload stands: persisted_size (bytes durably stored
    upstream: whole parts), complete, and file (the File model once committed)."""

    __slots__ = ("persisted_size", "complete", "file")

    persisted_size: int
    complete: bool
    file: Any

    def __init__(self, persisted_size: int, complete: bool, file: Any = None) -> None:
        self.persisted_size = persisted_size
        self.complete = complete
        self.file = file

    def __repr__(self):
        return "<UploadStatus persisted_size=%d complete=%s>" % (self.persisted_size,
                                                                 self.complete)


class _Source:
    """What ResumableUpload.upload reads: a path, a binary file object, bytes,
    or an iterable of bytes (already positioned at the offset)."""

    def __init__(self, source, offset):
        self.owned = None
        self.total = None
        if isinstance(source, (bytes, bytearray, memoryview)):
            view = memoryview(source).cast("B")
            self.total = len(view)
            self._reader = io.BytesIO(view[offset:].tobytes()) if offset else io.BytesIO(view)
        elif isinstance(source, (str, os.PathLike)):
            self.owned = self._reader = open(source, "rb")
            self.total = os.fstat(self._reader.fileno()).st_size
            self._reader.seek(offset)
        elif hasattr(source, "read"):
            self._reader = source
            if _seekable(source):
                start = source.tell()
                self.total = _remaining_size(source)
                self.total = None if self.total is None else start + self.total
                source.seek(offset)
        elif isinstance(source, (str, int, float)) or not hasattr(source, "__iter__"):
            raise InvalidParameterError(
                "source must be a path, a binary file object, bytes or an iterable of bytes, "
                "not %s" % type(source).__name__)
        else:
            self._reader = None
            self._iter = iter(source)

    @staticmethod
    def positions_itself(source):
        """True when _Source can move source to any offset (path, bytes, a
        seekable file); an iterable or a pipe must already stand there."""
        if isinstance(source, (bytes, bytearray, memoryview, str, os.PathLike)):
            return True
        return hasattr(source, "read") and _seekable(source)

    def chunks(self, chunk_size, length):
        left = length
        if self._reader is not None:
            while left is None or left > 0:
                data = self._reader.read(chunk_size if left is None else min(chunk_size, left))
                if not data:
                    return
                if left is not None:
                    left -= len(data)
                yield data
            return
        for data in self._iter:
            if left is not None:
                data = data[:left]
                left -= len(data)
            if data:
                yield bytes(data)
            if left is not None and left <= 0:
                return

    def close(self):
        if self.owned is not None:
            self.owned.close()


def _seekable(f):
    try:
        return f.seekable()
    except (AttributeError, ValueError):
        return False


class ResumableUpload:
    """A resumable upload (TransferService.StartResumableUpload and friends).

        up = client.start_resumable_upload("backups/db.tar", mkdir_parents=True)
        up.upload("db.tar", length=50 << 20, finish=False)   # some of it
        ...                                                  # a crash, a restart
        up = client.resumable_upload(saved_upload_id)
        status = up.resume("db.tar")      # from the persisted offset, then commit
        status.file.size

    Only whole parts (5 MiB and up on Files.com) are durable: after an
    interrupted stream, query().persisted_size says where to go on from, and
    resume() seeks the source there. The upload lives in the memory of the
    gateway that started it (24 h by default).
    """

    def __init__(self, client: Any, upload_id: str) -> None:
        self._client = client
        self.upload_id = upload_id

    @classmethod
    def start(cls, client, remote, mkdir_parents=False, *, options=None, **spec_options):
        pb = _api.transfer_pb2
        spec = upload_spec(remote, mkdir_parents, **spec_options)
        response = client._call(_stub(client).StartResumableUpload,
                                pb.StartResumableUploadRequest(spec=spec), options)
        return cls(client, response.upload_id)

    def _status(self, response):
        file = models.wrap(response.file, self._client) if response.HasField("file") else None
        complete = bool(getattr(response, "complete", False)) or file is not None
        return UploadStatus(response.persisted_size, complete, file)

    def query(self, options: Any = None) -> UploadStatus:
        """The persisted size (and the File once committed). NotFoundError once
        the upload was cancelled or expired."""
        pb = _api.transfer_pb2
        response = self._client._call(_stub(self._client).QueryUploadStatus,
                                      pb.QueryUploadStatusRequest(upload_id=self.upload_id),
                                      options)
        return self._status(response)

    def cancel(self, options: Any = None) -> None:
        """Abandons the upload; nothing appears at its destination."""
        pb = _api.transfer_pb2
        self._client._call(_stub(self._client).CancelResumableUpload,
                           pb.CancelResumableUploadRequest(upload_id=self.upload_id), options)

    def upload(self, source: Any, *, offset: Optional[int] = None, length: Optional[int] = None,
               finish: bool = True, progress: Any = None, chunk_size: int = CHUNK_SIZE,
               options: Any = None) -> UploadStatus:
        """Sends source from offset (default: the persisted size, asked with
        query()) on one Upload stream. source: a path, a binary file object
        (seeked to offset when seekable, else read from where it stands),
        bytes, or an iterable of bytes starting at offset. length caps the
        bytes sent by this stream. finish=True commits after the last byte;
        finish=False leaves the upload open (the answer's persisted_size says
        how much is durable). progress(bytes_at, total_or_None) after each chunk."""
        if offset is None:
            status = self.query(options)
            if status.complete:
                return status
            offset = status.persisted_size
            if offset and not _Source.positions_itself(source):
                # Sending a stream's first bytes at the persisted offset would
                # store the wrong content.
                raise InvalidParameterError(
                    "the upload goes on at offset %d but this source cannot seek: position "
                    "it there and pass offset=%d" % (offset, offset))
        offset = int(offset)
        if offset < 0 or (length is not None and int(length) < 0):
            raise InvalidParameterError("offset and length must not be negative")
        src = _Source(source, offset)
        pb = _api.transfer_pb2
        errors = []

        def requests():
            yield pb.UploadRequest(upload_id=self.upload_id, write_offset=offset)
            at = offset
            try:
                for data in src.chunks(int(chunk_size), length):
                    yield _data_frame(data)
                    at += len(data)
                    if progress is not None:
                        progress(at, src.total)
            except Exception as e:
                errors.append(e)
                raise
            if finish:
                yield pb.UploadRequest(finish_upload=True)

        try:
            future = self._client._call(_data_stub(self._client).Upload.future, requests(),
                                        options, transfer=True, translate=False)
            try:
                response = future.result()
            except (grpc.RpcError, grpc.FutureCancelledError) as e:
                if errors:
                    raise errors[0] from None
                raise from_rpc_error(e) from None
            except BaseException:
                future.cancel()
                raise
        finally:
            src.close()
        return self._status(response)

    def resume(self, source: Any, **kwargs: Any) -> UploadStatus:
        """upload(source) from the persisted offset: the way on after an
        interrupted stream (kwargs as upload's, offset excepted)."""
        kwargs.pop("offset", None)
        return self.upload(source, **kwargs)

    def __repr__(self):
        return "<ResumableUpload %s>" % self.upload_id
