package com.filesgateway.client;

import com.google.protobuf.DynamicMessage;
import com.google.protobuf.Message;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Deadline;
import io.grpc.HandlerRegistry;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.netty.handler.ssl.SslContext;
import io.grpc.stub.ServerCalls;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

/**
 * An in-process gRPC server answering every (files.v1.sdk) method from the descriptors:
 * it records each call (method, request, headers, deadline) and answers what the responder
 * gives (by default the response type's empty message). A responder may throw a
 * StatusRuntimeException to fail the call.
 */
final class FakeGateway implements AutoCloseable {
  private static final Context.Key<Metadata> HEADERS = Context.key("headers");

  /** One call the fake received. */
  static final class Call {
    final ApiMethod method;
    final DynamicMessage request;
    final Metadata headers;
    final Deadline deadline;

    Call(ApiMethod method, DynamicMessage request, Metadata headers, Deadline deadline) {
      this.method = method;
      this.request = request;
      this.headers = headers;
      this.deadline = deadline;
    }

    Object field(String name) {
      return request.getField(request.getDescriptorForType().findFieldByName(name));
    }

    String header(String key) {
      return headers.get(Metadata.Key.of(key, Metadata.ASCII_STRING_MARSHALLER));
    }
  }

  final List<Call> calls = new CopyOnWriteArrayList<>();
  volatile Function<Call, Message> responder =
      c -> DynamicMessage.getDefaultInstance(c.method.outputType());
  private final Server server;
  private final ManagedChannel channel;

  /** A fake on an in-process transport. */
  FakeGateway() throws IOException {
    this(null);
  }

  /**
   * A fake; with {@code tls} a real Netty server on a loopback port with that TLS context
   * (reach it with {@link #port()}), else an in-process one.
   */
  FakeGateway(SslContext tls) throws IOException {
    Map<String, ServerMethodDefinition<?, ?>> methods = new HashMap<>();
    for (Map<String, ApiMethod> actions : Api.get().resources().values()) {
      for (ApiMethod m : actions.values()) {
        ServerCallHandler<DynamicMessage, DynamicMessage> handler =
            ServerCalls.asyncUnaryCall((request, observer) -> {
              Call call = new Call(m, request, HEADERS.get(), Context.current().getDeadline());
              calls.add(call);
              try {
                Message response = responder.apply(call);
                observer.onNext(DynamicMessage.newBuilder(m.outputType())
                    .mergeFrom(response).build());
                observer.onCompleted();
              } catch (StatusRuntimeException e) {
                observer.onError(e);
              }
            });
        methods.put(m.fullMethodName(), ServerMethodDefinition.create(m.grpcMethod(), handler));
      }
    }
    ServerInterceptor capture = new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                                                         ServerCallHandler<Q, R> next) {
        return Contexts.interceptCall(Context.current().withValue(HEADERS, headers), call,
                                      headers, next);
      }
    };
    HandlerRegistry registry = new HandlerRegistry() {
      @Override
      public ServerMethodDefinition<?, ?> lookupMethod(String name, String authority) {
        ServerMethodDefinition<?, ?> def = methods.get(name);
        if (def == null) {
          return null;
        }
        ServerServiceDefinition one = ServerInterceptors.intercept(
            ServerServiceDefinition.builder(name.substring(0, name.indexOf('/')))
                .addMethod(def).build(), capture);
        return one.getMethod(name);
      }
    };
    if (tls != null) {
      server = NettyServerBuilder.forAddress(
              new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
          .sslContext(tls).fallbackHandlerRegistry(registry).build().start();
      channel = null;
      return;
    }
    String name = InProcessServerBuilder.generateName();
    server = InProcessServerBuilder.forName(name).fallbackHandlerRegistry(registry)
        .directExecutor().build().start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
  }

  /** The loopback port of a TLS fake. */
  int port() {
    return server.getPort();
  }

  ManagedChannel channel() {
    return channel;
  }

  Call last() {
    return calls.get(calls.size() - 1);
  }

  @Override
  public void close() {
    if (channel != null) {
      channel.shutdownNow();
    }
    server.shutdownNow();
  }
}
