package com.filesgateway.client;

import com.filesgateway.client.exceptions.ApiErrorException.CancelledException;
import com.filesgateway.client.exceptions.ApiErrorException.DataLossException;
import com.filesgateway.client.exceptions.ErrorDetails;
import com.filesgateway.client.exceptions.SdkException;
import com.filesgateway.v1.DownloadRequest;
import com.filesgateway.v1.File;
import com.filesgateway.v1.DownloadResponse;
import com.filesgateway.v1.TransferServiceGrpc;
import com.google.protobuf.ByteString;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.Status;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * An InputStream reading a TransferService.Download stream. Opening it starts the stream
 * and reads the first message (the File's metadata), so a missing file fails at open with
 * NotFoundException. Messages are requested one at a time as they are consumed (at most one
 * waits ahead), so a slow reader slows the gateway and memory stays at about two messages.
 *
 * <p>{@link #cancel()} stops the stream: later reads throw CancelledException.
 * {@link #close()} before the end cancels it too. Each message must continue where the last
 * ended, and a whole-file read must deliver the File's size, else DataLossException (the
 * gateway verifies checksums too). Gateway failures surface from read() as
 * {@link SdkException}s. Not thread-safe, except cancel().
 */
public final class RemoteInputStream extends InputStream {
  private static final int PREFETCH = 2;

  private final String remote;
  private final ClientCall<DownloadRequest, DownloadResponse> call;
  private final LinkedBlockingQueue<Object> queue = new LinkedBlockingQueue<>();
  private final long start;
  private final boolean whole;
  private final File metadata;
  private final ProgressListener progress;
  private final long total;
  private volatile boolean cancelled;
  private long received;
  private ByteString pending = ByteString.EMPTY;
  private ByteBuffer pendingView = pending.asReadOnlyByteBuffer();  // reads without copies
  private boolean eof;
  private boolean closed;

  /** What ends the stream, queued after the last message. */
  private static final class End {
    final Status status;
    final Metadata trailers;

    End(Status status, Metadata trailers) {
      this.status = status;
      this.trailers = trailers;
    }
  }

  RemoteInputStream(FilesGateway client, String remote, DownloadOptions options) {
    this.remote = remote;
    DownloadRequest request = DownloadRequest.newBuilder().setPath(remote)
        .setOffset(options.getOffset()).setLength(options.getLength())
        .setChunkSize(options.getChunkSize()).build();
    this.start = request.getOffset();
    this.whole = request.getOffset() == 0 && request.getLength() == 0;
    RequestOptions ro = options.getRequestOptions();
    call = client.channelFor(ro).newCall(TransferServiceGrpc.getDownloadMethod(),
                                         client.callOptions(ro, true));
    call.start(new ClientCall.Listener<>() {
      @Override
      public void onMessage(DownloadResponse message) {
        queue.add(message);
      }

      @Override
      public void onClose(Status status, Metadata trailers) {
        queue.add(new End(status, trailers));
      }
    }, new Metadata());
    call.sendMessage(request);
    call.halfClose();
    call.request(PREFETCH);
    DownloadResponse first = next();
    if (first == null) {
      throw dataLoss("the download of " + remote + " ended without its metadata");
    }
    metadata = first.hasMetadata() ? first.getMetadata() : null;
    progress = options.getProgress();
    long size = metadata != null && metadata.hasSize() ? metadata.getSize() : -1;
    if (request.getLength() > 0) {
      total = size < 0 ? request.getLength()
          : Math.max(0, Math.min(request.getLength(), size - start));
    } else {
      total = size < 0 ? -1 : Math.max(0, size - start);
    }
    take(first);
  }

  /** The File being read (from the stream's first message), typed; null if none came. */
  public File metadata() {
    return metadata;
  }

  /** The remote path. */
  public String remote() {
    return remote;
  }

  /** Bytes of file content received from the gateway so far. */
  public long bytesReceived() {
    return received;
  }

  /** The next message, or null at a clean end; throws the stream's failure. */
  private DownloadResponse next() {
    Object item;
    try {
      item = queue.take();
    } catch (InterruptedException e) {
      cancel();
      Thread.currentThread().interrupt();
      throw new CancelledException("the download of " + remote + " was interrupted",
          ErrorDetails.builder().code(Status.Code.CANCELLED).build(), e);
    }
    if (item instanceof DownloadResponse) {
      call.request(1);
      return (DownloadResponse) item;
    }
    eof = true;
    End end = (End) item;
    if (end.status.isOk()) {
      return null;
    }
    throw Errors.fromStatus(end.status, end.trailers, end.status.asRuntimeException(end.trailers));
  }

  private void take(DownloadResponse msg) {
    ByteString data = msg.getData();
    if (!data.isEmpty() && msg.getOffset() != start + received) {
      cancel();
      throw dataLoss("the download of " + remote + " skipped from offset "
          + (start + received) + " to " + msg.getOffset());
    }
    received += data.size();
    pending = data;
    pendingView = data.asReadOnlyByteBuffer();
    if (progress != null && !data.isEmpty()) {
      progress.onProgress(received, total);
    }
  }

  private static DataLossException dataLoss(String message) {
    return new DataLossException(message,
        ErrorDetails.builder().code(Status.Code.DATA_LOSS).build(), null);
  }

  /** True when there is pending data, false at the end of the stream. */
  private boolean fill() throws IOException {
    if (closed) {
      throw new IOException("the download of " + remote + " is closed");
    }
    if (cancelled) {
      throw new CancelledException("the download of " + remote + " was cancelled",
          ErrorDetails.builder().code(Status.Code.CANCELLED).build(), null);
    }
    while (!pendingView.hasRemaining()) {
      if (eof) {
        return false;
      }
      DownloadResponse msg = next();
      if (msg == null) {
        checkComplete();
        return false;
      }
      take(msg);
    }
    return true;
  }

  private void checkComplete() {
    if (whole && metadata != null && metadata.hasSize()) {
      long size = metadata.getSize();
      if (received != size) {
        throw dataLoss("the download of " + remote + " ended after " + received + " of "
            + size + " bytes");
      }
    }
  }

  @Override
  public int read() throws IOException {
    if (!fill()) {
      return -1;
    }
    return pendingView.get() & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    if (off < 0 || len < 0 || len > b.length - off) {
      throw new IndexOutOfBoundsException();
    }
    if (len == 0) {
      return 0;
    }
    if (!fill()) {
      return -1;
    }
    int n = Math.min(len, pendingView.remaining());
    pendingView.get(b, off, n);
    return n;
  }

  @Override
  public int available() {
    return closed || cancelled ? 0 : pendingView.remaining();
  }

  /** Writes the rest of the stream to {@code out}, message by message, without copies. */
  @Override
  public long transferTo(OutputStream out) throws IOException {
    long n = 0;
    while (fill()) {
      ByteString rest = pending.substring(pending.size() - pendingView.remaining());
      rest.writeTo(out);
      n += rest.size();
      pendingView.position(pendingView.limit());
    }
    return n;
  }

  /** Stops the stream; later reads throw CancelledException. Safe from any thread. */
  public void cancel() {
    cancelled = true;
    call.cancel("cancelled by the caller", null);
  }

  /** Closes the stream, cancelling it if it has not ended. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (!eof) {
      call.cancel("closed before the end", null);
    }
  }
}
