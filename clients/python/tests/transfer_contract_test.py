#!/usr/bin/python3
"""upload_file / download_file / open() against transfer.proto's contract,
served by a small in-process TransferService (the generated servicer base),
so the client's side is pinned down independently of the gateway's: spec
first, then data of at most chunk_size; an abandoned writer cancels (nothing
committed); offsets are checked; cancelling a download reaches the server;
server errors surface as typed errors instead of hanging a writer.

    /usr/bin/python3 clients/python/tests/transfer_contract_test.py \\
        --package build/clients/python/lib
"""
import argparse
import concurrent.futures
import io
import os
import sys
import tempfile
import threading
import time
import unittest

import harness

ARGS = None
MIB = 1 << 20


def make_servicer():
    import grpc
    from files_gateway import _api
    pb, file_pb2 = _api.transfer_pb2, __import__(
        "files_gateway._gen.files.v1.file_pb2", fromlist=["File"])

    class Servicer(_api.transfer_pb2_grpc.TransferServiceServicer):
        """Keeps committed files in memory and records what each stream carried."""

        def __init__(self):
            self.files = {}
            self.uploads = []   # one list of UploadRequest per stream
            self.cancelled = threading.Event()
            self.lock = threading.Lock()

        # Resumable uploads: id -> {"spec", "data", "done"}; "durable" bytes are
        # whole 1 MiB "parts" (the gateway's are 5 MiB and up).
        resumable = {}

        def StartResumableUpload(self, request, context):
            upload_id = "u%d" % len(self.resumable)
            self.resumable[upload_id] = {"spec": request.spec, "data": b"", "done": None}
            return pb.StartResumableUploadResponse(upload_id=upload_id)

        def QueryUploadStatus(self, request, context):
            r = self.resumable.get(request.upload_id)
            if r is None:
                context.abort(grpc.StatusCode.NOT_FOUND, "no resumable upload with that id")
            if r["done"] is not None:
                return pb.QueryUploadStatusResponse(persisted_size=len(r["data"]), complete=True,
                                                    file=r["done"])
            return pb.QueryUploadStatusResponse(persisted_size=len(r["data"]))

        def CancelResumableUpload(self, request, context):
            if self.resumable.pop(request.upload_id, None) is None:
                context.abort(grpc.StatusCode.NOT_FOUND, "no resumable upload with that id")
            from google.protobuf import empty_pb2
            return empty_pb2.Empty()

        def _resumable_stream(self, messages, request_iterator, context):
            r = self.resumable.get(messages[0].upload_id)
            if r is None:
                context.abort(grpc.StatusCode.NOT_FOUND, "no resumable upload with that id")
            if messages[0].write_offset != len(r["data"]):
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, "write_offset mismatch")
            received = messages[0].data
            finish = messages[0].finish_upload
            for m in request_iterator:
                messages.append(m)
                received += m.data
                finish = finish or m.finish_upload
            if finish:
                r["data"] += received
                r["done"] = file_pb2.File(path=r["spec"].path, size=len(r["data"]))
                self.files[r["spec"].path] = r["data"]
                return pb.UploadResponse(file=r["done"], persisted_size=len(r["data"]))
            r["data"] += received[:len(received) // MIB * MIB]
            return pb.UploadResponse(persisted_size=len(r["data"]))

        def Upload(self, request_iterator, context):
            messages = []
            with self.lock:
                self.uploads.append(messages)
            first = next(request_iterator)
            messages.append(first)
            if first.HasField("upload_id"):
                return self._resumable_stream(messages, request_iterator, context)
            for m in request_iterator:
                messages.append(m)
                if messages[0].spec.path.startswith("refuse/") and len(messages) == 2:
                    from files_gateway._gen.google.rpc import error_details_pb2, status_pb2
                    status = status_pb2.Status(code=grpc.StatusCode.NOT_FOUND.value[0],
                                               message="Parent folder not found")
                    status.details.add().Pack(error_details_pb2.ErrorInfo(
                        reason="FOLDER_NOT_FOUND", domain="files.com",
                        metadata={"type": "not-found/folder-not-found", "http_status": "404"}))
                    context.set_trailing_metadata(
                        (("grpc-status-details-bin", status.SerializeToString()),))
                    context.abort(grpc.StatusCode.NOT_FOUND, "Parent folder not found")
            spec = messages[0].spec
            data = b"".join(m.data for m in messages)
            # As the gateway does: a client's cancel can end the reads a moment before
            # the call shows as cancelled, so look again before committing; and a
            # stream shorter than its expected_size commits nothing.
            time.sleep(0.02)
            if not context.is_active():
                return pb.UploadResponse()
            if spec.HasField("expected_size") and len(data) != spec.expected_size:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                              "%d bytes arrived, expected_size is %d" % (len(data), spec.expected_size))
            self.files[spec.path] = data
            return pb.UploadResponse(file=file_pb2.File(path=spec.path, size=len(data)))

        def Download(self, request, context):
            path = request.path
            if path.startswith("endless/"):
                context.add_callback(self.cancelled.set)
                yield pb.DownloadResponse(metadata=file_pb2.File(path=path, size=1 << 40))
                offset = 0
                while context.is_active():
                    yield pb.DownloadResponse(offset=offset, data=b"x" * 65536)
                    offset += 65536
                return
            if path.endswith(".missing"):
                context.abort(grpc.StatusCode.NOT_FOUND, "Not Found")
            data = self.files[path.split(":")[-1]]
            yield pb.DownloadResponse(metadata=file_pb2.File(path=path, size=len(data)))
            step = 300000
            for off in range(0, len(data), step):
                if path.startswith("gap:") and off > 0:
                    off += 1
                if path.startswith("short:") and off + step >= len(data):
                    return
                yield pb.DownloadResponse(offset=off, data=data[off:off + step])

    return Servicer()


