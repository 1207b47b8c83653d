package com.filesgateway.client;

import com.filesgateway.client.exceptions.ApiErrorException.CancelledException;
import com.filesgateway.client.exceptions.ApiErrorException.GatewayException;
import com.filesgateway.client.exceptions.ErrorDetails;
import com.filesgateway.client.exceptions.SdkException;
import com.filesgateway.v1.TransferServiceGrpc;
import com.filesgateway.v1.UploadRequest;
import com.filesgateway.v1.UploadResponse;
import com.filesgateway.v1.UploadSpec;
import com.google.protobuf.ByteString;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.Status;

/**
 * One TransferService.Upload stream driven from the caller's thread with gRPC's flow
 * control: {@link #send} waits while the transport holds more than its small outbound
 * buffer (ClientCall.isReady), so a slow gateway slows the writer and memory stays at about
 * one message whatever the file size. Half-closing commits; cancelling commits nothing.
 */
final class UploadCall {
  private static final long READY_POLL_MS = 200;  // a safety net; onReady normally wakes us

  private final ClientCall<UploadRequest, UploadResponse> call;
  private final Object lock = new Object();
  private final String remote;
  private boolean closed;
  private Status status;
  private Metadata trailers;
  private UploadResponse response;

  UploadCall(FilesGateway client, UploadSpec spec, RequestOptions options) {
    this(client, UploadRequest.newBuilder().setSpec(spec).build(), spec.getPath(), options);
  }

  /** A stream whose first message is {@code first} (a spec, or an upload_id to continue). */
  UploadCall(FilesGateway client, UploadRequest first, String remote, RequestOptions options) {
    this.remote = remote;
    call = client.channelFor(options).newCall(TransferServiceGrpc.getUploadMethod(),
                                              client.callOptions(options, true));
    call.start(new ClientCall.Listener<>() {
      @Override
      public void onMessage(UploadResponse message) {
        synchronized (lock) {
          response = message;
        }
      }

      @Override
      public void onReady() {
        synchronized (lock) {
          lock.notifyAll();
        }
      }

      @Override
      public void onClose(Status s, Metadata t) {
        synchronized (lock) {
          closed = true;
          status = s;
          trailers = t;
          lock.notifyAll();
        }
      }
    }, new Metadata());
    call.request(1);
    send(first);
  }

  /** Sends data, and with {@code finish} asks a resumable upload to commit after it. */
  void sendData(ByteString data, boolean finish) {
    send(UploadRequest.newBuilder().setData(data).setFinishUpload(finish).build());
  }

  /** Sends data (one message), waiting for the transport to take it. */
  void sendData(ByteString data) {
    send(UploadRequest.newBuilder().setData(data).build());
  }

  private void send(UploadRequest request) {
    synchronized (lock) {
      while (!closed && !call.isReady()) {
        try {
          lock.wait(READY_POLL_MS);
        } catch (InterruptedException e) {
          cancel("interrupted");
          Thread.currentThread().interrupt();
          throw new CancelledException("the upload of " + remote + " was interrupted",
              ErrorDetails.builder().code(Status.Code.CANCELLED).build(), e);
        }
      }
      if (closed) {
        throw failure();
      }
    }
    call.sendMessage(request);
  }

  /** Half-closes (commits) and waits for the answer. */
  UploadResponse finish() {
    synchronized (lock) {
      if (closed) {
        throw failure();
      }
    }
    call.halfClose();
    synchronized (lock) {
      while (!closed) {
        try {
          lock.wait();
        } catch (InterruptedException e) {
          cancel("interrupted");
          Thread.currentThread().interrupt();
          throw new CancelledException("the upload of " + remote + " was interrupted",
              ErrorDetails.builder().code(Status.Code.CANCELLED).build(), e);
        }
      }
      if (status.isOk() && response != null) {  // the File, or a resumable upload's offset
        return response;
      }
      throw failure();
    }
  }

  /** Cancels the stream: nothing is committed. Safe from any thread, any number of times. */
  void cancel(String why) {
    call.cancel(why, null);  // gRPC ignores it once the call has ended
  }

  boolean isClosed() {
    synchronized (lock) {
      return closed;
    }
  }

  /** The failure of a call that ended (or an "ended early" error if it ended OK). */
  SdkException failure() {
    synchronized (lock) {
      if (!closed) {
        return new GatewayException("the upload of " + remote + " has not ended",
                                    ErrorDetails.EMPTY, null);
      }
      if (status.isOk()) {
        return new GatewayException("the upload of " + remote + " ended before it was closed",
            ErrorDetails.builder().code(Status.Code.OK).build(), null);
      }
      return Errors.fromStatus(status, trailers, status.asRuntimeException(trailers));
    }
  }
}
