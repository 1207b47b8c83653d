package com.filesgateway.client;

import com.filesgateway.v1.File;
import com.filesgateway.v1.OverwritePolicy;
import com.filesgateway.v1.UploadSpec;
import com.google.protobuf.ByteString;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/** uploadFile / downloadFile over the streams (see FilesGateway for the contracts). */
final class Transfers {
  private Transfers() {}

  static UploadSpec spec(String remote, UploadOptions o) {
    UploadSpec.Builder b = UploadSpec.newBuilder().setPath(remote)
        .setMkdirParents(o.isMkdirParents())
        .setOverwrite(o.isOverwrite() ? OverwritePolicy.OVERWRITE_POLICY_UNSPECIFIED
                                      : OverwritePolicy.OVERWRITE_POLICY_FAIL_IF_EXISTS);
    if (o.getProvidedMtime() != null) {
      b.setProvidedMtime(o.getProvidedMtime());
    }
    if (o.getExpectedSize() != null) {
      b.setExpectedSize(o.getExpectedSize());
    }
    if (o.getExpectedMd5() != null) {
      b.setExpectedMd5(o.getExpectedMd5().toLowerCase(Locale.ROOT));
    }
    if (o.getExpectedCrc32c() != null) {
      b.setExpectedCrc32C(o.getExpectedCrc32c());
    }
    return b.build();
  }

  static File uploadFile(FilesGateway client, Path local, String remote, UploadOptions options)
      throws IOException {
    UploadOptions o = options.copy();
    try (InputStream in = Files.newInputStream(local)) {
      if (o.getExpectedSize() == null) {
        // Lets the gateway plan its parts and refuse a short stream.
        o.expectedSize(Files.size(local));
      }
      return upload(client, in, remote, o);
    }
  }

  /** Reads {@code in} to its end into one Upload stream; any failure commits nothing. */
  static File upload(FilesGateway client, InputStream in, String remote, UploadOptions options)
      throws IOException {
    UploadCall call = new UploadCall(client, spec(remote, options), options.getRequestOptions());
    boolean done = false;
    try {
      send(call, in, options.getChunkSize(), false, options.getProgress(), 0,
           options.getExpectedSize() == null ? -1 : options.getExpectedSize());
      File file = call.finish().getFile();
      done = true;
      return file;
    } finally {
      if (!done) {
        call.cancel("the upload failed");  // a local read error or interrupt: commit nothing
      }
    }
  }

  /**
   * Sends {@code in} to its end as data messages; with {@code finish} the last one (or an
   * empty one) asks a resumable upload to commit. Returns the bytes sent.
   */
  static long send(UploadCall call, InputStream in, int chunkSize, boolean finish,
                   ProgressListener progress, long base, long total) throws IOException {
    byte[] buf = new byte[chunkSize];
    byte[] next = new byte[chunkSize];
    long sent = 0;
    int n = in.readNBytes(buf, 0, buf.length);
    while (n > 0) {
      // Read one ahead so the last chunk can carry finish_upload.
      int m = n == buf.length ? in.readNBytes(next, 0, next.length) : 0;
      call.sendData(ByteString.copyFrom(buf, 0, n), finish && m <= 0);
      sent += n;
      if (progress != null) {
        progress.onProgress(base + sent, total);
      }
      byte[] t = buf;
      buf = next;
      next = t;
      n = m;
    }
    if (finish && sent == 0) {
      call.sendData(ByteString.EMPTY, true);
    }
    return sent;
  }

  static File downloadFile(FilesGateway client, String remote, Path local,
                            DownloadOptions options) throws IOException {
    Path target = local.toAbsolutePath();
    Path dir = target.getParent();
    Path tmp = Files.createTempFile(dir, "." + target.getFileName() + ".", ".part");
    boolean done = false;
    try (RemoteInputStream in = new RemoteInputStream(client, remote, options)) {
      try (OutputStream out = Files.newOutputStream(tmp)) {
        in.transferTo(out);
      }
      try {
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING,
                   StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
      }
      done = true;
      return in.metadata();
    } finally {
      if (!done) {
        Files.deleteIfExists(tmp);
      }
    }
  }
}
