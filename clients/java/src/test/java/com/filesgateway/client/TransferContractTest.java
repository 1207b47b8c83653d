package com.filesgateway.client;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import com.filesgateway.client.exceptions.ApiErrorException;
import com.filesgateway.client.exceptions.ApiErrorException.CancelledException;
import com.filesgateway.client.exceptions.ApiErrorException.DataLossException;
import com.filesgateway.v1.DownloadRequest;
import com.filesgateway.v1.DownloadResponse;
import com.filesgateway.v1.File;
import com.filesgateway.v1.OverwritePolicy;
import com.filesgateway.v1.TransferServiceGrpc;
import com.filesgateway.v1.UploadRequest;
import com.filesgateway.v1.UploadResponse;
import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * Transfers against transfer.proto's contract with an in-process TransferService: the spec
 * comes first, data in whole chunks, half-close commits and cancel does not, server errors
 * reach the writer, downloads check offsets and sizes, cancel reaches the server.
 */
public class TransferContractTest {
  /** What the fake server saw of one upload. */
  static final class Upload {
    final List<UploadRequest> messages = new ArrayList<>();
    volatile String end;  // "completed" or "error: CODE"
    final CountDownLatch done = new CountDownLatch(1);

    long bytes() {
      long n = 0;
      for (UploadRequest r : messages) {
        n += r.getData().size();
      }
      return n;
    }
  }

  private final LinkedBlockingQueue<Upload> uploads = new LinkedBlockingQueue<>();
  private volatile Status failUploadAfterFirstData;
  private volatile List<DownloadResponse> downloadScript = List.of();
  private volatile Status downloadEnd = Status.OK;
  private final AtomicInteger downloadSent = new AtomicInteger();
  private final CountDownLatch downloadCancelled = new CountDownLatch(1);
  private volatile boolean slowDownload;

  private Server server;
  private ManagedChannel channel;
  private FilesGateway client;

  private final class Fake extends TransferServiceGrpc.TransferServiceImplBase {
    @Override
    public StreamObserver<UploadRequest> upload(StreamObserver<UploadResponse> response) {
      Upload u = new Upload();
      uploads.add(u);
      return new StreamObserver<>() {
        @Override
        public void onNext(UploadRequest r) {
          synchronized (u) {
            u.messages.add(r);
            if (failUploadAfterFirstData != null && !r.getData().isEmpty() && u.end == null) {
              u.end = "failed";
              response.onError(failUploadAfterFirstData.asRuntimeException());
              u.done.countDown();
            }
          }
        }

        @Override
        public void onError(Throwable t) {
          u.end = "error: " + Status.fromThrowable(t).getCode();
          u.done.countDown();
        }

        @Override
        public void onCompleted() {
          if (u.end != null) {
            return;
          }
          u.end = "completed";
          File file = File.newBuilder().setPath(u.messages.get(0).getSpec().getPath())
              .setSize(u.bytes()).setType("file").build();
          response.onNext(UploadResponse.newBuilder().setFile(file).build());
          response.onCompleted();
          u.done.countDown();
        }
      };
    }

    @Override
    public void download(DownloadRequest request, StreamObserver<DownloadResponse> response) {
      ServerCallStreamObserver<DownloadResponse> out =
          (ServerCallStreamObserver<DownloadResponse>) response;
      out.setOnCancelHandler(downloadCancelled::countDown);
      if (downloadEnd.getCode() == Status.Code.NOT_FOUND) {
        out.onError(downloadEnd.asRuntimeException());
        return;
      }
      // Sends as the client asks for more (isReady), never blocking gRPC's thread, so a
      // cancellation is seen at once; slowDownload paces it on a timer instead.
      List<DownloadResponse> script = downloadScript;
      AtomicInteger next = new AtomicInteger();
      Runnable pump = () -> {
        synchronized (next) {
          while (!out.isCancelled() && out.isReady() && next.get() < script.size()) {
            out.onNext(script.get(next.getAndIncrement()));
            downloadSent.incrementAndGet();
            if (slowDownload) {
              break;
            }
          }
          if (next.get() == script.size() && !out.isCancelled()) {
            next.incrementAndGet();  // end once
            if (downloadEnd.isOk()) {
              out.onCompleted();
            } else {
              out.onError(downloadEnd.asRuntimeException());
            }
          }
        }
      };
      if (slowDownload) {
        ScheduledFuture<?> timer = TIMER.scheduleAtFixedRate(pump, 0, 5, TimeUnit.MILLISECONDS);
        out.setOnCancelHandler(() -> {
          timer.cancel(false);
          downloadCancelled.countDown();
        });
      } else {
        out.setOnReadyHandler(pump);
      }
    }
  }