class Transfers(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import grpc
        import files_gateway
        from files_gateway import _api
        cls.grpc, cls.errors = grpc, files_gateway.errors
        cls.servicer = make_servicer()
        cls.server = grpc.server(concurrent.futures.ThreadPoolExecutor(8))
        _api.transfer_pb2_grpc.add_TransferServiceServicer_to_server(cls.servicer, cls.server)
        port = cls.server.add_insecure_port("127.0.0.1:0")
        cls.server.start()
        cls.client = files_gateway.connect("127.0.0.1:%d" % port, timeout=20, transfer_timeout=20)

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        cls.server.stop(None)

    def setUp(self):
        self.servicer.cancelled.clear()
        self._tmp = tempfile.TemporaryDirectory(prefix="transfer-contract-")
        self.tmp = self._tmp.name
        self.addCleanup(self._tmp.cleanup)

    def last_upload(self):
        return self.servicer.uploads[-1]

    def test_upload_file_sends_the_spec_then_chunks(self):
        data = os.urandom(2 * MIB + 12345)
        with tempfile.NamedTemporaryFile() as f:
            f.write(data)
            f.flush()
            model = self.client.upload_file(f.name, "up/file.bin", mkdir_parents=True,
                                            provided_mtime="2026-11-29T10:00:00Z")
        msgs = self.last_upload()
        spec = msgs[0].spec
        self.assertEqual(msgs[0].WhichOneof("first_message"), "spec")
        self.assertEqual((spec.path, spec.mkdir_parents, spec.expected_size, spec.provided_mtime),
                         ("up/file.bin", True, len(data), "2026-11-29T10:00:00Z"))
        self.assertFalse(msgs[0].data)
        self.assertTrue(all(0 < len(m.data) <= MIB for m in msgs[1:]))
        self.assertEqual(b"".join(m.data for m in msgs[1:]), data)
        self.assertEqual((model.path, model.size), ("up/file.bin", len(data)))

    def test_a_failing_local_read_cancels_the_upload_and_surfaces_itself(self):
        class Broken:
            def __init__(self):
                self.calls = 0

            def read(self, n):
                self.calls += 1
                if self.calls > 2:
                    raise OSError("disk on fire")
                return b"q" * n

        with self.assertRaisesRegex(OSError, "disk on fire"):
            self.client.upload_file(Broken(), "up/broken.bin")

    def test_progress_reports_each_chunk_and_an_exception_in_it_cancels(self):
        data = os.urandom(2 * MIB + 10)
        reports = []
        self.client.upload_file(io.BytesIO(data), "up/progress.bin",
                                progress=lambda d, t: reports.append((d, t)))
        self.assertEqual(reports, [(MIB, None), (2 * MIB, None), (len(data), None)])
        path = os.path.join(self.tmp, "progress.bin")
        with open(path, "wb") as f:
            f.write(data)
        reports.clear()
        self.client.upload_file(path, "up/progress2.bin",
                                progress=lambda d, t: reports.append((d, t)))
        self.assertEqual(reports[-1], (len(data), len(data)))  # a file's size is known
        reports.clear()
        self.client.download_file("up/progress2.bin", io.BytesIO(),
                                  progress=lambda d, t: reports.append((d, t)))
        self.assertEqual(reports[-1], (len(data), len(data)))

        def stop(done, total):
            raise RuntimeError("enough")
        with self.assertRaisesRegex(RuntimeError, "enough"):
            self.client.upload_file(path, "up/stopped.bin", progress=stop)
        self.assertNotIn("up/stopped.bin", self.servicer.files)

    def test_resumable_upload_messages_offsets_and_cancel(self):
        data = os.urandom(3 * MIB + 123)
        up = self.client.start_resumable_upload("res/a.bin", expected_size=len(data))
        first = up.upload(data, offset=0, length=MIB + 500, finish=False)
        self.assertEqual((first.persisted_size, first.complete, first.file), (MIB, False, None))
        msgs = self.last_upload()
        self.assertEqual((msgs[0].upload_id, msgs[0].write_offset), (up.upload_id, 0))
        self.assertFalse(any(m.finish_upload for m in msgs))
        self.assertEqual(sum(len(m.data) for m in msgs), MIB + 500)
        # resume() asks for the persisted size and sends from there, then commits.
        path = os.path.join(self.tmp, "res.bin")
        with open(path, "wb") as f:
            f.write(data)
        reports = []
        done = self.client.resumable_upload(up.upload_id).resume(
            path, progress=lambda d, t: reports.append((d, t)))
        msgs = self.last_upload()
        self.assertEqual(msgs[0].write_offset, MIB)
        self.assertTrue(msgs[-1].finish_upload)
        self.assertTrue(done.complete)
        self.assertEqual(done.file.size, len(data))
        self.assertEqual(self.servicer.files["res/a.bin"], data)
        self.assertEqual(reports[0], (2 * MIB, len(data)))
        self.assertEqual(reports[-1], (len(data), len(data)))
        # Resuming a finished upload sends nothing more.
        again = up.resume(path)
        self.assertTrue(again.complete)
        # A file object and an iterable of bytes work as sources too.
        up2 = self.client.start_resumable_upload("res/b.bin")
        up2.upload(iter([data[:MIB], data[MIB:2 * MIB]]), offset=0, finish=False)
        up2.resume(io.BytesIO(data))
        self.assertEqual(self.servicer.files["res/b.bin"], data)
        # Cancelled: gone.
        up3 = self.client.start_resumable_upload("res/c.bin")
        up3.cancel()
        with self.assertRaises(self.errors.NotFoundError):
            up3.query()
        with self.assertRaises(self.errors.InvalidParameterError):
            up2.upload(data, offset=-1)
        # A source that cannot seek must be placed by the caller: refused
        # rather than sending its first bytes at the persisted offset.
        up4 = self.client.start_resumable_upload("res/d.bin")
        up4.upload(data, offset=0, length=MIB, finish=False)
        with self.assertRaisesRegex(self.errors.InvalidParameterError, "offset=%d" % MIB):
            up4.resume(iter([data]))
        with self.assertRaises(self.errors.InvalidParameterError):
            up4.upload(42, offset=MIB)
        up4.upload(iter([data[MIB:]]), offset=MIB)
        self.assertEqual(self.servicer.files["res/d.bin"], data)

    def test_writer_cuts_full_chunks_whatever_the_write_sizes(self):
        data = os.urandom(3 * MIB + 5)
        with self.client.open("up/writer.bin", "wb", overwrite=False) as f:
            for start, size in ((0, 1), (1, 700000), (700001, 2 * MIB), (700001 + 2 * MIB, MIB)):
                f.write(data[start:start + size])
        msgs = self.last_upload()
        self.assertEqual(msgs[0].spec.overwrite, 1)  # OVERWRITE_POLICY_FAIL_IF_EXISTS
        sizes = [len(m.data) for m in msgs[1:]]
        self.assertTrue(all(s == MIB for s in sizes[:-1]), sizes)
        self.assertEqual(b"".join(m.data for m in msgs[1:]), data)
        self.assertEqual(f.file.size, len(data))
        self.assertEqual(self.servicer.files["up/writer.bin"], data)

    def test_text_writer_and_reader(self):
        with self.client.open("up/notes.txt", "w") as f:
            f.write("héllo\n")
            f.write("wörld\n")
        self.assertEqual(self.servicer.files["up/notes.txt"], "héllo\nwörld\n".encode())
        with self.client.open("up/notes.txt") as f:
            self.assertEqual(f.metadata.size, len("héllo\nwörld\n".encode()))
            self.assertEqual(f.readline(), "héllo\n")
            self.assertEqual(f.read(), "wörld\n")

    def test_abandoned_writer_cancels_instead_of_committing(self):
        # Checked on the client's call: gRPC never half-closes (commits) a call
        # once it is cancelled. (The Python test server cannot tell the two
        # apart reliably; the scenario checks the gateway commits nothing.)
        for mode in ("w", "wb"):
            with self.subTest(mode=mode):
                with self.assertRaises(KeyError):
                    with self.client.open("up/abandoned-" + mode, mode) as f:
                        f.write("partial" * 200000 if mode == "w" else b"partial" * 200000)
                        raise KeyError("boom")
                writer = f.buffer if mode == "w" else f
                self.assertTrue(writer.aborted)
                self.assertTrue(writer.closed)
                self.assertIsNone(writer.file)
                self.assertEqual(writer._future.code(), self.grpc.StatusCode.CANCELLED)

    def test_writer_dropped_without_close_is_cancelled(self):
        for mode, data in (("wb", b"z" * 10), ("w", "z" * 10)):
            with self.subTest(mode=mode):
                f = self.client.open("up/dropped-" + mode, mode)
                f.write(data)
                future = (f.buffer if mode == "w" else f)._future
                del f
                self.assertEqual(future.code(), self.grpc.StatusCode.CANCELLED)

    def test_server_error_reaches_the_writer_as_its_class(self):
        with self.assertRaises(self.errors.NotFoundError) as ctx:
            with self.client.open("refuse/x.bin", "wb", chunk_size=65536, queue_size=1) as f:
                for _ in range(2000):  # far more than the queue holds
                    f.write(b"y" * 65536)
        self.assertEqual(ctx.exception.type, "not-found/folder-not-found")
        self.assertNotIn("refuse/x.bin", self.servicer.files)

    def test_download_reads_back_and_checks_offsets(self):
        data = os.urandom(MIB + 777)
        self.servicer.files["down/a.bin"] = data
        with self.client.open("down/a.bin", "rb") as f:
            self.assertEqual(f.metadata.size, len(data))
            self.assertEqual(f.read(10), data[:10])
            self.assertEqual(f.read(), data[10:])
        with tempfile.TemporaryDirectory() as tmp:
            local = os.path.join(tmp, "a.bin")
            model = self.client.download_file("down/a.bin", local)
            with open(local, "rb") as f:
                self.assertEqual(f.read(), data)
            self.assertEqual(model.size, len(data))
            with self.assertRaises(self.errors.DataLossError):
                self.client.download_file("gap:down/a.bin", local + ".gap")
            with self.assertRaises(self.errors.DataLossError):
                self.client.download_file("short:down/a.bin", local + ".short")
            self.assertEqual(os.listdir(tmp), ["a.bin"])  # no partial files left

    def test_download_file_hands_a_plain_writer_bytes(self):
        # io file objects get memoryviews (no copy); anything else with a
        # write() still gets bytes it may keep, decode or hash.
        data = os.urandom(MIB + 4321)
        self.servicer.files["down/plain.bin"] = data

        class Writer:
            parts = []

            def write(self, b):
                self.parts.append(b)
        writer = Writer()
        self.client.download_file("down/plain.bin", writer)
        self.assertTrue(writer.parts)
        self.assertEqual({type(p) for p in writer.parts}, {bytes})
        self.assertEqual(b"".join(writer.parts), data)
        out = io.BytesIO()
        self.client.download_file("down/plain.bin", out)
        self.assertEqual(out.getvalue(), data)
        with self.client.open("down/plain.bin", "rb") as f:
            reader = f.raw
            self.assertEqual(b"".join(reader.chunks()), data)

    def test_missing_file_fails_at_open(self):
        with self.assertRaises(self.errors.NotFoundError):
            self.client.open("down/x.missing", "rb")

    def test_cancelled_download_stops_the_stream(self):
        f = self.client.open("endless/big.bin", "rb")
        self.assertEqual(len(f.read(MIB)), MIB)
        f.cancel()
        with self.assertRaises(self.errors.CancelledError):
            f.read()
        f.close()
        self.assertTrue(self.servicer.cancelled.wait(10), "the server's stream did not stop")
        self.assertLess(f.raw.bytes_received, 64 * MIB)



class AsyncTransfers(unittest.TestCase):
    """The asyncio client's transfers against the same in-process TransferService."""

    @classmethod
    def setUpClass(cls):
        import grpc
        import files_gateway
        from files_gateway import _api
        cls.grpc, cls.errors = grpc, files_gateway.errors
        cls.servicer = make_servicer()
        cls.server = grpc.server(concurrent.futures.ThreadPoolExecutor(8))
        _api.transfer_pb2_grpc.add_TransferServiceServicer_to_server(cls.servicer, cls.server)
        cls.port = cls.server.add_insecure_port("127.0.0.1:0")
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop(None)

    def run_async(self, body):
        import asyncio
        import files_gateway.aio

        async def main():
            async with files_gateway.aio.connect("127.0.0.1:%d" % self.port, timeout=20,
                                                 transfer_timeout=20) as client:
                return await body(client)
        return asyncio.run(main())

    def test_upload_download_progress_and_text(self):
        data = os.urandom(2 * MIB + 3)

        async def body(client):
            ups, downs = [], []
            f = await client.upload_file(io.BytesIO(data), "aio/a.bin",
                                         progress=lambda d, t: ups.append(d))
            self.assertEqual((f.path, f.size), ("aio/a.bin", len(data)))
            self.assertEqual(ups, [MIB, 2 * MIB, len(data)])
            out = io.BytesIO()
            await client.download_file("aio/a.bin", out, progress=lambda d, t: downs.append(t))
            self.assertEqual(out.getvalue(), data)
            self.assertEqual(set(downs), {len(data)})
            parts = []

            class Writer:
                def write(self, b):
                    parts.append(b)
            await client.download_file("aio/a.bin", Writer())
            self.assertEqual(({type(p) for p in parts}, b"".join(parts)), ({bytes}, data))
            with tempfile.TemporaryDirectory() as tmp:
                local = os.path.join(tmp, "a.bin")
                await client.download_file("aio/a.bin", local)
                with open(local, "rb") as f:
                    self.assertEqual(f.read(), data)
            async with client.open("aio/t.txt", "w") as w:
                await w.write("héllo ")
                await w.write("wörld")
            async with client.open("aio/t.txt", "r") as r:
                self.assertEqual(await r.read(), "héllo wörld")
                self.assertEqual(r.metadata.size, len("héllo wörld".encode()))
            with self.assertRaises(self.errors.NotFoundError):
                await client.open("aio/x.missing", "rb")
        self.run_async(body)

    def test_a_client_made_outside_the_event_loop_works_inside_it(self):
        import asyncio
        import files_gateway.aio
        client = files_gateway.aio.connect("127.0.0.1:%d" % self.port, timeout=20)

        async def main():
            try:
                up = await client.start_resumable_upload("aio/outside.bin")
                return await up.query()
            finally:
                await client.close()
        self.assertEqual(asyncio.run(main()).persisted_size, 0)

    def test_an_exception_in_the_block_cancels_the_write(self):
        async def body(client):
            with self.assertRaises(KeyError):
                async with client.open("aio/abandoned.bin", "wb", chunk_size=65536) as w:
                    await w.write(b"p" * 300000)
                    raise KeyError("boom")
            self.assertTrue(w.aborted)
            self.assertIsNone(w.file)
            self.assertTrue(w._call.cancelled())
        self.run_async(body)
        self.assertNotIn("aio/abandoned.bin", self.servicer.files)

    def test_resumable(self):
        data = os.urandom(2 * MIB + 9)

        async def body(client):
            up = await client.start_resumable_upload("aio/r.bin")
            first = await up.upload(data, offset=0, length=MIB + 1, finish=False)
            self.assertEqual(first.persisted_size, MIB)
            self.assertEqual((await up.query()).persisted_size, MIB)
            done = await client.resumable_upload(up.upload_id).resume(data)
            self.assertTrue(done.complete)
            self.assertEqual(done.file.size, len(data))
            gone = await client.start_resumable_upload("aio/gone.bin")
            await gone.cancel()
            with self.assertRaises(self.errors.NotFoundError):
                await gone.query()
        self.run_async(body)
        self.assertEqual(self.servicer.files["aio/r.bin"], data)


class WireCodec(unittest.TestCase):
    """The transfer helpers frame UploadRequest{data} and split DownloadResponse
    themselves (to spare copies): what they produce and read must be exactly
    what protobuf does, whatever the message holds."""

    @classmethod
    def setUpClass(cls):
        from files_gateway import _api, transfer
        from google.protobuf.message import DecodeError
        cls.pb, cls.t, cls.DecodeError = _api.transfer_pb2, transfer, DecodeError
        file_pb2 = __import__("files_gateway._gen.files.v1.file_pb2", fromlist=["File"])
        cls.File = file_pb2.File

    def test_a_framed_chunk_is_an_upload_request_with_that_data(self):
        for size in (1, 127, 128, 16383, 16384, MIB, 4 * MIB - 64):
            data = os.urandom(size)
            for form in (data, bytearray(data), memoryview(data)):
                frame = self.t._data_frame(form)
                self.assertIs(type(frame), bytes)
                self.assertEqual(frame, self.pb.UploadRequest(data=data).SerializeToString())
        # Other messages go through protobuf untouched.
        spec = self.pb.UploadRequest(spec=self.pb.UploadSpec(path="a/b"))
        self.assertEqual(self.t._serialize_upload_request(spec), spec.SerializeToString())

    def check(self, raw):
        want = self.pb.DownloadResponse.FromString(raw)
        msg, view = self.t._parse_download_response(raw)
        self.assertEqual(bytes(view), want.data)
        want.ClearField("data")
        self.assertEqual(msg, want)

    def test_download_messages_split_like_protobuf_parses_them(self):
        pb = self.pb
        meta = self.File(path="x/y.bin", size=3 * MIB)
        data = os.urandom(300000)
        for message in (pb.DownloadResponse(metadata=meta),
                        pb.DownloadResponse(offset=5 << 30, data=data),
                        pb.DownloadResponse(metadata=meta, offset=7, data=data),
                        pb.DownloadResponse(data=b"z"),
                        pb.DownloadResponse()):
            self.check(message.SerializeToString())
        plain = pb.DownloadResponse(offset=9, data=data).SerializeToString()
        # A repeated data field (the last wins), fields in another order, and
        # fields this client does not know (varint, fixed64, fixed32, bytes).
        self.check(pb.DownloadResponse(data=b"old").SerializeToString() + plain)
        self.check(pb.DownloadResponse(data=data).SerializeToString()
                   + pb.DownloadResponse(metadata=meta).SerializeToString())
        self.check(plain + b"\xc8\x06\x2a" + b"\xd1\x06" + b"\x01" * 8 + b"\xdd\x06" + b"\x02" * 4
                   + b"\xe2\x06\x03abc")

    def test_a_broken_download_message_fails_as_protobuf_does(self):
        raw = self.pb.DownloadResponse(offset=1, data=b"abcdef").SerializeToString()
        for broken in (raw[:-2], b"\x1a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",
                       b"\x0f"):
            with self.assertRaises(self.DecodeError):
                self.t._parse_download_response(broken)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--package", required=True)
    ARGS, rest = parser.parse_known_args()
    harness.add_package_path(ARGS.package)
    unittest.main(argv=[sys.argv[0]] + rest)
