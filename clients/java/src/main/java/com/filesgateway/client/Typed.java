package com.filesgateway.client;

import com.filesgateway.client.exceptions.ApiErrorException.InvalidRequestException;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import io.grpc.MethodDescriptor;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ClientCalls;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The runtime of the generated typed resources ({@code com.filesgateway.client.resources}):
 * one unary call with protoc's message classes, paging, and path params filled in from
 * arguments or from a model. Public for the generated code; applications call the resources.
 */
public final class Typed {
  private Typed() {}

  /** The gRPC method "service/rpc" with the marshallers of the generated classes. */
  public static <Q extends Message, R extends Message> MethodDescriptor<Q, R> method(
      String service, String rpc, Q request, R response) {
    return MethodDescriptor.<Q, R>newBuilder()
        .setType(MethodDescriptor.MethodType.UNARY)
        .setFullMethodName(MethodDescriptor.generateFullMethodName(service, rpc))
        .setRequestMarshaller(ProtoUtils.marshaller(request))
        .setResponseMarshaller(ProtoUtils.marshaller(response))
        .build();
  }

  /** One call; a failure arrives as the SDK's exception class. */
  public static <Q extends Message, R extends Message> R call(
      FilesGateway client, MethodDescriptor<Q, R> method, Q request, RequestOptions options) {
    if (request == null) {
      throw new InvalidRequestException(method.getFullMethodName() + ": the request is null");
    }
    try {
      return ClientCalls.blockingUnaryCall(client.channelFor(options), method,
                                           client.callOptions(options, false), request);
    } catch (StatusRuntimeException e) {
      throw Errors.fromGrpc(e);
    }
  }

  /** A list action: the first page now, the next ones as the caller iterates. */
  public static <Q extends Message, R extends Message, T extends Message> PagedList<T> paged(
      FilesGateway client, MethodDescriptor<Q, R> method, Q request, RequestOptions options,
      Class<T> itemType) {
    FieldDescriptor cursor = request.getDescriptorForType().findFieldByName("cursor");
    if (cursor == null) {
      throw new IllegalStateException(method.getFullMethodName() + " pages without a cursor");
    }
    return new PagedList<>(c -> {
      Q req = request;
      if (c != null) {
        @SuppressWarnings("unchecked")
        Q next = (Q) request.toBuilder().setField(cursor, c).build();
        req = next;
      }
      R response = call(client, method, req, options);
      FieldDescriptor next = response.getDescriptorForType().findFieldByName("next_cursor");
      String nextCursor = next == null ? "" : (String) response.getField(next);
      return new PagedList.Page<>(items(response, itemType),
                                  nextCursor.isEmpty() ? null : nextCursor);
    }, method.getFullMethodName());
  }

  /** The repeated {@code items} of a response, as the generated item class. */
  public static <T extends Message> List<T> items(Message response, Class<T> itemType) {
    FieldDescriptor items = response.getDescriptorForType().findFieldByName("items");
    int n = response.getRepeatedFieldCount(items);
    List<T> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      out.add(itemType.cast(response.getRepeatedField(items, i)));
    }
    return Collections.unmodifiableList(out);
  }

  /** {@code params} with its path fields set (they win over what params holds). */
  public static <Q extends Message> Q withPath(Q params, String[] names, Object[] values) {
    if (params == null) {
      throw new InvalidRequestException("params is null (pass the request's default instance)");
    }
    Message.Builder b = params.toBuilder();
    Descriptor d = params.getDescriptorForType();
    for (int i = 0; i < names.length; i++) {
      if (values[i] == null) {
        throw new InvalidRequestException(d.getName() + ": path param " + names[i] + " is null");
      }
      b.setField(d.findFieldByName(names[i]), values[i]);
    }
    @SuppressWarnings("unchecked")
    Q built = (Q) b.build();
    return built;
  }

  /** {@code params} with its path fields copied from a model (per-object actions). */
  public static <Q extends Message> Q fromObject(Q params, Message object, String[] names) {
    if (object == null) {
      throw new InvalidRequestException("the object is null");
    }
    Object[] values = new Object[names.length];
    Descriptor d = object.getDescriptorForType();
    for (int i = 0; i < names.length; i++) {
      FieldDescriptor f = d.findFieldByName(names[i]);
      if (f.hasPresence() && !object.hasField(f)) {
        throw new InvalidRequestException(d.getName() + " has no " + names[i]
            + ": a per-object action needs it (find or list the object first)");
      }
      values[i] = object.getField(f);
    }
    return withPath(params, names, values);
  }
}