  private static final ScheduledExecutorService TIMER =
      Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "download-timer");
        t.setDaemon(true);
        return t;
      });

  @Before
  public void start() throws IOException {
    String name = InProcessServerBuilder.generateName();
    server = InProcessServerBuilder.forName(name).addService(new Fake()).build().start();
    channel = InProcessChannelBuilder.forName(name).build();
    client = FilesGateway.forChannel(channel, new ConnectOptions());
  }

  @After
  public void stop() throws InterruptedException {
    client.close();
    channel.shutdownNow();
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  private static byte[] random(int n) {
    byte[] b = new byte[n];
    new Random(n).nextBytes(b);
    return b;
  }

  private Upload nextUpload() throws InterruptedException {
    Upload u = uploads.poll(10, TimeUnit.SECONDS);
    assertNotNull("no upload reached the server", u);
    assertTrue("the upload did not end", u.done.await(10, TimeUnit.SECONDS));
    return u;
  }

  @Test
  public void uploadFileSendsTheSpecFirstThenWholeChunks() throws Exception {
    Path local = Files.createTempFile("upload", ".bin");
    byte[] data = random(2_500_000);
    Files.write(local, data);
    File file = client.uploadFile(local, "a/b.bin", new UploadOptions().mkdirParents(true)
        .chunkSize(1 << 20).overwrite(false).expectedMd5("ABC").providedMtime("2026-01-01T00:00:00Z"));
    Upload u = nextUpload();
    assertEquals("completed", u.end);
    UploadRequest first = u.messages.get(0);
    assertTrue(first.hasSpec());
    assertEquals("a/b.bin", first.getSpec().getPath());
    assertTrue(first.getSpec().getMkdirParents());
    assertEquals(2_500_000, first.getSpec().getExpectedSize());
    assertEquals("abc", first.getSpec().getExpectedMd5());
    assertEquals(OverwritePolicy.OVERWRITE_POLICY_FAIL_IF_EXISTS, first.getSpec().getOverwrite());
    assertEquals("2026-01-01T00:00:00Z", first.getSpec().getProvidedMtime());
    List<Integer> sizes = new ArrayList<>();
    ByteArrayOutputStream got = new ByteArrayOutputStream();
    for (UploadRequest r : u.messages.subList(1, u.messages.size())) {
      assertFalse(r.hasSpec());
      sizes.add(r.getData().size());
      r.getData().writeTo(got);
    }
    assertEquals(List.of(1 << 20, 1 << 20, 2_500_000 - (2 << 20)), sizes);
    assertArrayEquals(data, got.toByteArray());
    assertEquals("a/b.bin", file.getPath());
    assertEquals(2_500_000L, file.getSize());
    Files.delete(local);
  }

  @Test
  public void openWriteChunksUnevenWritesAndCommitsOnClose() throws Exception {
    byte[] data = random(300_000);
    RemoteOutputStream out = client.openWrite("w.bin", new UploadOptions().chunkSize(65_536));
    int[] pieces = {1, 70_000, 100_000, 5, 129_994};
    int pos = 0;
    for (int n : pieces) {
      out.write(data, pos, n);
      pos += n;
    }
    assertEquals(300_000, out.bytesWritten());
    out.commit();
    out.commit();  // idempotent
    out.close();  // a no-op after commit
    Upload u = nextUpload();
    assertEquals("completed", u.end);
    for (UploadRequest r : u.messages.subList(1, u.messages.size() - 1)) {
      assertEquals(65_536, r.getData().size());
    }
    assertEquals(300_000, u.bytes());
    assertEquals(300_000L, out.file().getSize());
    assertThrows(IOException.class, () -> out.write(1));
  }

  @Test
  public void tryWithResourcesThatThrowsCommitsNothing() throws Exception {
    // The issue-16 data-integrity case: the block fails half-way; the partial file must not
    // be committed, and the block's exception is the one the caller sees.
    IllegalStateException thrown = assertThrows(IllegalStateException.class, () -> {
      try (RemoteOutputStream out = client.openWrite("partial.bin", false)) {
        out.write(random(5000));
        throw new IllegalStateException("half-way failure");
      }
    });
    assertEquals("error: CANCELLED", nextUpload().end);
    assertEquals(1, thrown.getSuppressed().length);
    assertTrue(thrown.getSuppressed()[0].getMessage().contains("without commit()"));
  }

  @Test
  public void closeWithoutCommitAbortsAndSaysSo() throws Exception {
    RemoteOutputStream out = client.openWrite("forgot.bin", false);
    out.write(random(10));
    IOException e = assertThrows(IOException.class, out::close);
    assertTrue(e.getMessage(), e.getMessage().contains("nothing was written"));
    assertEquals("error: CANCELLED", nextUpload().end);
    assertNull(out.file());
    out.close();  // idempotent
  }

  @Test
  public void progressReportsEveryChunkOfUploadsAndDownloads() throws Exception {
    List<long[]> seen = new ArrayList<>();
    RemoteOutputStream out = client.openWrite("p.bin", new UploadOptions().chunkSize(1000)
        .expectedSize(2500L).progress((bytes, total) -> seen.add(new long[] {bytes, total})));
    out.write(random(2500));
    out.commit();
    nextUpload();
    assertEquals(3, seen.size());
    assertArrayEquals(new long[] {1000, 2500}, seen.get(0));
    assertArrayEquals(new long[] {2500, 2500}, seen.get(2));

    byte[] data = random(300);
    downloadScript = script(data, 100, File.newBuilder().setPath("p.bin")
        .setSize(data.length).build());
    seen.clear();
    client.downloadFile("p.bin", new ByteArrayOutputStream(), new DownloadOptions()
        .progress((bytes, total) -> seen.add(new long[] {bytes, total})));
    assertEquals(3, seen.size());
    assertArrayEquals(new long[] {300, 300}, seen.get(2));
  }

  @Test
  public void abortCancelsAndCommitsNothing() throws Exception {
    RemoteOutputStream out = client.openWrite("x.bin", false);
    out.write(random(10));
    out.abort();
    Upload u = nextUpload();
    assertEquals("error: CANCELLED", u.end);
    assertNull(out.file());
    assertTrue(out.isAborted());
    out.close();  // a no-op after abort
  }

  @Test
  public void anExceptionInAWriteBlockAbortsTheUpload() throws Exception {
    IllegalStateException thrown = assertThrows(IllegalStateException.class,
        () -> client.write("y.bin", new UploadOptions(), out -> {
          out.write(random(1000));
          throw new IllegalStateException("changed my mind");
        }));
    assertEquals("changed my mind", thrown.getMessage());
    assertEquals("error: CANCELLED", nextUpload().end);

    File file = client.write("z.bin", new UploadOptions(), out -> out.write(random(10)));
    assertEquals(10L, file.getSize());
    assertEquals("completed", nextUpload().end);
  }

  @Test
  public void aServerErrorReachesTheWriter() throws Exception {
    failUploadAfterFirstData = Status.INVALID_ARGUMENT.withDescription("size mismatch");
    RemoteOutputStream out = client.openWrite("e.bin", new UploadOptions().chunkSize(1024));
    ApiErrorException.BadRequestException e = assertThrows(
        ApiErrorException.BadRequestException.class, () -> {
          for (int i = 0; i < 1000; i++) {
            out.write(random(1024));
            Thread.sleep(1);
          }
          out.commit();
        });
    assertEquals("size mismatch", e.getMessage());
    assertEquals("failed", nextUpload().end);
  }

  @Test
  public void aLocalReadErrorCancelsTheUpload() throws Exception {
    InputStream failing = new InputStream() {
      private int served;

      @Override
      public int read() throws IOException {
        if (served++ < 5000) {
          return 1;
        }
        throw new IOException("disk on fire");
      }
    };
    IOException e = assertThrows(IOException.class, () -> client.uploadFile(
        failing, "r.bin", new UploadOptions().chunkSize(1024)));
    assertEquals("disk on fire", e.getMessage());
    assertEquals("error: CANCELLED", nextUpload().end);
  }

  private static List<DownloadResponse> script(byte[] data, int chunk, File meta) {
    List<DownloadResponse> out = new ArrayList<>();
    out.add(DownloadResponse.newBuilder().setMetadata(meta).build());
    for (int pos = 0; pos < data.length; pos += chunk) {
      int n = Math.min(chunk, data.length - pos);
      out.add(DownloadResponse.newBuilder().setOffset(pos)
          .setData(ByteString.copyFrom(data, pos, n)).build());
    }
    return out;
  }

  @Test
  public void downloadsDeliverMetadataThenTheBytes() throws Exception {
    byte[] data = random(1_000_000);
    downloadScript = script(data, 100_000, File.newBuilder().setPath("d.bin")
        .setSize(data.length).build());
    try (RemoteInputStream in = client.openRead("d.bin")) {
      assertEquals("d.bin", in.metadata().getPath());
      assertEquals(1, in.read(new byte[1], 0, 1));
      assertEquals(data[1], (byte) in.read());
      byte[] rest = in.readAllBytes();
      assertEquals(data.length - 2, rest.length);
      assertEquals(data.length, in.bytesReceived());
      assertEquals(-1, in.read());
    }
    Path dir = Files.createTempDirectory("dl");
    Path local = dir.resolve("d.bin");
    File meta = client.downloadFile("d.bin", local);
    assertArrayEquals(data, Files.readAllBytes(local));
    assertEquals("d.bin", meta.getPath());
    ByteArrayOutputStream sink = new ByteArrayOutputStream();
    client.downloadFile("d.bin", sink, new DownloadOptions());
    assertArrayEquals(data, sink.toByteArray());
    deleteTree(dir);
  }

  @Test
  public void aMissingFileFailsAtOpen() {
    downloadEnd = Status.NOT_FOUND.withDescription("File Not Found");
    assertThrows(ApiErrorException.NotFoundException.class, () -> client.openRead("nope"));
  }

  @Test
  public void offsetGapsAndShortFilesAreDataLoss() throws Exception {
    byte[] data = random(1000);
    List<DownloadResponse> gap = new ArrayList<>(script(data, 100, File.newBuilder()
        .setSize(1000).build()));
    gap.remove(3);
    downloadScript = gap;
    try (RemoteInputStream in = client.openRead("gap")) {
      DataLossException e = assertThrows(DataLossException.class, in::readAllBytes);
      assertTrue(e.getMessage(), e.getMessage().contains("skipped"));
    }
    List<DownloadResponse> shortFile = new ArrayList<>(script(data, 100, File.newBuilder()
        .setSize(1000).build()));
    shortFile.remove(shortFile.size() - 1);
    downloadScript = shortFile;
    Path dir = Files.createTempDirectory("dl");
    assertThrows(DataLossException.class,
                 () -> client.downloadFile("short", dir.resolve("short.bin")));
    try (Stream<Path> left = Files.list(dir)) {
      assertEquals("a failed download leaves nothing", 0, left.count());
    }
    deleteTree(dir);
    // A range read is not a whole file: fewer bytes than the size are fine.
    downloadScript = shortFile;
    try (RemoteInputStream in = client.openRead("short", new DownloadOptions().length(900))) {
      assertEquals(900, in.readAllBytes().length);
    }
  }

  @Test
  public void aServerFailureMidStreamArrivesTyped() throws Exception {
    byte[] data = random(1000);
    downloadScript = script(data, 100, File.newBuilder().setSize(1000).build()).subList(0, 4);
    downloadEnd = Status.DATA_LOSS.withDescription("md5 mismatch");
    try (RemoteInputStream in = client.openRead("bad")) {
      DataLossException e = assertThrows(DataLossException.class, in::readAllBytes);
      assertEquals("md5 mismatch", e.getMessage());
    }
  }

  @Test
  public void cancelStopsTheStreamAtTheServer() throws Exception {
    byte[] data = random(4_000_000);
    downloadScript = script(data, 16_384, File.newBuilder().setSize(data.length).build());
    slowDownload = true;
    RemoteInputStream in = client.openRead("big");
    assertEquals(50_000, in.readNBytes(50_000).length);
    in.cancel();
    CancelledException e = assertThrows(CancelledException.class, in::readAllBytes);
    assertSame(Status.Code.CANCELLED, e.getCode());
    assertTrue("the server saw no cancellation",
               downloadCancelled.await(10, TimeUnit.SECONDS));
    // Flow control: the server got ahead of the reader by a few messages only.
    assertTrue("sent " + downloadSent.get(), downloadSent.get() < 12);
    in.close();
    assertThrows(IOException.class, in::read);
  }

  @Test
  public void closingEarlyCancelsTheStream() throws Exception {
    byte[] data = random(4_000_000);
    downloadScript = script(data, 16_384, File.newBuilder().setSize(data.length).build());
    slowDownload = true;
    try (RemoteInputStream in = client.openRead("big")) {
      in.readNBytes(10);
    }
    assertTrue("the server saw no cancellation",
               downloadCancelled.await(10, TimeUnit.SECONDS));
  }

  @Test
  public void openModes() throws Exception {
    downloadScript = script(new byte[] {104, 105}, 10, File.newBuilder().setSize(2).build());
    try (RemoteInputStream in = client.open("t.txt", "r")) {
      assertEquals("hi", new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8));
    }
    try (RemoteOutputStream out = client.open("t.txt", "wb")) {
      out.write(new byte[] {1, 2});
      out.commit();
    }
    assertEquals("completed", nextUpload().end);
    assertThrows(IllegalArgumentException.class, () -> client.open("t.txt", "a"));
    assertThrows(ApiErrorException.InvalidRequestException.class,
                 () -> client.open("t.txt", "r", new UploadOptions().mkdirParents(true)));
  }

  private static void deleteTree(Path dir) throws IOException {
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted((a, b) -> b.compareTo(a)).toArray(Path[]::new)) {
        Files.deleteIfExists(p);
      }
    }
  }
}
