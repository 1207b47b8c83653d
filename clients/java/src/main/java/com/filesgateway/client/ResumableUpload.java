package com.filesgateway.client;

import com.filesgateway.client.exceptions.ApiErrorException.InvalidRequestException;
import com.filesgateway.v1.CancelResumableUploadRequest;
import com.filesgateway.v1.File;
import com.filesgateway.v1.QueryUploadStatusRequest;
import com.filesgateway.v1.QueryUploadStatusResponse;
import com.filesgateway.v1.TransferServiceGrpc;
import com.filesgateway.v1.UploadRequest;
import com.filesgateway.v1.UploadResponse;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A resumable upload (TransferService's StartResumableUpload / QueryUploadStatus /
 * CancelResumableUpload, in the manner of GCS): the gateway keeps what arrived in whole
 * parts ({@link #persistedSize()}), so after a failure the upload continues from there,
 * from this process or another one that has the {@link #uploadId()}.
 *
 * <pre>
 * ResumableUpload up = client.startResumableUpload("big.bin", new UploadOptions().expectedSize(n));
 * save(up.uploadId());
 * // ... a failure later, perhaps in another process:
 * ResumableUpload again = client.resumableUpload(loadId());
 * File file = again.resume(Path.of("big.bin"));   // sends from persistedSize() on, commits
 * </pre>
 *
 * <p>The upload lives in the memory of the gateway replica that started it (for its TTL,
 * 24 h by default): continue it through the same gateway. Thread-safe.
 */
public final class ResumableUpload {
  private final FilesGateway client;
  private final String uploadId;
  private final UploadOptions options;

  ResumableUpload(FilesGateway client, String uploadId, UploadOptions options) {
    if (uploadId == null || uploadId.isEmpty()) {
      throw new InvalidRequestException("a resumable upload needs its upload id");
    }
    this.client = client;
    this.uploadId = uploadId;
    this.options = options;
  }

  /** The id to persist: {@link FilesGateway#resumableUpload(String)} continues with it. */
  public String uploadId() {
    return uploadId;
  }

  /** QueryUploadStatus: persisted_size, complete, and the File once committed. */
  public QueryUploadStatusResponse status() {
    try {
      return ClientCalls.blockingUnaryCall(
          client.channelFor(options.getRequestOptions()),
          TransferServiceGrpc.getQueryUploadStatusMethod(),
          client.callOptions(options.getRequestOptions(), false),
          QueryUploadStatusRequest.newBuilder().setUploadId(uploadId).build());
    } catch (StatusRuntimeException e) {
      throw Errors.fromGrpc(e);
    }
  }

  /** Bytes durably stored upstream (whole parts): where the next {@link #write} starts. */
  public long persistedSize() {
    return status().getPersistedSize();
  }

  /**
   * Sends {@code in} (the file's bytes from {@code offset}, which must equal
   * {@link #persistedSize()}) as one Upload stream. With {@code finish} the upload commits
   * after the last byte and the answer carries the File; without, it stays open and the
   * answer's persisted_size says where to continue. A failure leaves the upload resumable.
   */
  public UploadResponse write(InputStream in, long offset, boolean finish) throws IOException {
    UploadRequest first = UploadRequest.newBuilder().setUploadId(uploadId)
        .setWriteOffset(offset).build();
    UploadCall call = new UploadCall(client, first, uploadId, options.getRequestOptions());
    boolean done = false;
    try {
      Transfers.send(call, in, options.getChunkSize(), finish, options.getProgress(), offset,
                     options.getExpectedSize() == null ? -1 : options.getExpectedSize());
      UploadResponse response = call.finish();
      done = true;
      return response;
    } finally {
      if (!done) {
        call.cancel("the upload stream failed");  // the parts already stored stay
      }
    }
  }

  /**
   * Asks where the upload stands, sends the rest of {@code local} from there and commits.
   * Returns the File (also when it was already committed).
   */
  public File resume(Path local) throws IOException {
    QueryUploadStatusResponse st = status();
    if (st.getComplete()) {
      return st.getFile();
    }
    long offset = st.getPersistedSize();
    try (InputStream in = Files.newInputStream(local)) {
      long skipped = in.skip(offset);
      if (skipped != offset) {
        throw new IOException(local + " is shorter (" + skipped + " bytes) than what the "
            + "gateway already holds of the upload (" + offset + " bytes)");
      }
      return write(in, offset, true).getFile();
    }
  }

  /** CancelResumableUpload: nothing appears at the destination; the id is gone. */
  public void cancel() {
    try {
      ClientCalls.blockingUnaryCall(
          client.channelFor(options.getRequestOptions()),
          TransferServiceGrpc.getCancelResumableUploadMethod(),
          client.callOptions(options.getRequestOptions(), false),
          CancelResumableUploadRequest.newBuilder().setUploadId(uploadId).build());
    } catch (StatusRuntimeException e) {
      throw Errors.fromGrpc(e);
    }
  }

  @Override
  public String toString() {
    return "ResumableUpload{" + uploadId + "}";
  }
}
