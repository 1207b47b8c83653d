"""What a service's code looks like to mypy: must type-check clean."""
import asyncio
from typing import Iterator, List, Optional

import files_gateway
import files_gateway.aio
from files_gateway.types import AsyncUser, File, User


def blocking(client: files_gateway.Client) -> List[str]:
    name: str = client.users.find(1).username
    uid: int = client.users.find(1).id
    users: Iterator[User] = client.users.list({"per_page": 10}).auto_paging_iter()
    names = [u.username for u in users]
    created: User = client.users.create({"username": "x"},
                                        options={"workspace_id": 3, "language": "de"})
    created.delete()
    f: File = client.upload_file("a.txt", "b/a.txt", mkdir_parents=True,
                                 progress=lambda done, total: None)
    size: int = f.size
    up = client.start_resumable_upload("b/big.bin")
    status = up.resume("big.bin")
    persisted: int = status.persisted_size
    extra = client.users.find(1).unmapped_fields.get("new_key")
    client.users.find(1, options={"api_key": "k", "session_id": 7, "timeout": 2.5})
    with client.open("b/t.txt", "w", mkdir_parents=True) as w:
        w.write("text")
    with client.open("b/t.txt") as r:
        text: str = r.read()
    with client.open("b/a.bin", "wb") as wb:
        wb.write(b"bytes")
    with client.open("b/a.bin", "rb") as rb:
        data: bytes = rb.read()
    meta = rb.metadata
    return names + [name, str(uid + size + persisted), str(extra)]


async def not_blocking(client: files_gateway.aio.AsyncClient) -> Optional[str]:
    user: AsyncUser = await client.users.find(1)
    page = await client.users.list({"per_page": 10})
    async for u in page.auto_paging_iter():
        n: str = u.username
    await user.delete()
    async with client.open("b/a.bin", "wb") as w:
        await w.write(b"x")
    async with client.open("b/a.bin") as r:
        await r.read()
    return user.username


reveal_type(files_gateway.connect().users.find(1).username)
reveal_type(files_gateway.connect().files.find("a").size)
reveal_type(asyncio.run(files_gateway.aio.connect().users.find(1)).username)
