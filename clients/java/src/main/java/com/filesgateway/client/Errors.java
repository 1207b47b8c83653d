package com.filesgateway.client;

import com.filesgateway.client.exceptions.ApiErrorException;
import com.filesgateway.client.exceptions.ApiErrorException.ApiConnectionException;
import com.filesgateway.client.exceptions.ApiErrorException.CancelledException;
import com.filesgateway.client.exceptions.ApiErrorException.DataLossException;
import com.filesgateway.client.exceptions.ApiErrorException.DeadlineExceededException;
import com.filesgateway.client.exceptions.ApiErrorException.GatewayException;
import com.filesgateway.client.exceptions.ErrorDetails;
import com.filesgateway.client.exceptions.SdkException;
import com.filesgateway.client.internal.Values;
import com.filesgateway.client.internal.rpc.ErrorInfo;
import com.filesgateway.client.internal.rpc.RetryInfo;
import com.google.protobuf.Any;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import io.grpc.Metadata;
import io.grpc.Status;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * The one translation from a failed gRPC call to this client's exceptions.
 *
 * <p>The class comes from the gateway's rich status (google.rpc.Status in the
 * grpc-status-details-bin trailer): google.rpc.ErrorInfo's metadata "type" (e.g.
 * "not-found/user-not-found") picks the catalogue class, an unknown leaf falls back to its
 * group; google.rpc.RetryInfo gives the retry delay; the files.v1.FilesError detail the rest
 * of the Files.com error body. Statuses without a Files.com type map by gRPC code:
 * UNAVAILABLE to ApiConnectionException, DEADLINE_EXCEEDED to DeadlineExceededException,
 * CANCELLED to CancelledException, DATA_LOSS to DataLossException, the group codes (for
 * statuses the gateway builds itself, ErrorInfo domain "files-gateway") to the group classes,
 * anything else to GatewayException.
 */
public final class Errors {
  private static final Metadata.Key<byte[]> STATUS_DETAILS =
      Metadata.Key.of("grpc-status-details-bin", Metadata.BINARY_BYTE_MARSHALLER);
  private static final String FILES_ERROR = "files.v1.FilesError";

  /** Gateway-built statuses by code: the Files.com group they stand for (mirrors the gateway). */
  private static final Map<Status.Code, String> GROUP_BY_CODE = new EnumMap<>(Status.Code.class);

  static {
    GROUP_BY_CODE.put(Status.Code.INVALID_ARGUMENT, "bad-request");
    GROUP_BY_CODE.put(Status.Code.OUT_OF_RANGE, "bad-request");
    GROUP_BY_CODE.put(Status.Code.UNAUTHENTICATED, "not-authenticated");
    GROUP_BY_CODE.put(Status.Code.PERMISSION_DENIED, "not-authorized");
    GROUP_BY_CODE.put(Status.Code.NOT_FOUND, "not-found");
    GROUP_BY_CODE.put(Status.Code.FAILED_PRECONDITION, "processing-failure");
    GROUP_BY_CODE.put(Status.Code.ABORTED, "processing-failure");
    // gRPC itself answers RESOURCE_EXHAUSTED for an oversized message: only with the
    // gateway's ErrorInfo is it a rate limit (checked below).
    GROUP_BY_CODE.put(Status.Code.RESOURCE_EXHAUSTED, "rate-limited");
    // TransferService's overwrite policy FAIL_IF_EXISTS.
    GROUP_BY_CODE.put(Status.Code.ALREADY_EXISTS, "processing-failure/destination-exists");
  }

  private Errors() {}

  /**
   * The typed exception for anything a gRPC call threw (StatusRuntimeException,
   * StatusException, or any Throwable: its status is found with Status.fromThrowable).
   * An SdkException is returned as it is.
   */
  public static SdkException fromGrpc(Throwable t) {
    if (t instanceof SdkException) {
      return (SdkException) t;
    }
    Status status = Status.fromThrowable(t);
    Metadata trailers = Status.trailersFromThrowable(t);
    return fromStatus(status, trailers, t);
  }

