package com.filesgateway.client;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * Per-call options: a deadline, the Files.com credentials, workspace and language of this
 * call, extra metadata, wait-for-ready. Pass one as the last
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

  /**
   * The Files.com API key for this call ({@code x-files-api-key}; the gateway uses it instead
   * of its own when its config allows callers to bring one). Never logged.
   */
  public RequestOptions withApiKey(String apiKey) {
    return withMetadata("x-files-api-key", apiKey);
  }

  /** A Files.com session id for this call ({@code x-files-session-id}). Never logged. */
  public RequestOptions withSessionId(String sessionId) {
    return withMetadata("x-files-session-id", sessionId);
  }

  /**
   * The Files.com workspace of this call: metadata {@code x-files-workspace-id}, which the
   * gateway forwards as the {@code X-Files-Workspace-Id} header (the SDK's workspace_id).
   */
  public RequestOptions withWorkspaceId(long workspaceId) {
    return withMetadata("x-files-workspace-id", Long.toString(workspaceId));
  }

  /**
   * The language Files.com answers in (messages, titles): metadata {@code x-files-language},
   * forwarded as {@code Accept-Language} (the SDK's language option), e.g. "es" or "de-DE".
   */
  public RequestOptions withLanguage(String language) {
    return withMetadata("x-files-language", language);
  }

  /** Adds an ASCII metadata entry (a request header) to the call. */
  public RequestOptions withMetadata(String key, String value) {
    if (key == null || value == null) {
      throw new IllegalArgumentException("metadata " + key + ": null key or value");
    }
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c < 0x20 || c > 0x7e) {
        throw new IllegalArgumentException("metadata " + key + ": only printable ASCII is "
            + "allowed in a header value");
      }
    }
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
