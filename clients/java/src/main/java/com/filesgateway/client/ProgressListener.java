package com.filesgateway.client;

/**
 * Progress of an upload or a download, called on the transferring thread after each chunk
 * the transport took (uploads) or delivered (downloads). Keep it quick; an exception thrown
 * here fails the transfer (an upload then commits nothing).
 *
 * <pre>
 * client.uploadFile(local, "big.bin", new UploadOptions().progress(
 *     (bytes, total) -&gt; System.out.printf("%d of %d%n", bytes, total)));
 * </pre>
 */
@FunctionalInterface
public interface ProgressListener {
  /**
   * @param bytes bytes moved so far (for a resumed upload, counted from the file's start)
   * @param total the file's size when known (expected size, local file, download metadata),
   *     else -1
   */
  void onProgress(long bytes, long total);
}
