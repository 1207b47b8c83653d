package com.filesgateway.client;

import com.filesgateway.client.exceptions.ApiErrorException.InvalidRequestException;
import com.filesgateway.v1.File;
import com.filesgateway.v1.ListForFolderRequest;
import com.filesgateway.v1.StartResumableUploadRequest;
import com.filesgateway.v1.TransferServiceGrpc;
import com.google.protobuf.DynamicMessage;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.StatusRuntimeException;
import com.filesgateway.client.internal.Alpn;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.channel.EventLoopGroup;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.SortedSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;

/**
 * A client of files-gateway: every Files.com resource in the SDK's shape, and file content
 * over files.v1.TransferService. Thread-safe; {@link #close()} closes the channel.
 *
 * <pre>
 * try (FilesGateway client = FilesGateway.connect("127.0.0.1:50051")) {
 *   for (Model user : client.resource("users").list(Map.of("per_page", 1000))) {
 *     System.out.println(user.get("username"));
 *   }
 *   client.uploadFile(Path.of("report.csv"), "reports/report.csv", true);
 * }
 * </pre>
 */
public final class FilesGateway extends FilesGatewayResources implements AutoCloseable {
  /** Where the gateway listens by default. */
  public static final String DEFAULT_TARGET = "127.0.0.1:50051";

  private final ManagedChannel ownedChannel;
  private final Channel channel;
  private final ConnectOptions options;
  private final String target;
  private final Map<String, Resource> resources = new ConcurrentHashMap<>();
  private EventLoopGroup ownedGroup;  // unix: targets' native event loop

  private FilesGateway(ManagedChannel owned, Channel channel, ConnectOptions options,
                       String target) {
    this.ownedChannel = owned;
    this.options = options;
    this.target = target;
    this.channel = ClientInterceptors.intercept(channel, MetadataUtils
        .newAttachHeadersInterceptor(headers(options.getToken(), options.getMetadata())));
  }

  @Override
  FilesGateway gateway() {
    return this;
  }

  /** Connects to the gateway at 127.0.0.1:50051 with the default options. */
  public static FilesGateway connect() {
    return connect(DEFAULT_TARGET, new ConnectOptions());
  }

  /** Connects to a gateway at "host:port" with the default options. */
  public static FilesGateway connect(String target) {
    return connect(target, new ConnectOptions());
  }

  /**
   * Opens a channel to the gateway at {@code target} ("host:port", or any target gRPC's
   * name resolvers know, e.g. "dns:///files-gateway:50051"). Nothing is sent until the
   * first call.
   */
  public static FilesGateway connect(String target, ConnectOptions options) {
    EventLoopGroup group = null;
    NettyChannelBuilder b;
    if (target.startsWith("unix:")) {
      NativeTransport t = NativeTransport.find(target);
      group = t.group;
      // The socket path is no valid :authority; "localhost" is what gRPC's C core sends.
      b = NettyChannelBuilder.forAddress(t.address).eventLoopGroup(t.group)
          .channelType(t.channelType).overrideAuthority("localhost");
    } else {
      b = NettyChannelBuilder.forTarget(target);
    }
    b.maxInboundMessageSize(options.getMaxMessageBytes())
        .userAgent("files-gateway-java");
    if (options.isTls()) {
      try {
        b.sslContext(Alpn.clientContext(
            options.getRootCertificates() == null ? null : options.getRootCertificates().toFile(),
            options.getCertificateChain() == null ? null : options.getCertificateChain().toFile(),
            options.getPrivateKey() == null ? null : options.getPrivateKey().toFile()))
            .useTransportSecurity();
      } catch (SSLException e) {
        throw new InvalidRequestException("TLS set-up failed: " + e.getMessage());
      }
    } else {
      b.usePlaintext();
    }
    if (options.getAuthority() != null) {
      b.overrideAuthority(options.getAuthority());
    }
    if (options.getKeepaliveTime() != null) {
      b.keepAliveTime(options.getKeepaliveTime().toMillis(), TimeUnit.MILLISECONDS)
          .keepAliveTimeout(options.getKeepaliveTimeout().toMillis(), TimeUnit.MILLISECONDS)
          .keepAliveWithoutCalls(options.isKeepalivePermitWithoutCalls());
    }
    ManagedChannel ch = b.build();
    FilesGateway client = new FilesGateway(ch, ch, options, target);
    client.ownedGroup = group;
    return client;
  }

  /**
   * A client over a channel you manage (in-process servers, custom transports, shared
   * channels); {@link #close()} leaves it open.
   */
  public static FilesGateway forChannel(Channel channel, ConnectOptions options) {
    return new FilesGateway(null, channel, options, channel.authority());
  }

