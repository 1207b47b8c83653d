package com.filesgateway.client;

import com.filesgateway.client.exceptions.ApiErrorException.InvalidRequestException;
import com.filesgateway.client.internal.Params;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.Message;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * One Files.com resource (an SDK class such as User), with every action the protos declare
 * for it, read from the descriptors.
 *
 * <p>An action takes the request fields its REST path names positionally (id, path,
 * user_id, ...), then an optional params {@code Map} keyed by Files.com names, then an
 * optional {@link RequestOptions}:
 *
 * <pre>
 * Resource users = client.resource("users");
 * Model user = users.find(42);
 * users.update(42, Map.of("name", "Alice"), RequestOptions.timeout(Duration.ofSeconds(5)));
 * ListObj page = users.list(Map.of("sort_by", Map.of("username", "asc")));
 * client.resource("files").call("begin_upload", "a/b.txt", Map.of("size", 3));
 * </pre>
 *
 * <p>{@link #call} returns a {@link ListObj} for paginated actions, a {@code List<Model>}
 * for actions that answer a bare list (begin_upload), null for actions that answer nothing
 * (google.protobuf.Empty), else a {@link Model}.
 */
public final class Resource {
  private static final Set<String> LIST_ONLY_FIELDS = Set.of("items", "next_cursor");

  private final FilesGateway client;
  private final String name;
  private final Map<String, ApiMethod> methods;

  Resource(FilesGateway client, String name, Map<String, ApiMethod> methods) {
    this.client = client;
    this.name = name;
    this.methods = methods;
  }

  /** The SDK class name, e.g. "User". */
  public String name() {
    return name;
  }

  /** The SDK action names, e.g. [create, delete, find, list, unlock, update]. */
  public SortedSet<String> actions() {
    return Collections.unmodifiableSortedSet(new TreeSet<>(methods.keySet()));
  }

  /** An action's descriptor facts; InvalidRequestException when the resource lacks it. */
  public ApiMethod method(String action) {
    ApiMethod m = methods.get(action);
    if (m == null) {
      throw new InvalidRequestException(name + " has no action '" + action + "' (it has: "
          + String.join(", ", actions()) + ")");
    }
    return m;
  }

  /**
   * Calls an action: path params positionally, then an optional params Map, then an
   * optional RequestOptions. The result's type depends on the action (see the class doc);
   * assign it to what you expect: {@code Model u = users.call("find", 42);}.
   */
  @SuppressWarnings("unchecked")
  public <T> T call(String action, Object... args) {
    ApiMethod m = method(action);
    Invocation inv = Invocation.parse(name + "." + action, m, args);
    DynamicMessage request = inv.request;
    if (m.paginated()) {
      return (T) new ListObj(client, m, request, inv.options);
    }
    return (T) result(client.unary(m, request, inv.options));
  }

  /** The request message an action would send for these arguments (nothing is sent). */
  public DynamicMessage buildRequest(String action, Object... args) {
    ApiMethod m = method(action);
    return Invocation.parse(name + "." + action, m, args).request;
  }

  /** {@code call("list", ...)}: the first page, iterable over every page. */
  public ListObj list(Object... args) {
    return call("list", args);
  }

  /** {@code call("find", ...)}. */
  public Model find(Object... args) {
    return call("find", args);
  }

  /** {@code call("create", ...)}. */
  public Model create(Object... args) {
    return call("create", args);
  }

  /** {@code call("update", ...)}. */
  public Model update(Object... args) {
    return call("update", args);
  }

  /** {@code call("delete", ...)}. */
  public void delete(Object... args) {
    call("delete", args);
  }

  private Object result(Message response) {
    Descriptor d = response.getDescriptorForType();
    if (d.getFullName().equals("google.protobuf.Empty")) {
      return null;
    }
    FieldDescriptor items = d.findFieldByName("items");
    Set<String> names = new HashSet<>();
    for (FieldDescriptor fd : d.getFields()) {
      names.add(fd.getName());
    }
    if (items != null && items.isRepeated() && LIST_ONLY_FIELDS.containsAll(names)) {
      int n = response.getRepeatedFieldCount(items);
      List<Model> out = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        out.add(new Model((Message) response.getRepeatedField(items, i), client));
      }
      return Collections.unmodifiableList(out);
    }
    return new Model(response, client);
  }

  @Override
  public String toString() {
    return "Resource{" + name + ": " + String.join(", ", actions()) + "}";
  }

  /** An action's arguments sorted into path params, params and options. */
  private static final class Invocation {
    final DynamicMessage request;
    final RequestOptions options;

    private Invocation(DynamicMessage request, RequestOptions options) {
      this.request = request;
      this.options = options;
    }

    static Invocation parse(String where, ApiMethod m, Object[] args) {
      int end = args == null ? 0 : args.length;
      RequestOptions options = null;
      if (end > 0 && args[end - 1] instanceof RequestOptions) {
        options = (RequestOptions) args[--end];
      }
      Map<?, ?> params = null;
      if (end > 0 && args[end - 1] instanceof Map) {
        params = (Map<?, ?>) args[--end];
      }
      List<String> pathParams = m.pathParams();
      if (end > pathParams.size()) {
        throw new InvalidRequestException(where + " takes " + pathParams.size()
            + " positional argument" + (pathParams.size() == 1 ? "" : "s") + " ("
            + (pathParams.isEmpty() ? "none" : String.join(", ", pathParams))
            + "), then a params Map and RequestOptions; got " + args.length + " arguments");
      }
      for (int i = 0; i < end; i++) {
        if (args[i] instanceof RequestOptions || args[i] instanceof Map) {
          throw new InvalidRequestException(where + ": argument " + (i + 1)
              + " must be " + pathParams.get(i) + "; params and options come last");
        }
      }
      Map<Object, Object> values = new LinkedHashMap<>();
      if (params != null) {
        values.putAll(params);
      }
      for (int i = 0; i < end; i++) {
        if (args[i] != null) {
          values.put(pathParams.get(i), args[i]);
        }
      }
      DynamicMessage.Builder b = DynamicMessage.newBuilder(m.inputType());
      Params.fill(b, values, where);
      return new Invocation(b.build(), options);
    }
  }
}
