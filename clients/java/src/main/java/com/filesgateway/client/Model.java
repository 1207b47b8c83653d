package com.filesgateway.client;

import com.filesgateway.client.exceptions.ApiErrorException.InvalidRequestException;
import com.filesgateway.client.internal.Params;
import com.filesgateway.client.internal.Values;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import java.lang.reflect.InvocationTargetException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One Files.com object (a User, a File, ...), read-only, like the SDK's models:
 * {@code user.getString("username")}, {@code user.get("id")}, {@code user.toMap()}.
 *
 * <p>Fields are read by their Files.com names. Unset fields read as null; nested objects
 * are Models, repeated fields Lists, maps and free-form objects Maps (see
 * {@link #get(String)} for the Java types). A Model of an SDK resource also has that
 * resource's per-object actions with its id (or path) filled in:
 * {@code user.invoke("update", Map.of("name", "A"))}, {@code user.invoke("delete")}.
 */
public final class Model {
  private final Message message;
  private final FilesGateway client;

  Model(Message message, FilesGateway client) {
    this.message = message;
    this.client = client;
  }

  /** A message as a Model without a client (per-object actions are then unavailable). */
  public static Model of(Message message) {
    return new Model(message, null);
  }

  /** The Files.com type name, e.g. "User" or "File". */
  public String typeName() {
    return message.getDescriptorForType().getName();
  }

  /** True when the object has this Files.com field, set. */
  public boolean has(String key) {
    FieldDescriptor fd = Params.fieldForKey(message.getDescriptorForType(), key);
    if (fd == null) {
      return false;
    }
    if (fd.isRepeated()) {
      return message.getRepeatedFieldCount(fd) > 0;
    }
    return !fd.hasPresence() || message.hasField(fd);
  }

  /** True when the type declares this field (set or not). */
  public boolean hasField(String key) {
    return Params.fieldForKey(message.getDescriptorForType(), key) != null;
  }

  /**
   * A field by its Files.com name: null when unset; Long (int64), Integer (int32), Boolean,
   * Double, String, byte[], enum names as String, Lists, Maps (map fields and free-form
   * objects), Models (nested objects). Throws IllegalArgumentException for a name the type
   * does not have.
   */
  public Object get(String key) {
    FieldDescriptor fd = Params.fieldForKey(message.getDescriptorForType(), key);
    if (fd == null) {
      throw new IllegalArgumentException(typeName() + " has no field '" + key + "'");
    }
    return Values.field(message, fd, m -> new Model(m, client));
  }

  /** A field, or {@code fallback} when it is unset or the type lacks it. */
  public Object get(String key, Object fallback) {
    if (!hasField(key)) {
      return fallback;
    }
    Object v = get(key);
    return v == null ? fallback : v;
  }

  public String getString(String key) {
    Object v = get(key);
    return v == null ? null : v.toString();
  }

  /** A whole-number field as Long (int32 fields too). */
  public Long getLong(String key) {
    Object v = get(key);
    return v == null ? null : ((Number) v).longValue();
  }

  public Boolean getBoolean(String key) {
    return (Boolean) get(key);
  }

  public Double getDouble(String key) {
    Object v = get(key);
    return v == null ? null : ((Number) v).doubleValue();
  }

  public Model getModel(String key) {
    return (Model) get(key);
  }

  @SuppressWarnings("unchecked")
  public List<Object> getList(String key) {
    return (List<Object>) get(key);
  }

  @SuppressWarnings("unchecked")
  public Map<Object, Object> getMap(String key) {
    return (Map<Object, Object>) get(key);
  }

  /** The object as a Map keyed by Files.com names, set fields only (nested ones as Maps). */
  public Map<String, Object> toMap() {
    return Values.toMap(message);
  }

  /** The protobuf message (a DynamicMessage, or a generated one for File). */
  public Message toProto() {
    return message;
  }

  /**
   * The message as a generated class of the same type, e.g. {@code com.filesgateway.v1.File}
   * (or a User class from stubs you generate yourself).
   */
  public <T extends Message> T as(Class<T> type) {
    try {
      Message prototype = (Message) type.getMethod("getDefaultInstance").invoke(null);
      if (!prototype.getDescriptorForType().getFullName()
          .equals(message.getDescriptorForType().getFullName())) {
        throw new IllegalArgumentException(typeName() + " is not a "
            + prototype.getDescriptorForType().getFullName());
      }
      return type.cast(prototype.getParserForType().parseFrom(message.toByteString()));
    } catch (NoSuchMethodException | IllegalAccessException | InvocationTargetException e) {
      throw new IllegalArgumentException(type.getName() + " is not a generated message", e);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * A per-object action: the resource's action with its path parameters (id, path, ...)
   * taken from this object, then {@code paramsAndOptions} (an optional params Map and an
   * optional RequestOptions). Returns what {@link Resource#call} returns.
   */
  public <T> T invoke(String action, Object... paramsAndOptions) {
    if (client == null) {
      throw new InvalidRequestException(typeName() + " objects made with Model.of() have no "
          + "client to call " + action + " with");
    }
    Resource resource = client.resource(typeName());
    ApiMethod method = resource.method(action);
    List<Object> args = new ArrayList<>();
    for (String p : method.pathParams()) {
      if (!hasField(p)) {
        throw new InvalidRequestException(typeName() + "." + action + " needs '" + p
            + "', which " + typeName() + " objects do not have");
      }
      args.add(get(p));
    }
    for (Object o : paramsAndOptions) {
      args.add(o);
    }
    return resource.call(action, args.toArray());
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Model && ((Model) o).message.equals(message);
  }

  @Override
  public int hashCode() {
    return message.hashCode();
  }

  @Override
  public String toString() {
    Map<String, Object> all = toMap();
    StringBuilder b = new StringBuilder(typeName()).append('{');
    int shown = 0;
    for (String key : new String[] {"id", "path", "username", "name"}) {
      if (all.containsKey(key)) {
        b.append(shown++ > 0 ? ", " : "").append(key).append('=').append(all.get(key));
      }
    }
    if (shown == 0) {
      for (Map.Entry<String, Object> e : all.entrySet()) {
        if (shown == 3) {
          break;
        }
        b.append(shown++ > 0 ? ", " : "").append(e.getKey()).append('=').append(e.getValue());
      }
    }
    return b.append('}').toString();
  }
}