  private static Metadata headers(String token, List<Map.Entry<String, String>> entries) {
    Metadata md = new Metadata();
    for (Map.Entry<String, String> e : entries) {
      md.put(Metadata.Key.of(e.getKey(), Metadata.ASCII_STRING_MARSHALLER), e.getValue());
    }
    if (token != null && !token.isEmpty()) {
      md.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER),
             "Bearer " + token);
    }
    return md;
  }

  // --- resources ----------------------------------------------------------------------------

  /**
   * A resource by SDK name ("User", "ApiKey") or snake_case name ("users", "user",
   * "api_keys"); InvalidRequestException when there is none.
   */
  public Resource resource(String name) {
    String sdkName = Api.get().resourceName(name);
    if (sdkName == null) {
      throw new InvalidRequestException("no Files.com resource named '" + name + "'");
    }
    return resources.computeIfAbsent(
        sdkName, n -> new Resource(this, n, Api.get().actions(n)));
  }

  /** The SDK resource names, e.g. [ActionLog, ..., User, ...]. */
  public SortedSet<String> resourceNames() {
    return Api.get().resourceNames();
  }

  // --- files --------------------------------------------------------------------------------

  /** Uploads a local file; returns the File. */
  public File uploadFile(Path local, String remote, boolean mkdirParents) throws IOException {
    return uploadFile(local, remote, new UploadOptions().mkdirParents(mkdirParents));
  }

  /**
   * Uploads a local file as one Upload stream ({spec} first, with expected_size from the
   * file, then chunks); nothing is committed unless every byte arrived. Returns the File.
   */
  public File uploadFile(Path local, String remote, UploadOptions options) throws IOException {
    return Transfers.uploadFile(this, local, remote, options);
  }

  /** Uploads what {@code in} yields, to its end; returns the File. */
  public File uploadFile(InputStream in, String remote, UploadOptions options)
      throws IOException {
    return Transfers.upload(this, in, remote, options);
  }

  /** Downloads a file into {@code local}; returns the File. */
  public File downloadFile(String remote, Path local) throws IOException {
    return downloadFile(remote, local, new DownloadOptions());
  }

  /**
   * Downloads a file (or a range) into {@code local}, through a temporary file beside it
   * that is renamed at the end, so a failed download leaves nothing behind. Returns the File.
   */
  public File downloadFile(String remote, Path local, DownloadOptions options)
      throws IOException {
    return Transfers.downloadFile(this, remote, local, options);
  }

  /** Downloads a file (or a range) into {@code out}; returns the File. */
  public File downloadFile(String remote, OutputStream out, DownloadOptions options)
      throws IOException {
    try (RemoteInputStream in = openRead(remote, options)) {
      in.transferTo(out);
      return in.metadata();
    }
  }

  /** A stream reading a remote file (a Download stream); a missing file fails here. */
  public RemoteInputStream openRead(String remote) {
    return openRead(remote, new DownloadOptions());
  }

  public RemoteInputStream openRead(String remote, DownloadOptions options) {
    return new RemoteInputStream(this, remote, options);
  }

  /**
   * A stream writing a remote file (an Upload stream): {@link RemoteOutputStream#commit()}
   * writes the file; close() without it (an exception in a try-with-resources) aborts.
   */
  public RemoteOutputStream openWrite(String remote, boolean mkdirParents) {
    return openWrite(remote, new UploadOptions().mkdirParents(mkdirParents));
  }

  public RemoteOutputStream openWrite(String remote, UploadOptions options) {
    return new RemoteOutputStream(this, remote, options);
  }

  /**
   * The SDK's open(): "r" / "rb" give a {@link RemoteInputStream}, "w" / "wb" a
   * {@link RemoteOutputStream} (Java streams carry bytes; wrap them in an InputStreamReader
   * or OutputStreamWriter for text). Assign the result to the type you expect:
   * {@code RemoteInputStream in = client.open("a.txt", "r");}
   */
  public <T extends Closeable> T open(String remote, String mode) {
    return open(remote, mode, new UploadOptions());
  }

  /** open() for writing with upload options ("r" modes refuse non-default options). */
  @SuppressWarnings("unchecked")
  public <T extends Closeable> T open(String remote, String mode, UploadOptions options) {
    switch (mode) {
      case "r":
      case "rb":
        if (options.isMkdirParents() || !options.isOverwrite()
            || options.getExpectedSize() != null || options.getProvidedMtime() != null) {
          throw new InvalidRequestException("upload options given to open(" + remote + ", "
              + mode + ")");
        }
        return (T) openRead(remote, new DownloadOptions()
            .requestOptions(options.getRequestOptions()));
      case "w":
      case "wb":
        return (T) openWrite(remote, options);
      default:
        throw new IllegalArgumentException("mode must be r, rb, w or wb, not '" + mode + "'");
    }
  }

  /** What {@link #write} runs: writes the file's content to {@code out}. */
  @FunctionalInterface
  public interface WriteBlock<E extends Exception> {
    void write(RemoteOutputStream out) throws E;
  }

  /**
   * Writes a remote file through {@code block}, like Python's {@code with open(...) as f}:
   * it commits when the block returns, and commits nothing when the block throws (the
   * exception propagates). Returns the File.
   */
  public <E extends Exception> File write(String remote, UploadOptions options,
                                          WriteBlock<E> block) throws E, IOException {
    RemoteOutputStream out = openWrite(remote, options);
    try {
      block.write(out);
    } catch (Throwable t) {
      out.abort();
      throw t;
    }
    return out.commit();
  }

  /** Every entry of a folder (Folder.list_for, every page as you iterate). */
  public PagedList<File> listFor(String folder) {
    return folders().listFor(folder);
  }

  /** Folder.list_for with its params (per_page, sort_by, filter, ...). */
  public PagedList<File> listFor(String folder, ListForFolderRequest params) {
    return folders().listFor(folder, params);
  }

  /** Folder.list_for with params by Files.com name, as {@link Resource#call} takes them. */
  public ListObj listFor(String folder, Map<String, ?> params) {
    return resource("Folder").call("list_for", folder, params);
  }

  /**
   * Starts a resumable upload to {@code remote} (StartResumableUpload with the options'
   * spec); {@link ResumableUpload#write} / {@link ResumableUpload#resume} send the bytes.
   * The options (chunk size, progress, request options) also apply to those calls.
   */
  public ResumableUpload startResumableUpload(String remote, UploadOptions options) {
    try {
      String id = ClientCalls.blockingUnaryCall(channelFor(options.getRequestOptions()),
          TransferServiceGrpc.getStartResumableUploadMethod(),
          callOptions(options.getRequestOptions(), false),
          StartResumableUploadRequest.newBuilder()
              .setSpec(Transfers.spec(remote, options)).build()).getUploadId();
      return new ResumableUpload(this, id, options.copy());
    } catch (StatusRuntimeException e) {
      throw Errors.fromGrpc(e);
    }
  }

  /** A resumable upload started earlier (perhaps by another process), by its id. */
  public ResumableUpload resumableUpload(String uploadId) {
    return resumableUpload(uploadId, new UploadOptions());
  }

  /** As {@link #resumableUpload(String)}, with chunk size, progress and request options. */
  public ResumableUpload resumableUpload(String uploadId, UploadOptions options) {
    return new ResumableUpload(this, uploadId, options.copy());
  }

  /**
   * The generated files.v1.TransferService stub on this client's channel (with its token and
   * metadata), for what the helpers above do not wrap: StartResumableUpload,
   * QueryUploadStatus, CancelResumableUpload and Upload streams with an upload_id. Turn its
   * failures into typed exceptions with {@link Errors#fromGrpc(Throwable)}.
   */
  public TransferServiceGrpc.TransferServiceBlockingStub transferService() {
    return TransferServiceGrpc.newBlockingStub(channel);
  }

  /** The asynchronous TransferService stub, as {@link #transferService()}. */
  public TransferServiceGrpc.TransferServiceStub transferServiceAsync() {
    return TransferServiceGrpc.newStub(channel);
  }

  /** The channel calls go through (with this client's headers). */
  public Channel channel() {
    return channel;
  }

  public String target() {
    return target;
  }

  // --- plumbing -----------------------------------------------------------------------------

  CallOptions callOptions(RequestOptions o, boolean transfer) {
    Duration timeout = transfer ? options.getTransferTimeout() : options.getTimeout();
    boolean waitForReady = options.isWaitForReady();
    if (o != null) {
      if (o.hasTimeout()) {
        timeout = o.getTimeout();
      }
      if (o.getWaitForReady() != null) {
        waitForReady = o.getWaitForReady();
      }
    }
    CallOptions co = CallOptions.DEFAULT;
    if (timeout != null) {
      co = co.withDeadlineAfter(Math.max(1, timeout.toNanos()), TimeUnit.NANOSECONDS);
    }
    if (waitForReady) {
      co = co.withWaitForReady();
    }
    return co;
  }

  Channel channelFor(RequestOptions o) {
    if (o == null || o.getMetadata().isEmpty()) {
      return channel;
    }
    return ClientInterceptors.intercept(
        channel, MetadataUtils.newAttachHeadersInterceptor(headers(null, o.getMetadata())));
  }

  DynamicMessage unary(ApiMethod m, DynamicMessage request, RequestOptions o) {
    try {
      return ClientCalls.blockingUnaryCall(channelFor(o), m.grpcMethod(), callOptions(o, false),
                                           request);
    } catch (StatusRuntimeException e) {
      throw Errors.fromGrpc(e);
    }
  }

  /** Closes the channel (a channel given to forChannel is left open). */
  @Override
  public void close() {
    if (ownedChannel == null) {
      return;
    }
    ownedChannel.shutdown();
    try {
      if (!ownedChannel.awaitTermination(5, TimeUnit.SECONDS)) {
        ownedChannel.shutdownNow();
      }
    } catch (InterruptedException e) {
      ownedChannel.shutdownNow();
      Thread.currentThread().interrupt();
    } finally {
      if (ownedGroup != null) {
        ownedGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      }
    }
  }

  @Override
  public String toString() {
    return "FilesGateway{" + target + "}";
  }
}
