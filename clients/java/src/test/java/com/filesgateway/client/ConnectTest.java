package com.filesgateway.client;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import com.filesgateway.client.exceptions.ApiErrorException.ApiConnectionException;
import com.filesgateway.client.exceptions.ApiErrorException.DeadlineExceededException;
import com.filesgateway.client.exceptions.ApiErrorException.InvalidRequestException;
import io.grpc.netty.GrpcSslContexts;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.JdkSslServerContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import io.netty.handler.codec.http2.Http2SecurityUtil;
import com.filesgateway.client.internal.Alpn;
import javax.net.ssl.SSLException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.util.Base64;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * FilesGateway.connect over real sockets: TLS with a private CA, the bearer token,
 * keepalive settings, and the failures of a gateway that is not there or not trusted.
 * The key pair is made at run time with the JDK's keytool (nothing is committed).
 */
public class ConnectTest {
  private static final char[] PASS = "changeit".toCharArray();
  private static Path dir;
  private static FakeGateway tlsFake;

  @BeforeClass
  public static void startTlsServer() throws Exception {
    dir = Files.createTempDirectory("connect-test");
    Path keystore = dir.resolve("server.p12");
    Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
    run(List.of(keytool.toString(), "-genkeypair", "-alias", "gw", "-keyalg", "EC",
                "-groupname", "secp256r1", "-dname", "CN=localhost",
                "-ext", "SAN=dns:localhost,ip:127.0.0.1", "-validity", "2",
                "-storetype", "PKCS12", "-keystore", keystore.toString(),
                "-storepass", new String(PASS), "-keypass", new String(PASS)));
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(keystore)) {
      ks.load(in, PASS);
    }
    // The self-signed certificate is its own CA: the client trusts it as a PEM file.
    String pem = "-----BEGIN CERTIFICATE-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
            .encodeToString(ks.getCertificate("gw").getEncoded())
        + "\n-----END CERTIFICATE-----\n";
    Files.writeString(dir.resolve("ca.pem"), pem);
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(ks, PASS);
    tlsFake = new FakeGateway(serverContext(kmf));
  }

  /** The server side of TLS with ALPN h2, as Alpn does it for the client on Debian's netty. */
  @SuppressWarnings("deprecation")
  private static SslContext serverContext(KeyManagerFactory kmf) throws SSLException {
    try {
      return GrpcSslContexts.configure(SslContextBuilder.forServer(kmf)).build();
    } catch (UnsupportedOperationException e) {
      return new JdkSslServerContext(null, null, null, null, null, kmf, Http2SecurityUtil.CIPHERS,
          SupportedCipherSuiteFilter.INSTANCE, Alpn.H2, 0, 0);
    }
  }

  private static void run(List<String> command) throws Exception {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertTrue("timed out: " + command, p.waitFor(60, TimeUnit.SECONDS));
    assertEquals(command + ": " + out, 0, p.exitValue());
  }

  @AfterClass
  public static void stop() throws Exception {
    if (tlsFake != null) {
      tlsFake.close();
    }
    if (dir != null) {
      for (String p : List.of("server.p12", "ca.pem")) {
        Files.deleteIfExists(dir.resolve(p));
      }
      Files.deleteIfExists(dir);
    }
  }

  @Test
  public void tlsWithAPrivateCaCarriesTheToken() {
    ConnectOptions options = new ConnectOptions().rootCertificates(dir.resolve("ca.pem"))
        .token("s3cret").keepaliveTime(Duration.ofMinutes(5))
        .keepaliveTimeout(Duration.ofSeconds(10)).metadata("x-app", "connect-test");
    try (FilesGateway client = FilesGateway.connect("localhost:" + tlsFake.port(), options)) {
      Model user = client.resource("users").find(5);
      assertEquals("User", user.typeName());
      FakeGateway.Call c = tlsFake.last();
      assertEquals("Bearer s3cret", c.header("authorization"));
      assertEquals("connect-test", c.header("x-app"));
      assertEquals(5L, c.field("id"));
    }
  }

  @Test
  public void anUntrustedGatewayIsAConnectionError() {
    // The system trust store does not know the private CA.
    try (FilesGateway client = FilesGateway.connect("localhost:" + tlsFake.port(),
        new ConnectOptions().tls(true).timeout(Duration.ofSeconds(10)))) {
      assertThrows(ApiConnectionException.class, () -> client.resource("users").find(1));
    }
    // Plaintext against a TLS port.
    try (FilesGateway client = FilesGateway.connect("localhost:" + tlsFake.port(),
        new ConnectOptions().timeout(Duration.ofSeconds(10)))) {
      assertThrows(ApiConnectionException.class, () -> client.resource("users").find(1));
    }
  }

  @Test
  public void noGatewayFailsAtOnceOrWaitsForReadyUntilTheDeadline() throws Exception {
    String nowhere = Harness.unusedLoopbackTarget();
    try (FilesGateway client = FilesGateway.connect(nowhere)) {
      ApiConnectionException e = assertThrows(ApiConnectionException.class,
          () -> client.resource("users").find(1));
      assertEquals(io.grpc.Status.Code.UNAVAILABLE, e.getCode());
    }
    try (FilesGateway client = FilesGateway.connect(nowhere,
        new ConnectOptions().waitForReady(true).timeout(Duration.ofMillis(300)))) {
      long start = System.nanoTime();
      assertThrows(DeadlineExceededException.class, () -> client.resource("users").find(1));
      assertTrue((System.nanoTime() - start) >= TimeUnit.MILLISECONDS.toNanos(250));
    }
  }

  @Test
  public void unixSocketsWithoutANativeTransportAreRefusedWithWhatToAdd() {
    // Debian's netty has epoll's classes but not its native library: the message says why
    // and what to add. (With the library on the classpath the same target connects.)
    InvalidRequestException e = assertThrows(InvalidRequestException.class,
        () -> FilesGateway.connect("unix:///tmp/files-gateway.sock"));
    assertTrue(e.getMessage(), e.getMessage().contains("netty-transport-native-epoll"));
    assertTrue(e.getMessage(), e.getMessage().contains("epoll is"));
    assertTrue(e.getMessage(), e.getMessage().contains("sidecar-tcp"));
    assertEquals("/run/gw.sock", NativeTransport.path("unix:///run/gw.sock"));
    assertEquals("/run/gw.sock", NativeTransport.path("unix:/run/gw.sock"));
    assertEquals("gw.sock", NativeTransport.path("unix:gw.sock"));
    assertThrows(InvalidRequestException.class, () -> NativeTransport.path("unix://host/x"));
  }
}
