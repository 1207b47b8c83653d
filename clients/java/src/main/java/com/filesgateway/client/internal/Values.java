package com.filesgateway.client.internal;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Protobuf fields as plain Java values, the way back from {@link Params}: int64 as Long,
 * int32 as Integer (uint32 as Long), bool as Boolean, floating point as Double, string as
 * String, bytes as byte[], enums by name; repeated fields as Lists, map fields and
 * google.protobuf.Struct as Maps (Struct numbers that are whole become Long); other
 * messages through a wrapper (the client's Model) or, by default, as Maps.
 */
public final class Values {
  private Values() {}

  /** The field as Java; null when a field with presence is unset. */
  public static Object field(Message m, FieldDescriptor fd, Function<Message, Object> wrap) {
    if (fd.isMapField()) {
      FieldDescriptor keyFd = fd.getMessageType().findFieldByName("key");
      FieldDescriptor valueFd = fd.getMessageType().findFieldByName("value");
      Map<Object, Object> out = new LinkedHashMap<>();
      int n = m.getRepeatedFieldCount(fd);
      for (int i = 0; i < n; i++) {
        Message entry = (Message) m.getRepeatedField(fd, i);
        out.put(single(keyFd, entry.getField(keyFd), wrap),
                single(valueFd, entry.getField(valueFd), wrap));
      }
      return Collections.unmodifiableMap(out);
    }
    if (fd.isRepeated()) {
      int n = m.getRepeatedFieldCount(fd);
      List<Object> out = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        out.add(single(fd, m.getRepeatedField(fd, i), wrap));
      }
      return Collections.unmodifiableList(out);
    }
    if (fd.hasPresence() && !m.hasField(fd)) {
      return null;
    }
    return single(fd, m.getField(fd), wrap);
  }

  private static Object single(FieldDescriptor fd, Object v, Function<Message, Object> wrap) {
    switch (fd.getJavaType()) {
      case MESSAGE: {
        Message msg = (Message) v;
        String type = msg.getDescriptorForType().getFullName();
        if (type.equals(Params.STRUCT) || type.equals(Params.LIST_VALUE)
            || type.equals(Params.VALUE)) {
          return json(msg);
        }
        return wrap != null ? wrap.apply(msg) : toMap(msg);
      }
      case ENUM:
        return ((EnumValueDescriptor) v).getName();
      case BYTE_STRING:
        return ((ByteString) v).toByteArray();
      case INT:
        switch (fd.getType()) {
          case UINT32:
          case FIXED32:
            return Integer.toUnsignedLong((Integer) v);
          default:
            return v;
        }
      case FLOAT:
        return ((Float) v).doubleValue();
      default:
        return v;
    }
  }

  /** The message as a Map keyed by Files.com names (set fields only), nested ones as Maps. */
  public static Map<String, Object> toMap(Message m) {
    Map<String, Object> out = new LinkedHashMap<>();
    for (Map.Entry<FieldDescriptor, Object> e : m.getAllFields().entrySet()) {
      out.put(Params.jsonKey(e.getKey()), field(m, e.getKey(), null));
    }
    return Collections.unmodifiableMap(out);
  }

  /** google.protobuf.Struct / ListValue / Value as Maps, Lists, Strings, Doubles, Longs. */
  public static Object json(Message msg) {
    String type = msg.getDescriptorForType().getFullName();
    if (type.equals(Params.STRUCT)) {
      FieldDescriptor fields = msg.getDescriptorForType().findFieldByName("fields");
      FieldDescriptor keyFd = fields.getMessageType().findFieldByName("key");
      FieldDescriptor valueFd = fields.getMessageType().findFieldByName("value");
      Map<String, Object> out = new LinkedHashMap<>();
      int n = msg.getRepeatedFieldCount(fields);
      for (int i = 0; i < n; i++) {
        Message entry = (Message) msg.getRepeatedField(fields, i);
        out.put((String) entry.getField(keyFd), json((Message) entry.getField(valueFd)));
      }
      return Collections.unmodifiableMap(out);
    }
    if (type.equals(Params.LIST_VALUE)) {
      FieldDescriptor values = msg.getDescriptorForType().findFieldByName("values");
      int n = msg.getRepeatedFieldCount(values);
      List<Object> out = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        out.add(json((Message) msg.getRepeatedField(values, i)));
      }
      return Collections.unmodifiableList(out);
    }
    // google.protobuf.Value: whichever member of its oneof is set.
    for (Map.Entry<FieldDescriptor, Object> e : msg.getAllFields().entrySet()) {
      switch (e.getKey().getName()) {
        case "null_value":
          return null;
        case "number_value": {
          double d = (Double) e.getValue();
          if (d == Math.rint(d) && !Double.isInfinite(d) && Math.abs(d) < 0x1p53) {
            return (long) d;
          }
          return d;
        }
        case "string_value":
        case "bool_value":
          return e.getValue();
        case "struct_value":
        case "list_value":
          return json((Message) e.getValue());
        default:
          break;
      }
    }
    return null;
  }
}
