package com.filesgateway.client;

import java.time.Instant;

/**
 * Options of an upload (files.v1.UploadSpec plus how the client sends it). Fluent and
 * mutable: {@code new UploadOptions().mkdirParents(true).overwrite(false)}.
 */
public final class UploadOptions {
  /** The data per Upload message unless {@link #chunkSize(int)} says otherwise: 1 MiB. */
  public static final int DEFAULT_CHUNK_SIZE = 1 << 20;

  private boolean mkdirParents;
  private String providedMtime;
  private Long expectedSize;
  private String expectedMd5;
  private Integer expectedCrc32c;
  private boolean overwrite = true;
  private int chunkSize = DEFAULT_CHUNK_SIZE;
  private RequestOptions requestOptions;
  private ProgressListener progress;

  /** Create missing parent folders. */
  public UploadOptions mkdirParents(boolean value) {
    mkdirParents = value;
    return this;
  }

  /** Stored as the file's provided_mtime. */
  public UploadOptions providedMtime(Instant value) {
    providedMtime = value == null ? null : value.toString();
    return this;
  }

  /** Stored as the file's provided_mtime (RFC 3339, e.g. "2026-11-29T10:00:00Z"). */
  public UploadOptions providedMtime(String value) {
    providedMtime = value;
    return this;
  }

  /**
   * Exactly this many bytes must arrive, or nothing is committed (uploadFile sets it from
   * the local file's size).
   */
  public UploadOptions expectedSize(Long value) {
    expectedSize = value;
    return this;
  }

  /** Hex MD5 of the whole content, verified by the gateway before the commit. */
  public UploadOptions expectedMd5(String value) {
    expectedMd5 = value;
    return this;
  }

  /** CRC32C (Castagnoli) of the whole content, verified before the commit. */
  public UploadOptions expectedCrc32c(Integer value) {
    expectedCrc32c = value;
    return this;
  }

  /** False: fail with ProcessingFailure's DestinationExistsException if the file exists. */
  public UploadOptions overwrite(boolean value) {
    overwrite = value;
    return this;
  }

  /** Bytes per Upload message (the stream's unit of buffering). */
  public UploadOptions chunkSize(int value) {
    if (value <= 0) {
      throw new IllegalArgumentException("chunkSize must be positive");
    }
    chunkSize = value;
    return this;
  }

  /** Deadline and metadata of the Upload call (default: the client's transfer timeout). */
  public UploadOptions requestOptions(RequestOptions value) {
    requestOptions = value;
    return this;
  }

  /** Called after each chunk sent (bytes so far, expected size or -1). */
  public UploadOptions progress(ProgressListener value) {
    progress = value;
    return this;
  }

  ProgressListener getProgress() {
    return progress;
  }

  boolean isMkdirParents() {
    return mkdirParents;
  }

  String getProvidedMtime() {
    return providedMtime;
  }

  Long getExpectedSize() {
    return expectedSize;
  }

  String getExpectedMd5() {
    return expectedMd5;
  }

  Integer getExpectedCrc32c() {
    return expectedCrc32c;
  }

  boolean isOverwrite() {
    return overwrite;
  }

  int getChunkSize() {
    return chunkSize;
  }

  RequestOptions getRequestOptions() {
    return requestOptions;
  }

  UploadOptions copy() {
    UploadOptions c = new UploadOptions();
    c.mkdirParents = mkdirParents;
    c.providedMtime = providedMtime;
    c.expectedSize = expectedSize;
    c.expectedMd5 = expectedMd5;
    c.expectedCrc32c = expectedCrc32c;
    c.overwrite = overwrite;
    c.chunkSize = chunkSize;
    c.requestOptions = requestOptions;
    c.progress = progress;
    return c;
  }
}
