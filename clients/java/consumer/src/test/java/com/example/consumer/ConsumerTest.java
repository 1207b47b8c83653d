package com.example.consumer;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import com.filesgateway.client.FilesGateway;
import com.filesgateway.client.Harness;
import com.filesgateway.client.RemoteOutputStream;
import com.filesgateway.client.RequestOptions;
import com.filesgateway.client.ResumableUpload;
import com.filesgateway.client.UploadOptions;
import com.filesgateway.client.DownloadOptions;
import com.filesgateway.client.exceptions.ApiErrorException;
import com.filesgateway.v1.CreateUserRequest;
import com.filesgateway.v1.File;
import com.filesgateway.v1.ListUsersRequest;
import com.filesgateway.v1.QueryUploadStatusResponse;
import com.filesgateway.v1.UpdateUserRequest;
import com.filesgateway.v1.UploadResponse;
import com.filesgateway.v1.User;
import com.google.protobuf.Descriptors.FieldDescriptor;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * A service's own test, in a project of its own that depends on
 * com.filesgateway:files-gateway-client by Maven coordinates: only the public API, typed.
 * Beside the shared scenario (ScenarioTest, copied in), the cases issue 16 adds to it:
 * resumable upload (start, query, resume from the persisted offset, cancel), progress on
 * uploads and downloads, an aborted write that leaves no file, per-call workspace and
 * language options.
 */
public class ConsumerTest {
  private static Harness.Server emulator;
  private static Harness.Server gateway;
  private static FilesGateway client;
  private static final String RUN = "consumer-" + UUID.randomUUID().toString().substring(0, 8);

  @BeforeClass
  public static void start() throws IOException {
    Path build = Harness.buildDir();
    String key = "consumer-" + UUID.randomUUID();
    emulator = Harness.startEmulator(build, key);
    gateway = Harness.startGateway(build, (String) emulator.ready.get("base_url"), key);
    client = FilesGateway.connect(Harness.target(gateway));
  }

  @AfterClass
  public static void stop() {
    if (client != null) {
      client.close();
    }
    if (gateway != null) {
      gateway.close();
    }
    if (emulator != null) {
      emulator.close();
    }
  }

