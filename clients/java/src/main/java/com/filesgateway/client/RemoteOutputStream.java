package com.filesgateway.client;

import com.filesgateway.client.exceptions.SdkException;
import com.filesgateway.v1.UploadResponse;
import com.google.protobuf.ByteString;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.ref.Cleaner;

/**
 * An OutputStream whose bytes stream to TransferService.Upload as you write them, in chunks
 * of {@link UploadOptions#chunkSize(int)} (1 MiB). {@link #close()} sends the rest, commits
 * and waits for the File ({@link #file()}); {@link #abort()}, or dropping the stream without
 * closing it, cancels the upload and nothing is committed. Memory stays at one chunk plus
 * gRPC's small send buffer: a write waits while the gateway is behind.
 *
 * <p>try-with-resources closes (commits) even when the block throws; to commit nothing on
 * an exception, use {@link FilesGateway#write} or call abort() in a catch. Gateway failures
 * surface from write() or close() as {@link SdkException}s. Not thread-safe.
 */
public final class RemoteOutputStream extends OutputStream {
  private static final Cleaner CLEANER = Cleaner.create();

  private final FilesGateway client;
  private final String remote;
  private final UploadCall call;
  private final Cleaner.Cleanable cleanable;
  private final byte[] buffer;
  private int buffered;
  private long written;
  private boolean closed;
  private boolean aborted;
  private UploadResponse result;
  private Model file;

  RemoteOutputStream(FilesGateway client, String remote, UploadOptions options) {
    this.client = client;
    this.remote = remote;
    this.buffer = new byte[options.getChunkSize()];
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
        call.sendData(ByteString.copyFrom(b, pos, buffer.length));  // a whole chunk, no copy
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
    call.sendData(ByteString.copyFrom(buffer, 0, buffered));
    buffered = 0;
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
    if (closed) {
      throw new IOException("the upload of " + remote + " is closed");
    }
  }

  /** Bytes written so far. */
  public long bytesWritten() {
    return written;
  }

  /** Sends what is left, commits, and waits for the File. Idempotent. */
  @Override
  public void close() {
    if (closed || aborted) {
      return;
    }
    closed = true;
    try {
      if (buffered > 0) {
        sendBuffer();
      }
      result = call.finish();
      file = new Model(result.getFile(), client);
    } catch (RuntimeException e) {
      call.cancel("the upload failed");
      throw e;
    } finally {
      cleanable.clean();
    }
  }

  /** Cancels the upload; nothing is committed. Idempotent; a no-op after close(). */
  public void abort() {
    if (closed || aborted) {
      return;
    }
    aborted = true;
    call.cancel("aborted by the caller");
    cleanable.clean();
  }

  public boolean isAborted() {
    return aborted;
  }

  /** The committed File (after close()), else null. */
  public Model file() {
    return file;
  }

  /** The UploadResponse (File, md5, crc32c of what was sent), after close(). */
  public UploadResponse result() {
    return result;
  }
}
