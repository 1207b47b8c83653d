package com.filesgateway.client;

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

  static Model uploadFile(FilesGateway client, Path local, String remote, UploadOptions options)
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
  static Model upload(FilesGateway client, InputStream in, String remote, UploadOptions options)
      throws IOException {
    UploadCall call = new UploadCall(client, spec(remote, options), options.getRequestOptions());
    boolean done = false;
    try {
      byte[] buf = new byte[options.getChunkSize()];
      while (true) {
        int n = in.readNBytes(buf, 0, buf.length);
        if (n <= 0) {
          break;
        }
        call.sendData(ByteString.copyFrom(buf, 0, n));
      }
      Model file = new Model(call.finish().getFile(), client);
      done = true;
      return file;
    } finally {
      if (!done) {
        call.cancel("the upload failed");  // a local read error or interrupt: commit nothing
      }
    }
  }

  static Model downloadFile(FilesGateway client, String remote, Path local,
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
