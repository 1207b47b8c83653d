package com.filesgateway.client.exceptions;

import io.grpc.Status;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * What is known about a failure: the gRPC code, and from the gateway's rich status
 * (google.rpc.ErrorInfo, RetryInfo and the files.v1.FilesError detail) the Files.com
 * type, HTTP status, retry delay and the rest of the Files.com error body. The Java SDK
 * keeps the same facts in its ResponseError. Absent facts are null (empty for the maps).
 */
public final class ErrorDetails {
  /** No facts at all (errors raised before anything was sent). */
  public static final ErrorDetails EMPTY = builder().build();

  private final Status.Code code;
  private final String type;
  private final Integer httpStatus;
  private final Duration retryDelay;
  private final String reason;
  private final String domain;
  private final Map<String, String> metadata;
  private final String title;
  private final List<Object> errors;
  private final Map<String, Object> data;
  private final Map<String, Object> modelErrors;
  private final Map<String, Object> modelErrorKeys;
  private final Integer httpCode;
  private final String instance;

  private ErrorDetails(Builder b) {
    code = b.code;
    type = b.type;
    httpStatus = b.httpStatus;
    retryDelay = b.retryDelay;
    reason = b.reason;
    domain = b.domain;
    metadata = b.metadata == null ? Map.of() : Collections.unmodifiableMap(b.metadata);
    title = b.title;
    errors = b.errors == null ? null : Collections.unmodifiableList(b.errors);
    data = b.data == null ? null : Collections.unmodifiableMap(b.data);
    modelErrors = b.modelErrors == null ? null : Collections.unmodifiableMap(b.modelErrors);
    modelErrorKeys = b.modelErrorKeys == null ? null
        : Collections.unmodifiableMap(b.modelErrorKeys);
    httpCode = b.httpCode;
    instance = b.instance;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The gRPC status code of the failed call (null when no call was made). */
  public Status.Code getCode() {
    return code;
  }

  /** The Files.com error type, e.g. "not-found/user-not-found". */
  public String getType() {
    return type;
  }

  /** The HTTP status Files.com answered with. */
  public Integer getHttpStatus() {
    return httpStatus;
  }

  /** How long to wait before retrying (google.rpc.RetryInfo), when the gateway knows. */
  public Duration getRetryDelay() {
    return retryDelay;
  }

  /** google.rpc.ErrorInfo.reason, e.g. "USER_NOT_FOUND". */
  public String getReason() {
    return reason;
  }

  /** google.rpc.ErrorInfo.domain: "files.com", or "files-gateway" for the gateway's own. */
  public String getDomain() {
    return domain;
  }

  /** google.rpc.ErrorInfo.metadata (type, group, http_status, ...). */
  public Map<String, String> getMetadata() {
    return metadata;
  }

  public String getTitle() {
    return title;
  }

  /** The body's "errors" items (strings or objects). */
  public List<Object> getErrors() {
    return errors;
  }

  public Map<String, Object> getData() {
    return data;
  }

  public Map<String, Object> getModelErrors() {
    return modelErrors;
  }

  public Map<String, Object> getModelErrorKeys() {
    return modelErrorKeys;
  }

  /** The body's "http-code". */
  public Integer getHttpCode() {
    return httpCode;
  }

  public String getInstance() {
    return instance;
  }

  @Override
  public String toString() {
    StringBuilder b = new StringBuilder("ErrorDetails{");
    if (code != null) {
      b.append("code=").append(code);
    }
    if (type != null) {
      b.append(", type=").append(type);
    }
    if (httpStatus != null) {
      b.append(", httpStatus=").append(httpStatus);
    }
    if (retryDelay != null) {
      b.append(", retryDelay=").append(retryDelay);
    }
    if (title != null) {
      b.append(", title=").append(title);
    }
    return b.append('}').toString();
  }

  /** Builds ErrorDetails; every setter accepts null for "unknown". */
  public static final class Builder {
    private Status.Code code;
    private String type;
    private Integer httpStatus;
    private Duration retryDelay;
    private String reason;
    private String domain;
    private Map<String, String> metadata;
    private String title;
    private List<Object> errors;
    private Map<String, Object> data;
    private Map<String, Object> modelErrors;
    private Map<String, Object> modelErrorKeys;
    private Integer httpCode;
    private String instance;

    private Builder() {}

    public Builder code(Status.Code v) {
      code = v;
      return this;
    }

    public Builder type(String v) {
      type = v;
      return this;
    }

    public Builder httpStatus(Integer v) {
      httpStatus = v;
      return this;
    }

    public Builder retryDelay(Duration v) {
      retryDelay = v;
      return this;
    }

    public Builder reason(String v) {
      reason = v;
      return this;
    }

    public Builder domain(String v) {
      domain = v;
      return this;
    }

    public Builder metadata(Map<String, String> v) {
      metadata = v;
      return this;
    }

    public Builder title(String v) {
      title = v;
      return this;
    }

    public Builder errors(List<Object> v) {
      errors = v;
      return this;
    }

    public Builder data(Map<String, Object> v) {
      data = v;
      return this;
    }

    public Builder modelErrors(Map<String, Object> v) {
      modelErrors = v;
      return this;
    }

    public Builder modelErrorKeys(Map<String, Object> v) {
      modelErrorKeys = v;
      return this;
    }

    public Builder httpCode(Integer v) {
      httpCode = v;
      return this;
    }

    public Builder instance(String v) {
      instance = v;
      return this;
    }

    public ErrorDetails build() {
      return new ErrorDetails(this);
    }
  }
}
