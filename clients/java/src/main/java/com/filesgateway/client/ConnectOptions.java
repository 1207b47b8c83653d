package com.filesgateway.client;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * How {@link FilesGateway#connect(String, ConnectOptions)} reaches the gateway. Defaults:
 * plaintext (the gateway listens on loopback or a pod-local address), a 30 s deadline per
 * unary call, no deadline on transfers, no keepalive pings, 64 MiB messages.
 */
public final class ConnectOptions {
  private boolean tls;
  private Path rootCertificates;
  private Path certificateChain;
  private Path privateKey;
  private String authority;
  private String token;
  private Duration timeout = Duration.ofSeconds(30);
  private Duration transferTimeout;
  private Duration keepaliveTime;
  private Duration keepaliveTimeout = Duration.ofSeconds(20);
  private boolean keepalivePermitWithoutCalls;
  private int maxMessageBytes = 64 << 20;
  private boolean waitForReady;
  private final List<Map.Entry<String, String>> metadata = new ArrayList<>();

  /** Use TLS (the system's trust store unless {@link #rootCertificates(Path)} is given). */
  public ConnectOptions tls(boolean value) {
    tls = value;
    return this;
  }

  /** PEM file of the CAs to trust; implies TLS. */
  public ConnectOptions rootCertificates(Path pem) {
    rootCertificates = pem;
    tls = true;
    return this;
  }

  /** PEM files of this client's certificate chain and private key (mutual TLS); implies TLS. */
  public ConnectOptions clientCertificate(Path certificateChainPem, Path privateKeyPem) {
    certificateChain = certificateChainPem;
    privateKey = privateKeyPem;
    tls = true;
    return this;
  }

  /** The authority (TLS server name) to use instead of the target's host. */
  public ConnectOptions authority(String value) {
    authority = value;
    return this;
  }

  /** A bearer token, sent as "authorization: Bearer TOKEN" on every call. */
  public ConnectOptions token(String value) {
    token = value;
    return this;
  }

  /** The default deadline of each unary call; null for none. */
  public ConnectOptions timeout(Duration value) {
    timeout = value;
    return this;
  }

  /**
   * The default deadline of uploads and downloads; null (the default) for none, since
   * their length grows with the file (keepalive detects dead peers).
   */
  public ConnectOptions transferTimeout(Duration value) {
    transferTimeout = value;
    return this;
  }

  /**
   * HTTP/2 pings after this much idle time (null: none), e.g. through load balancers that
   * drop quiet connections. Keep it at or above what the server accepts (gRPC servers
   * refuse pings more often than every 5 minutes by default).
   */
  public ConnectOptions keepaliveTime(Duration value) {
    keepaliveTime = value;
    return this;
  }

  /** How long to wait for a ping's answer before the connection is considered dead. */
  public ConnectOptions keepaliveTimeout(Duration value) {
    keepaliveTimeout = value;
    return this;
  }

  /** Also ping while no call is in flight. */
  public ConnectOptions keepalivePermitWithoutCalls(boolean value) {
    keepalivePermitWithoutCalls = value;
    return this;
  }

  /** The largest message accepted (a 1,000-item page of a big model can pass 4 MiB). */
  public ConnectOptions maxMessageBytes(int value) {
    maxMessageBytes = value;
    return this;
  }

  /**
   * Calls wait (within their deadline) for the gateway to come up instead of failing at
   * once with ApiConnectionException, e.g. in a pod whose sidecar starts after the app.
   */
  public ConnectOptions waitForReady(boolean value) {
    waitForReady = value;
    return this;
  }

  /** An ASCII metadata entry sent on every call. */
  public ConnectOptions metadata(String key, String value) {
    metadata.add(Map.entry(key, value));
    return this;
  }

  boolean isTls() {
    return tls;
  }

  Path getRootCertificates() {
    return rootCertificates;
  }

  Path getCertificateChain() {
    return certificateChain;
  }

  Path getPrivateKey() {
    return privateKey;
  }

  String getAuthority() {
    return authority;
  }

  String getToken() {
    return token;
  }

  Duration getTimeout() {
    return timeout;
  }

  Duration getTransferTimeout() {
    return transferTimeout;
  }

  Duration getKeepaliveTime() {
    return keepaliveTime;
  }

  Duration getKeepaliveTimeout() {
    return keepaliveTimeout;
  }

  boolean isKeepalivePermitWithoutCalls() {
    return keepalivePermitWithoutCalls;
  }

  int getMaxMessageBytes() {
    return maxMessageBytes;
  }

  boolean isWaitForReady() {
    return waitForReady;
  }

  List<Map.Entry<String, String>> getMetadata() {
    return Collections.unmodifiableList(metadata);
  }
}
