// Mistakes the compiler must catch (node_client_consumer_types compiles this
// file and expects exactly the errors marked `expect: TSnnnn` on their lines).
import { connect } from "files-gateway";

export async function wrong(): Promise<void> {
  const client = connect();
  const user = await client.users.find(1);
  const n: number = user.username; // expect: TS2322
  const s: string = user.id; // expect: TS2322
  await client.users.find(1, null, { workspaceId: "7" }); // expect: TS2322
  await client.users.create({ no_such_param: 1 }); // expect: TS2353
  await client.users.nonexistentAction(); // expect: TS2339
  await client.files.uploadFile("dest", 42); // expect: TS2345
  const status = await client.queryUploadStatus("id");
  const size: string = status.persistedSize; // expect: TS2322
  console.log(n, s, size);
}
