package com.filesgateway.client;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * Per-call options: a deadline, extra metadata, wait-for-ready. Pass one as the last
 * argument of an action ({@code users.find(42, RequestOptions.timeout(Duration.ofSeconds(5)))})
 * or in UploadOptions / DownloadOptions. Unset options take the client's defaults.
 * A fluent, mutable holder: build it, then do not change it while calls use it.
 */
public final class RequestOptions {
  private boolean timeoutSet;
  private Duration timeout;
  private Boolean waitForReady;
  private final List<Map.Entry<String, String>> metadata = new ArrayList<>();

  /** Options with a deadline of {@code timeout} from the start of each call. */
  public static RequestOptions timeout(Duration timeout) {
    return new RequestOptions().withTimeout(timeout);
  }

  /** The call's deadline, from its start; null for none. Default: the client's timeout. */
  public RequestOptions withTimeout(Duration value) {
    timeoutSet = true;
    timeout = value;
    return this;
  }

  /** Wait (within the deadline) for the gateway to be reachable instead of failing at once. */
  public RequestOptions withWaitForReady(boolean value) {
    waitForReady = value;
    return this;
  }

  /** Adds an ASCII metadata entry (a request header) to the call. */
  public RequestOptions withMetadata(String key, String value) {
    metadata.add(Map.entry(key, value));
    return this;
  }

  boolean hasTimeout() {
    return timeoutSet;
  }

  Duration getTimeout() {
    return timeout;
  }

  Boolean getWaitForReady() {
    return waitForReady;
  }

  List<Map.Entry<String, String>> getMetadata() {
    return Collections.unmodifiableList(metadata);
  }
}
