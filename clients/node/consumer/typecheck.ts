// An application's use of files-gateway, compiled with `tsc --strict --noEmit`
// (module node16: the package's "exports" -> "types" condition) by the
// node_client_consumer_types test. Never run: it only has to type-check.
import * as fs from "fs";
import { connect, errors, hasField, FilesError, ResumableUpload, TransferProgress } from "files-gateway";
import type { files, UserModel, FileModel, ListPromise } from "files-gateway";

export async function app(): Promise<void> {
  const client = connect("127.0.0.1:50051", { timeoutMs: 10000, language: "en" });

  // The spelling the issue asks for: a string under strict TypeScript.
  const username: string = (await client.users.find(1)).username;
  const sameUser: string = (await client.User.find(1)).username;   // the SDK's class name
  void sameUser;
  const user: UserModel = await client.users.find(1, null, { workspaceId: 7, language: "de", timeoutMs: 5000 });
  const id: number = user.id;
  const known: boolean = hasField(user, "email");
  const plain: files.User = { ...user };
  await user.update({ name: "Renamed" });

  const users: ListPromise<UserModel> = client.users.list({ per_page: 100, sort_by: { username: "asc" } });
  for await (const u of users) {
    const name: string = u.username;
    void name;
  }
  const page = await client.users.list({ per_page: 10 });
  const first: UserModel | undefined = page.data[0];
  if (page.hasNextPage) await page.loadNextPage();

  try {
    await client.users.find(987654321);
  } catch (e) {
    if (e instanceof errors.NotFound_UserNotFoundError) {
      const t: string | undefined = e.type;
      const status: number | undefined = e.httpStatus;
      void t; void status;
    } else if (e instanceof errors.FilesApiError || e instanceof FilesError) {
      throw e;
    }
  }

  // Files, the Files.com JS SDK's way: File.uploadFile(destination, source).
  const uploaded: FileModel = await client.files.uploadFile("reports/q3.csv", "/tmp/q3.csv", { mkdir_parents: true });
  const file = await client.files.find(uploaded.path);
  const text: string = await file.downloadToString();
  await file.downloadToFile("/tmp/copy.csv", { onProgress: (p: TransferProgress) => console.log(p.bytes, p.total) });
  await client.files.uploadData("notes/hello.txt", "hello");
  const viaClass: FileModel = await client.File.uploadFile("reports/q4.csv", "/tmp/q4.csv");
  await viaClass.copyTo("reports/q4-copy.csv");
  await client.files.uploadStream("logs/app.log", fs.createReadStream("/tmp/app.log"));

  // And this package's own transfer calls, with progress.
  await client.uploadFile("/tmp/q3.csv", "reports/q3.csv", { mkdirParents: true, onProgress: (p) => void p.bytes });
  const w = await client.open("notes/today.txt", "w");
  w.on("progress", (p: TransferProgress) => void p.bytes);
  w.write("hello\n");
  const committed: FileModel = await w.close();

  // Resumable uploads.
  const up: ResumableUpload = await client.startResumableUpload("big/data.bin", { mkdirParents: true });
  const uploadId: string = up.uploadId;
  const partial = await up.send("/tmp/data.bin", { finish: false });
  const persisted: number = partial.persistedSize;
  const status = await client.queryUploadStatus(uploadId);
  const done = await client.resumableUpload(uploadId).send("/tmp/data.bin", { offset: status.persistedSize });
  const committedFile: FileModel | undefined = done.file;
  await client.cancelResumableUpload(uploadId).catch(() => undefined);

  console.log(username, id, known, plain, first, text, committed, persisted, committedFile);
  client.close();
}
