package com.filesgateway.client;

import com.filesgateway.client.exceptions.SdkException;
import com.filesgateway.v1.File;
import com.filesgateway.v1.UploadResponse;
import com.google.protobuf.ByteString;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.ref.Cleaner;

/**
 * An OutputStream whose bytes stream to TransferService.Upload as you write them, in chunks
 * of {@link UploadOptions#chunkSize(int)} (1 MiB). Nothing is written remotely unless
 * {@link #commit()} is called: it sends the rest, commits and returns the File.
 * {@link #close()} without a commit aborts (nothing is committed) and says so with an
 * IOException, so try-with-resources is the safe way:
 *
 * <pre>
 * try (RemoteOutputStream out = client.openWrite("reports/q3.csv", true)) {
 *   writeReport(out);   // throws: close() aborts, nothing appears at reports/q3.csv
 *   out.commit();       // only now does the file exist
 * }
 * </pre>
 *
 * <p>{@link #abort()}, or dropping the stream unclosed, also cancels the upload. Memory stays
 * at one chunk plus gRPC's small send buffer: a write waits while the gateway is behind.
 * Gateway failures surface from write() or commit() as {@link SdkException}s. Not
 * thread-safe.
 */
public final class RemoteOutputStream extends OutputStream {
  private static final Cleaner CLEANER = Cleaner.create();

  private final String remote;
  private final UploadCall call;
  private final Cleaner.Cleanable cleanable;
  private final byte[] buffer;
  private final ProgressListener progress;
  private final long total;
  private int buffered;
  private long written;
  private long sent;
  private boolean committed;
  private boolean closed;
  private boolean aborted;
  private UploadResponse result;

  RemoteOutputStream(FilesGateway client, String remote, UploadOptions options) {
    this.remote = remote;
    this.buffer = new byte[options.getChunkSize()];
    this.progress = options.getProgress();
    this.total = options.getExpectedSize() == null ? -1 : options.getExpectedSize();
    this.call = new UploadCall(client, Transfers.spec(remote, options),
                               options.getRequestOptions());
    UploadCall c = call;  // the cleaning action must not reach this stream
    this.cleanable = CLEANER.register(this, () -> c.cancel("the upload was abandoned"));
  }

  /** The remote path. */
  public String remote() {
    return remote;
  }

  @Override
  public void write(int b) throws IOException {
    ensureOpen();
    buffer[buffered++] = (byte) b;
    written++;
    if (buffered == buffer.length) {
      sendBuffer();
    }
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    ensureOpen();
    if (off < 0 || len < 0 || len > b.length - off) {
      throw new IndexOutOfBoundsException();
    }
    int pos = off;
    int end = off + len;
    while (pos < end) {
      if (buffered == 0 && end - pos >= buffer.length) {
        send(ByteString.copyFrom(b, pos, buffer.length));  // a whole chunk, one copy
        pos += buffer.length;
        continue;
      }
      int n = Math.min(buffer.length - buffered, end - pos);
      System.arraycopy(b, pos, buffer, buffered, n);
      buffered += n;
      pos += n;
      if (buffered == buffer.length) {
        sendBuffer();
      }
    }
    written += len;
  }

  private void sendBuffer() {
    send(ByteString.copyFrom(buffer, 0, buffered));
    buffered = 0;
  }

  private void send(ByteString data) {
    call.sendData(data);
    sent += data.size();
    if (progress != null) {
      progress.onProgress(sent, total);
    }
  }

  /** Checks that the upload is still alive; data is sent in whole chunks as it fills. */
  @Override
  public void flush() throws IOException {
    ensureOpen();
    if (call.isClosed()) {
      throw call.failure();
    }
  }

  private void ensureOpen() throws IOException {
    if (aborted) {
      throw new IOException("the upload of " + remote + " was aborted");
    }
    if (committed || closed) {
      throw new IOException("the upload of " + remote + " is "
          + (committed ? "committed" : "closed"));
    }
  }

  /** Bytes written so far. */
  public long bytesWritten() {
    return written;
  }

  /**
   * Sends what is left, commits, and waits for the File: only now does the file exist.
   * A failure cancels the upload (nothing committed) and throws. Idempotent once it returned.
   */
  public File commit() throws IOException {
    if (committed) {
      return result.getFile();
    }
    ensureOpen();
    committed = true;
    try {
      if (buffered > 0) {
        sendBuffer();
      }
      result = call.finish();
      return result.getFile();
    } catch (RuntimeException e) {
      aborted = true;
      call.cancel("the upload failed");
      throw e;
    } finally {
      cleanable.clean();
    }
  }

  /**
   * After {@link #commit()}: nothing to do. Otherwise aborts the upload (nothing is
   * committed) and throws an IOException saying so; inside a try-with-resources block that
   * threw, that IOException is attached to the block's exception as suppressed.
   */
  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    if (committed || aborted) {
      return;
    }
    abort();
    throw new IOException("the upload of " + remote + " was closed without commit(): it was"
        + " aborted and nothing was written (call commit() to write the file)");
  }

  /** Cancels the upload; nothing is committed. Idempotent; a no-op after commit(). */
  public void abort() {
    if (committed || aborted) {
      return;
    }
    aborted = true;
    call.cancel("aborted by the caller");
    cleanable.clean();
  }

  public boolean isAborted() {
    return aborted;
  }

  public boolean isCommitted() {
    return committed && result != null;
  }

  /** The committed File (after commit()), else null. */
  public File file() {
    return result == null ? null : result.getFile();
  }

  /** The UploadResponse (File, md5, crc32c of what was sent), after commit(). */
  public UploadResponse result() {
    return result;
  }
}
