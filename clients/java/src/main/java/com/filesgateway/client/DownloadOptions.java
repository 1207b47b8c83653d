package com.filesgateway.client;

/** Options of a download (files.v1.DownloadRequest): a byte range and the message size. */
public final class DownloadOptions {
  private long offset;
  private long length;
  private int chunkSize;
  private RequestOptions requestOptions;
  private ProgressListener progress;

  /** First byte to read. */
  public DownloadOptions offset(long value) {
    offset = value;
    return this;
  }

  /** Bytes to read from the offset; 0 (the default) reads to the end. */
  public DownloadOptions length(long value) {
    length = value;
    return this;
  }

  /** Preferred bytes per message (the gateway clamps it); 0 uses the gateway's setting. */
  public DownloadOptions chunkSize(int value) {
    chunkSize = value;
    return this;
  }

  /** Deadline and metadata of the Download call (default: the client's transfer timeout). */
  public DownloadOptions requestOptions(RequestOptions value) {
    requestOptions = value;
    return this;
  }

  /** Called after each chunk received (bytes so far, bytes the read will deliver or -1). */
  public DownloadOptions progress(ProgressListener value) {
    progress = value;
    return this;
  }

  ProgressListener getProgress() {
    return progress;
  }

  long getOffset() {
    return offset;
  }

  long getLength() {
    return length;
  }

  int getChunkSize() {
    return chunkSize;
  }

  RequestOptions getRequestOptions() {
    return requestOptions;
  }
}
