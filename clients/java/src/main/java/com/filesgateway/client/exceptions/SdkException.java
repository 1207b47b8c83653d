package com.filesgateway.client.exceptions;

import io.grpc.Status;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Base of every exception this client throws (the Files.com Java SDK's SdkException).
 *
 * <pre>
 * SdkException
 * ├── ApiErrorException                      Files.com (through the gateway) refused the call
 * │   ├── BadRequestException ── RequestParamsRequiredException, InvalidSortFieldException, ...
 * │   ├── NotAuthenticatedException, NotAuthorizedException, NotFoundException,
 * │   │   ProcessingFailureException, RateLimitedException, ServiceUnavailableException,
 * │   │   SiteConfigurationException ── their leaf classes
 * │   └── GatewayException ── DataLossException      the gateway failed on its own
 * ├── ApiConnectionException ── DeadlineExceededException   UNAVAILABLE / DEADLINE_EXCEEDED
 * ├── CancelledException                                    CANCELLED
 * └── InvalidRequestException ── InvalidParameterException, MissingParameterException
 * </pre>
 *
 * All but SdkException are nested in {@link ApiErrorException}, as in the SDK. Unchecked,
 * like grpc-java's StatusRuntimeException.
 */
public class SdkException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final transient ErrorDetails details;

  public SdkException(String message) {
    this(message, ErrorDetails.EMPTY, null);
  }

  public SdkException(String message, ErrorDetails details, Throwable cause) {
    super(message, cause);
    this.details = details == null ? ErrorDetails.EMPTY : details;
  }

  /** Every fact known about the failure. */
  public ErrorDetails getDetails() {
    return details;
  }

  /** The gRPC status code, or null when no call was made. */
  public Status.Code getCode() {
    return details.getCode();
  }

  /** The Files.com error type, e.g. "not-found/user-not-found" (null when not from Files.com). */
  public String getType() {
    return details.getType();
  }

  /** The SDK's spelling of {@link #getMessage()}. */
  public String getError() {
    return getMessage();
  }

  public Integer getHttpStatus() {
    return details.getHttpStatus();
  }

  /** The delay the gateway advises before a retry (google.rpc.RetryInfo), or null. */
  public Duration getRetryDelay() {
    return details.getRetryDelay();
  }

  public String getReason() {
    return details.getReason();
  }

  public String getDomain() {
    return details.getDomain();
  }

  public Map<String, String> getMetadata() {
    return details.getMetadata();
  }

  public String getTitle() {
    return details.getTitle();
  }

  public List<Object> getErrors() {
    return details.getErrors();
  }

  public Map<String, Object> getData() {
    return details.getData();
  }

  public Map<String, Object> getModelErrors() {
    return details.getModelErrors();
  }

  public Map<String, Object> getModelErrorKeys() {
    return details.getModelErrorKeys();
  }

  public Integer getHttpCode() {
    return details.getHttpCode();
  }

  public String getInstance() {
    return details.getInstance();
  }

  @Override
  public String toString() {
    StringBuilder b = new StringBuilder(getClass().getSimpleName()).append(": ");
    if (getType() != null) {
      b.append('[').append(getType()).append("] ");
    }
    String text = getMessage() != null ? getMessage() : getTitle();
    b.append(text == null ? "(no message)" : text);
    if (getCode() != null) {
      b.append(" (").append(getCode()).append(getHttpStatus() != null
          ? ", HTTP " + getHttpStatus() : "").append(')');
    }
    return b.toString();
  }
}
