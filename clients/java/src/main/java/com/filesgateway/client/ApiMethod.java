package com.filesgateway.client;

import com.filesgateway.v1.RestBinding;
import com.filesgateway.v1.SdkMethod;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.MethodDescriptor;
import com.google.protobuf.DynamicMessage;
import io.grpc.protobuf.ProtoUtils;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One RPC as an SDK action: where it comes from in the Files.com SDK (resource, action),
 * where it goes (its REST binding), its request and response types, and the gRPC method
 * this client calls, with DynamicMessage marshallers.
 */
public final class ApiMethod {
  private static final Pattern PATH_PARAM = Pattern.compile("\\{(\\w+)\\}");

  private final MethodDescriptor method;
  private final String resource;
  private final String action;
  private final boolean paginated;
  private final int successStatus;
  private final String httpMethod;
  private final String httpPath;
  private final List<String> pathParams;
  private final io.grpc.MethodDescriptor<DynamicMessage, DynamicMessage> grpcMethod;

  ApiMethod(MethodDescriptor method, SdkMethod sdk, RestBinding rest) {
    this.method = method;
    this.resource = sdk.getResource();
    this.action = sdk.getAction();
    this.paginated = sdk.getPaginated();
    this.successStatus = sdk.getSuccessStatus();
    this.httpMethod = rest.getMethod();
    this.httpPath = rest.getPath();
    List<String> params = new ArrayList<>();
    Matcher m = PATH_PARAM.matcher(rest.getPath());
    while (m.find()) {
      params.add(m.group(1));
    }
    this.pathParams = Collections.unmodifiableList(params);
    this.grpcMethod = io.grpc.MethodDescriptor.<DynamicMessage, DynamicMessage>newBuilder()
        .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
        .setFullMethodName(io.grpc.MethodDescriptor.generateFullMethodName(
            method.getService().getFullName(), method.getName()))
        .setRequestMarshaller(ProtoUtils.marshaller(
            DynamicMessage.getDefaultInstance(method.getInputType())))
        .setResponseMarshaller(ProtoUtils.marshaller(
            DynamicMessage.getDefaultInstance(method.getOutputType())))
        .build();
  }

  /** The SDK class, e.g. "User". */
  public String resource() {
    return resource;
  }

  /** The SDK function, e.g. "list", "find", "unlock", "begin_upload". */
  public String action() {
    return action;
  }

  /** True when the action pages with cursors (it answers a {@link ListObj}). */
  public boolean paginated() {
    return paginated;
  }

  /** The HTTP status Files.com answers on success. */
  public int successStatus() {
    return successStatus;
  }

  /** "GET", "POST", "PATCH", "PUT" or "DELETE". */
  public String httpMethod() {
    return httpMethod;
  }

  /** The REST path, relative to /api/rest/v1, e.g. "/users/{id}". */
  public String httpPath() {
    return httpPath;
  }

  /** The request fields the REST path names, in order: the action's positional arguments. */
  public List<String> pathParams() {
    return pathParams;
  }

  /** The protobuf method, e.g. files.v1.UserService.FindUser. */
  public MethodDescriptor descriptor() {
    return method;
  }

  public Descriptor inputType() {
    return method.getInputType();
  }

  public Descriptor outputType() {
    return method.getOutputType();
  }

  /** "files.v1.UserService/FindUser". */
  public String fullMethodName() {
    return grpcMethod.getFullMethodName();
  }

  /** The gRPC method, with DynamicMessage marshallers for its request and response. */
  public io.grpc.MethodDescriptor<DynamicMessage, DynamicMessage> grpcMethod() {
    return grpcMethod;
  }

  @Override
  public String toString() {
    return resource + "." + action + " -> " + httpMethod + " " + httpPath + " ("
        + fullMethodName() + ")";
  }
}
