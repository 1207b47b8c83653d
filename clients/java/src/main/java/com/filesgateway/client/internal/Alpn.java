package com.filesgateway.client.internal;

import io.grpc.netty.GrpcSslContexts;
import io.netty.handler.codec.http2.Http2SecurityUtil;
import io.netty.handler.ssl.JdkApplicationProtocolNegotiator;
import io.netty.handler.ssl.JdkSslClientContext;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import java.io.File;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.List;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;

/**
 * TLS with ALPN "h2" (which gRPC requires) on the JDK's own TLS stack, for Debian's
 * libnetty-java: its netty-handler jar lacks the JdkAlpnApplicationProtocolNegotiator that
 * wires Java 9+ ALPN in, so {@code GrpcSslContexts.forClient().build()} fails there with
 * "JDK provider does not support ALPN protocol". The jar still has the engine that does the
 * work (io.netty.handler.ssl.Java9SslEngine, package-private); this negotiator creates it by
 * reflection, which the classpath (netty in the unnamed module) allows.
 *
 * <p>{@link #clientContext} uses netty's standard path first, so with a complete netty jar
 * (or netty-tcnative) this class is not involved at all.
 */
@SuppressWarnings("deprecation")  // netty deprecates the JDK negotiator API; it is the only one
public final class Alpn implements JdkApplicationProtocolNegotiator {
  /** Negotiates "h2" only, failing the handshake otherwise. */
  public static final Alpn H2 = new Alpn(List.of("h2"));

  private static final Constructor<?> JAVA9_ENGINE;
  private static final Method SET_PROTOCOL;
  private static final Throwable UNAVAILABLE;

  static {
    Constructor<?> ctor = null;
    Method set = null;
    Throwable why = null;
    try {
      Class<?> engine = Class.forName("io.netty.handler.ssl.Java9SslEngine");
      ctor = engine.getDeclaredConstructor(SSLEngine.class,
          JdkApplicationProtocolNegotiator.class, boolean.class);
      ctor.setAccessible(true);
      set = Class.forName("io.netty.handler.ssl.JdkSslEngine")
          .getDeclaredMethod("setNegotiatedApplicationProtocol", String.class);
      set.setAccessible(true);
    } catch (ReflectiveOperationException | RuntimeException e) {
      why = e;
    }
    JAVA9_ENGINE = ctor;
    SET_PROTOCOL = set;
    UNAVAILABLE = why;
  }

  private final List<String> protocols;

  private Alpn(List<String> protocols) {
    this.protocols = protocols;
  }

  /**
   * A client SslContext for gRPC: trust the PEM roots (null: the system's), present the PEM
   * chain and key when given (mutual TLS).
   */
  public static SslContext clientContext(File roots, File certChain, File privateKey)
      throws SSLException {
    try {
      SslContextBuilder b = GrpcSslContexts.forClient();
      if (roots != null) {
        b.trustManager(roots);
      }
      if (certChain != null) {
        b.keyManager(certChain, privateKey);
      }
      return b.build();
    } catch (UnsupportedOperationException e) {
      if (UNAVAILABLE != null) {
        SSLException failure = new SSLException("TLS needs ALPN, which this netty lacks ("
            + e.getMessage() + "), and its Java 9 ALPN engine is out of reach", UNAVAILABLE);
        failure.addSuppressed(e);
        throw failure;
      }
      return new JdkSslClientContext(roots, null, certChain, privateKey, null, null,
          Http2SecurityUtil.CIPHERS, SupportedCipherSuiteFilter.INSTANCE, H2, 0, 0);
    }
  }

  /** True when the reflective ALPN engine can be made (for diagnostics and tests). */
  public static boolean available() {
    return UNAVAILABLE == null;
  }

  @Override
  public List<String> protocols() {
    return protocols;
  }

  @Override
  public SslEngineWrapperFactory wrapperFactory() {
    return (engine, negotiator, isServer) -> {
      try {
        return (SSLEngine) JAVA9_ENGINE.newInstance(engine, negotiator, isServer);
      } catch (InstantiationException | IllegalAccessException | InvocationTargetException e) {
        throw new IllegalStateException("cannot set up ALPN on the TLS engine", e);
      }
    };
  }

  private static void negotiated(SSLEngine engine, String protocol) throws SSLException {
    try {
      SET_PROTOCOL.invoke(engine, protocol);
    } catch (IllegalAccessException | InvocationTargetException e) {
      throw new SSLException("cannot record the negotiated protocol", e);
    }
  }

  /** Server side: picks the first of our protocols the client offers, or fails. */
  @Override
  public ProtocolSelectorFactory protocolSelectorFactory() {
    return (engine, supported) -> new ProtocolSelector() {
      @Override
      public void unsupported() {
        // A client without ALPN: gRPC's handler refuses the connection after the handshake.
      }

      @Override
      public String select(List<String> offered) throws Exception {
        for (String p : supported) {
          if (offered.contains(p)) {
            negotiated(engine, p);
            return p;
          }
        }
        throw new SSLHandshakeException("no common application protocol in " + offered);
      }
    };
  }

  /** Client side: accepts the server's choice when it is one of ours, or fails. */
  @Override
  public ProtocolSelectionListenerFactory protocolListenerFactory() {
    return (engine, supported) -> new ProtocolSelectionListener() {
      @Override
      public void unsupported() {
        // A server without ALPN: gRPC's handler refuses the connection after the handshake.
      }

      @Override
      public void selected(String protocol) throws Exception {
        if (!supported.contains(protocol)) {
          throw new SSLHandshakeException("the server selected " + protocol + ", not one of "
              + supported);
        }
        negotiated(engine, protocol);
      }
    };
  }
}