  private static byte[] random(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  private static List<String> names(String folder) {
    List<String> out = new ArrayList<>();
    for (File f : client.listFor(folder)) {
      out.add(f.getDisplayName());
    }
    return out;
  }

  @Test
  public void typedModelsAndRequests() {
    String username = client.users().find(1L).getUsername();  // the spelling
    assertFalse(username.isEmpty());

    User created = client.users().create(CreateUserRequest.newBuilder()
        .setUsername(RUN + "-typed").setEmail("typed@example.com").build());
    assertTrue(created.getId() > 0);
    User updated = client.users().update(created, UpdateUserRequest.newBuilder()
        .setName("Typed User").build());
    assertEquals("Typed User", updated.getName());
    List<User> found = client.users().list(ListUsersRequest.newBuilder()
        .putFilterPrefix("username", RUN + "-").setPerPage(10).build()).all();
    assertEquals(1, found.size());
    assertEquals(created.getId(), found.get(0).getId());

    // The fields the gateway does not know yet, once the protos carry them (issue 15).
    FieldDescriptor unmapped = User.getDescriptor().findFieldByName("unmapped_fields");
    if (unmapped != null) {
      assertTrue(updated.getField(unmapped) instanceof com.google.protobuf.Struct);
    }

    client.users().delete(updated);
    ApiErrorException e = assertThrows(ApiErrorException.class,
        () -> client.users().find(created.getId()));
    assertTrue(e.getClass().getName(), e instanceof ApiErrorException.NotFoundException);
  }

  @Test
  public void perCallWorkspaceAndLanguageAreAccepted() {
    RequestOptions options = new RequestOptions().withWorkspaceId(0).withLanguage("es")
        .withTimeout(Duration.ofSeconds(30));
    assertEquals(client.users().find(1L).getId(), client.users().find(1L, options).getId());
    assertThrows(IllegalArgumentException.class,
        () -> new RequestOptions().withLanguage("es\nX-Injected: 1"));
  }

  @Test
  public void anAbortedWriteLeavesNoFile() throws IOException {
    String folder = RUN + "-aborted";
    client.write(folder + "/kept.txt", new UploadOptions().mkdirParents(true),
                 out -> out.write(new byte[] {1}));
    IllegalStateException thrown = assertThrows(IllegalStateException.class, () -> {
      try (RemoteOutputStream out = client.openWrite(folder + "/partial.bin", true)) {
        out.write(random(3 << 20, 1));
        throw new IllegalStateException("failed half-way");
      }
    });
    assertEquals("failed half-way", thrown.getMessage());
    assertEquals(List.of("kept.txt"), names(folder));
  }

  @Test
  public void progressOnUploadAndDownload() throws IOException {
    byte[] data = random(3 << 20, 2);
    List<long[]> up = new ArrayList<>();
    File file = client.uploadFile(new ByteArrayInputStream(data), RUN + "-progress/p.bin",
        new UploadOptions().mkdirParents(true).expectedSize((long) data.length)
            .progress((bytes, total) -> up.add(new long[] {bytes, total})));
    assertEquals(data.length, file.getSize());
    assertEquals(3, up.size());  // 1 MiB chunks
    assertArrayEquals(new long[] {data.length, data.length}, up.get(up.size() - 1));

    List<long[]> down = new ArrayList<>();
    ByteArrayOutputStream sink = new ByteArrayOutputStream();
    client.downloadFile(RUN + "-progress/p.bin", sink, new DownloadOptions()
        .progress((bytes, total) -> down.add(new long[] {bytes, total})));
    assertArrayEquals(data, sink.toByteArray());
    assertFalse(down.isEmpty());
    for (int i = 1; i < down.size(); i++) {
      assertTrue(down.get(i)[0] > down.get(i - 1)[0]);
    }
    assertArrayEquals(new long[] {data.length, data.length}, down.get(down.size() - 1));
  }

  @Test
  public void resumableUploadStartQueryResumeCancel() throws IOException {
    byte[] data = random(11 << 20, 3);
    Path local = Files.createTempFile("resumable", ".bin");
    Files.write(local, data);
    try {
      String remote = RUN + "-resumable/big.bin";
      ResumableUpload up = client.startResumableUpload(remote,
          new UploadOptions().mkdirParents(true).expectedSize((long) data.length));
      // A first stream sends 6 MiB and stops without finishing (as a crash would).
      UploadResponse partial = up.write(new ByteArrayInputStream(data, 0, 6 << 20), 0, false);
      assertFalse(partial.hasFile());
      long persisted = partial.getPersistedSize();
      assertTrue("persisted " + persisted, persisted > 0 && persisted <= 6 << 20);

      // Another client (think: another process) continues from the id alone.
      List<long[]> progress = new ArrayList<>();
      ResumableUpload again = client.resumableUpload(up.uploadId(), new UploadOptions()
          .expectedSize((long) data.length)
          .progress((bytes, total) -> progress.add(new long[] {bytes, total})));
      QueryUploadStatusResponse status = again.status();
      assertEquals(persisted, status.getPersistedSize());
      assertFalse(status.getComplete());
      File file = again.resume(local);
      assertEquals(data.length, file.getSize());
      assertTrue(progress.get(0)[0] > persisted);  // counted from the file's start
      assertArrayEquals(new long[] {data.length, data.length},
                        progress.get(progress.size() - 1));
      ByteArrayOutputStream sink = new ByteArrayOutputStream();
      client.downloadFile(remote, sink, new DownloadOptions());
      assertArrayEquals(data, sink.toByteArray());
      assertTrue(again.status().getComplete());

      // Cancel: nothing appears, and the id is gone.
      ResumableUpload dropped = client.startResumableUpload(RUN + "-resumable/dropped.bin",
          new UploadOptions());
      dropped.write(new ByteArrayInputStream(data, 0, 1 << 20), 0, false);
      dropped.cancel();
      assertThrows(ApiErrorException.NotFoundException.class, dropped::status);
      assertEquals(List.of("big.bin"), names(RUN + "-resumable"));
      assertNotEquals(up.uploadId(), dropped.uploadId());
    } finally {
      Files.deleteIfExists(local);
    }
  }
}