  /** The typed exception for a status and its trailers (which may be null). */
  public static SdkException fromStatus(Status status, Metadata trailers, Throwable cause) {
    Status.Code code = status.getCode();
    String message = status.getDescription();
    if (message == null || message.isEmpty()) {
      message = status.getCause() != null && status.getCause().getMessage() != null
          ? status.getCause().getMessage() : code.name();
    }
    ErrorInfo info = null;
    RetryInfo retry = null;
    Message filesError = null;
    byte[] raw = trailers == null ? null : trailers.get(STATUS_DETAILS);
    if (raw != null) {
      try {
        com.filesgateway.client.internal.rpc.Status rich =
            com.filesgateway.client.internal.rpc.Status.parseFrom(raw);
        for (Any any : rich.getDetailsList()) {
          String name = any.getTypeUrl().substring(any.getTypeUrl().lastIndexOf('/') + 1);
          if (name.equals("google.rpc.ErrorInfo")) {
            info = ErrorInfo.parseFrom(any.getValue());
          } else if (name.equals("google.rpc.RetryInfo")) {
            retry = RetryInfo.parseFrom(any.getValue());
          } else if (name.equals(FILES_ERROR)) {
            Descriptor d = Api.get().messageType(FILES_ERROR);
            if (d != null) {
              filesError = DynamicMessage.parseFrom(d, any.getValue());
            }
          }
        }
      } catch (InvalidProtocolBufferException e) {
        // A malformed details trailer: classify by code alone.
      }
    }
    ErrorDetails.Builder details = ErrorDetails.builder().code(code);
    Map<String, String> metadata = info != null ? info.getMetadataMap() : Map.of();
    if (info != null) {
      details.reason(emptyToNull(info.getReason())).domain(emptyToNull(info.getDomain()))
          .metadata(metadata);
    }
    if (retry != null && retry.hasRetryDelay()) {
      details.retryDelay(Duration.ofSeconds(retry.getRetryDelay().getSeconds(),
                                            retry.getRetryDelay().getNanos()));
    }
    String type = emptyToNull(metadata.get("type"));
    if (type == null && filesError != null) {
      type = emptyToNull(stringField(filesError, "type"));
    }
    details.type(type);
    Integer httpStatus = parseInt(metadata.get("http_status"));
    if (filesError != null) {
      details.title(emptyToNull(stringField(filesError, "title")));
      details.instance(emptyToNull(stringField(filesError, "instance")));
      Integer httpCode = intField(filesError, "http_code");
      details.httpCode(httpCode != null && httpCode != 0 ? httpCode : null);
      details.errors(listField(filesError, "errors"));
      details.data(mapField(filesError, "data"));
      details.modelErrors(mapField(filesError, "model_errors"));
      details.modelErrorKeys(mapField(filesError, "model_error_keys"));
      if (httpStatus == null) {
        Integer upstream = intField(filesError, "http_status");
        httpStatus = upstream != null && upstream != 0 ? upstream : null;
      }
    }
    details.httpStatus(httpStatus);
    ErrorDetails d = details.build();

    if (type != null) {
      return ApiErrorException.forType(type, metadata.get("group"), message, d, cause);
    }
    switch (code) {
      case UNAVAILABLE:
        return new ApiConnectionException(message, d, cause);
      case DEADLINE_EXCEEDED:
        return new DeadlineExceededException(message, d, cause);
      case CANCELLED:
        return new CancelledException(message, d, cause);
      case DATA_LOSS:
        return new DataLossException(message, d, cause);
      default:
        break;
    }
    String group = GROUP_BY_CODE.get(code);
    if (group != null && (info != null || code != Status.Code.RESOURCE_EXHAUSTED)) {
      return ApiErrorException.forType(group, null, message, d, cause);
    }
    return new GatewayException(message, d, cause);
  }

  private static String emptyToNull(String s) {
    return s == null || s.isEmpty() ? null : s;
  }

  private static Integer parseInt(String s) {
    if (s == null || s.isEmpty()) {
      return null;
    }
    try {
      return Integer.valueOf(s.trim());
    } catch (NumberFormatException e) {
      return null;
    }
  }

  private static FieldDescriptor field(Message m, String name) {
    return m.getDescriptorForType().findFieldByName(name);
  }

  private static String stringField(Message m, String name) {
    FieldDescriptor fd = field(m, name);
    return fd == null ? null : (String) m.getField(fd);
  }

  private static Integer intField(Message m, String name) {
    FieldDescriptor fd = field(m, name);
    return fd == null ? null : (Integer) m.getField(fd);
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> mapField(Message m, String name) {
    FieldDescriptor fd = field(m, name);
    if (fd == null || !m.hasField(fd)) {
      return null;
    }
    Map<String, Object> v = (Map<String, Object>) Values.json((Message) m.getField(fd));
    return v == null || v.isEmpty() ? null : v;
  }

  @SuppressWarnings("unchecked")
  private static List<Object> listField(Message m, String name) {
    FieldDescriptor fd = field(m, name);
    if (fd == null || !m.hasField(fd)) {
      return null;
    }
    List<Object> v = (List<Object>) Values.json((Message) m.getField(fd));
    return v == null || v.isEmpty() ? null : v;
  }
}
