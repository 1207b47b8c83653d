"""The asyncio client against a real gateway: the blocking scenario's core in
the same shape (find, paging, per-object action, upload/download with
progress, open() write aborted by an exception, resumable upload, typed errors).

    python aio_check.py TARGET
"""
import asyncio
import os
import sys
import uuid

import files_gateway.aio
from files_gateway import errors


async def main(target):
    run = "aio" + uuid.uuid4().hex[:8]
    async with files_gateway.aio.connect(target, timeout=60) as client:
        admin = await client.users.find(1, options={"workspace_id": 0, "language": "de"})
        assert admin.username == "admin", admin
        # A caller credential reaches the gateway, which refuses it here (its
        # profile does not allow caller credentials).
        try:
            await client.users.find(1, options={"api_key": "not-the-gateways-key"})
            raise AssertionError("a caller api_key was accepted")
        except errors.NotAuthorizedError as e:
            assert e.reason == "CALLER_CREDENTIAL_NOT_ALLOWED", repr(e)
        made = await asyncio.gather(*(client.users.create({"username": "%s-%d" % (run, i)})
                                      for i in range(5)))
        page = await client.users.list({"per_page": 2, "filter_prefix": {"username": run},
                                        "sort_by": {"username": "asc"}})
        names = [u.username async for u in page.auto_paging_iter()]
        assert names == ["%s-%d" % (run, i) for i in range(5)], names
        await made[0].delete()
        try:
            await client.users.find(made[0].id)
            raise AssertionError("a deleted user was found")
        except errors.UserNotFoundError:
            pass

        data = os.urandom(3 << 20)
        local = "%s.bin" % run
        with open(local, "wb") as f:
            f.write(data)
        ups, downs = [], []
        f = await client.upload_file(local, run + "/a.bin", mkdir_parents=True,
                                     progress=lambda d, t: ups.append((d, t)))
        assert f.size == len(data) and ups[-1] == (len(data), len(data)), (f, ups[-3:])
        await client.download_file(run + "/a.bin", local + ".back",
                                   progress=lambda d, t: downs.append((d, t)))
        with open(local + ".back", "rb") as back:
            assert back.read() == data
        assert downs[-1] == (len(data), len(data)), downs[-3:]
        async with client.open(run + "/a.bin", "rb") as r:
            assert await r.read() == data

        class Abandon(Exception):
            pass
        try:
            async with client.open(run + "/never.bin", "wb") as w:
                await w.write(data)
                raise Abandon()
        except Abandon:
            pass
        async with client.open(run + "/t.txt", "w") as w:
            await w.write("hello ")
            await w.write("aio\n")
        async with client.open(run + "/t.txt", "r") as r:
            assert await r.read() == "hello aio\n"

        big = os.urandom(6 << 20)
        up = await client.start_resumable_upload(run + "/r.bin", expected_size=len(big))
        first = await up.upload(big, offset=0, length=(5 << 20) + 100, finish=False)
        status = await up.query()
        assert status.persisted_size == first.persisted_size == 5 << 20, status
        done = await client.resumable_upload(up.upload_id).resume(big)
        assert done.complete and done.file.size == len(big), done
        gone = await client.start_resumable_upload(run + "/gone.bin")
        await gone.cancel()
        try:
            await gone.query()
            raise AssertionError("a cancelled upload answered")
        except errors.NotFoundError:
            pass
        entries = sorted([e.display_name async for e in client.list_for(run)])
        assert entries == ["a.bin", "r.bin", "t.txt"], entries
        for p in (local, local + ".back"):
            os.unlink(p)
    print("aio ok")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
