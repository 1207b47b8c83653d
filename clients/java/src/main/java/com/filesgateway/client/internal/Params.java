package com.filesgateway.client.internal;

import com.filesgateway.client.exceptions.ApiErrorException.InvalidParameterException;
import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import java.lang.reflect.Array;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.temporal.TemporalAccessor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Date;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * SDK-style parameters (a {@code Map<String, Object>} keyed by Files.com names) onto a
 * request message, driven by its descriptor.
 *
 * <p>Keys are the proto field names or their json_name ("subfolders_locked?"). Plain values
 * go onto scalars with the coercions the SDKs' callers rely on ("42" for an int64, true for a
 * string filter value becomes "true", java.time values become ISO 8601 strings); maps go onto
 * map fields (sort_by, filter, filter_gt, ...), nested messages and google.protobuf.Struct;
 * lists, arrays and iterables go onto repeated fields. A null value leaves a field unset. An
 * unknown key, or a value that does not fit, throws InvalidParameterException before
 * anything is sent.
 */
public final class Params {
  static final String STRUCT = "google.protobuf.Struct";
  static final String LIST_VALUE = "google.protobuf.ListValue";
  static final String VALUE = "google.protobuf.Value";

  private static final Map<Descriptor, Map<String, FieldDescriptor>> KEYS =
      new ConcurrentHashMap<>();

  private Params() {}

  /** The Files.com key of a field: its json_name when the proto sets one, else its name. */
  public static String jsonKey(FieldDescriptor fd) {
    String json = fd.getJsonName();
    return json.equals(defaultJsonName(fd.getName())) ? fd.getName() : json;
  }

  private static String defaultJsonName(String name) {
    StringBuilder b = new StringBuilder();
    boolean upper = false;
    for (char c : name.toCharArray()) {
      if (c == '_') {
        upper = true;
      } else if (upper) {
        b.append(Character.toUpperCase(c));
        upper = false;
      } else {
        b.append(c);
      }
    }
    return b.toString();
  }

  /** The field a Files.com key names (field name, explicit or default json_name), or null. */
  public static FieldDescriptor fieldForKey(Descriptor d, String key) {
    return KEYS.computeIfAbsent(d, desc -> {
      Map<String, FieldDescriptor> m = new HashMap<>();
      for (FieldDescriptor fd : desc.getFields()) {
        m.put(fd.getName(), fd);
      }
      for (FieldDescriptor fd : desc.getFields()) {
        m.putIfAbsent(jsonKey(fd), fd);
        m.putIfAbsent(fd.getJsonName(), fd);
      }
      return Collections.unmodifiableMap(m);
    }).get(key);
  }

  /** Sets builder's fields from params; {@code where} names the call in error messages. */
  public static void fill(Message.Builder builder, Map<?, ?> params, String where) {
    for (Map.Entry<?, ?> e : params.entrySet()) {
      Object value = e.getValue();
      if (value == null) {
        continue;
      }
      String key = String.valueOf(e.getKey());
      FieldDescriptor fd = fieldForKey(builder.getDescriptorForType(), key);
      if (fd == null) {
        throw bad(where, "unknown parameter '" + key + "'");
      }
      set(builder, fd, value, where + "." + key);
    }
  }

  private static InvalidParameterException bad(String where, String message) {
    return new InvalidParameterException(where + ": " + message);
  }

  private static void set(Message.Builder builder, FieldDescriptor fd, Object value,
                          String where) {
    if (fd.isMapField()) {
      if (!(value instanceof Map)) {
        throw bad(where, "expected a map, got " + describe(value));
      }
      Descriptor entryType = fd.getMessageType();
      FieldDescriptor keyFd = entryType.findFieldByName("key");
      FieldDescriptor valueFd = entryType.findFieldByName("value");
      for (Map.Entry<?, ?> e : ((Map<?, ?>) value).entrySet()) {
        String at = where + "[" + e.getKey() + "]";
        if (e.getValue() == null) {
          continue;
        }
        Message.Builder entry = builder.newBuilderForField(fd);
        entry.setField(keyFd, scalar(keyFd, e.getKey(), at));
        entry.setField(valueFd, single(entry, valueFd, e.getValue(), at));
        builder.addRepeatedField(fd, entry.build());
      }
    } else if (fd.isRepeated()) {
      List<Object> items = asList(value);
      if (items == null) {
        throw bad(where, "expected a list, got " + describe(value));
      }
      for (int i = 0; i < items.size(); i++) {
        builder.addRepeatedField(fd, single(builder, fd, items.get(i), where + "[" + i + "]"));
      }
    } else {
      builder.setField(fd, single(builder, fd, value, where));
    }
  }

  /** One value of the field's type (a sub-message is built through the parent builder). */
  private static Object single(Message.Builder parent, FieldDescriptor fd, Object value,
                               String where) {
    if (fd.getJavaType() != FieldDescriptor.JavaType.MESSAGE) {
      return scalar(fd, value, where);
    }
    Descriptor type = fd.getMessageType();
    if (value instanceof Message) {
      Message m = (Message) value;
      if (!m.getDescriptorForType().getFullName().equals(type.getFullName())) {
        throw bad(where, "expected " + type.getFullName() + ", got "
            + m.getDescriptorForType().getFullName());
      }
      try {
        return parent.newBuilderForField(fd).mergeFrom(m.toByteString()).buildPartial();
      } catch (InvalidProtocolBufferException e) {
        throw bad(where, "cannot copy " + type.getFullName() + ": " + e.getMessage());
      }
    }
    Message.Builder b = parent.newBuilderForField(fd);
    switch (type.getFullName()) {
      case STRUCT:
        if (!(value instanceof Map)) {
          throw bad(where, "expected a map (an object), got " + describe(value));
        }
        fillStruct(b, (Map<?, ?>) value, where);
        break;
      case LIST_VALUE:
        List<Object> items = asList(value);
        if (items == null) {
          throw bad(where, "expected a list, got " + describe(value));
        }
        fillList(b, items, where);
        break;
      case VALUE:
        fillValue(b, value, where);
        break;
      default:
        if (!(value instanceof Map)) {
          throw bad(where, "expected a map for " + type.getName() + ", got "
              + describe(value));
        }
        fill(b, (Map<?, ?>) value, where);
    }
    return b.build();
  }

  private static void fillStruct(Message.Builder b, Map<?, ?> map, String where) {
    FieldDescriptor fields = b.getDescriptorForType().findFieldByName("fields");
    Descriptor entryType = fields.getMessageType();
    FieldDescriptor keyFd = entryType.findFieldByName("key");
    FieldDescriptor valueFd = entryType.findFieldByName("value");
    for (Map.Entry<?, ?> e : map.entrySet()) {
      Message.Builder entry = b.newBuilderForField(fields);
      entry.setField(keyFd, String.valueOf(e.getKey()));
      Message.Builder v = entry.newBuilderForField(valueFd);
      fillValue(v, e.getValue(), where + "[" + e.getKey() + "]");
      entry.setField(valueFd, v.build());
      b.addRepeatedField(fields, entry.build());
    }
  }

  private static void fillList(Message.Builder b, List<Object> items, String where) {
    FieldDescriptor values = b.getDescriptorForType().findFieldByName("values");
    for (int i = 0; i < items.size(); i++) {
      Message.Builder v = b.newBuilderForField(values);
      fillValue(v, items.get(i), where + "[" + i + "]");
      b.addRepeatedField(values, v.build());
    }
  }

  /** A JSON-like Java value into google.protobuf.Value. */
  private static void fillValue(Message.Builder b, Object value, String where) {
    Descriptor d = b.getDescriptorForType();
    if (value == null) {
      FieldDescriptor f = d.findFieldByName("null_value");
      b.setField(f, f.getEnumType().findValueByNumber(0));
    } else if (value instanceof Boolean) {
      b.setField(d.findFieldByName("bool_value"), value);
    } else if (value instanceof Number) {
      b.setField(d.findFieldByName("number_value"), ((Number) value).doubleValue());
    } else if (value instanceof CharSequence || value instanceof TemporalAccessor
               || value instanceof Date || value instanceof Character) {
      b.setField(d.findFieldByName("string_value"), stringOf(value));
    } else if (value instanceof Map) {
      FieldDescriptor f = d.findFieldByName("struct_value");
      Message.Builder s = b.newBuilderForField(f);
      fillStruct(s, (Map<?, ?>) value, where);
      b.setField(f, s.build());
    } else if (asList(value) != null) {
      FieldDescriptor f = d.findFieldByName("list_value");
      Message.Builder l = b.newBuilderForField(f);
      fillList(l, asList(value), where);
      b.setField(f, l.build());
    } else {
      throw bad(where, describe(value) + " is not a JSON value");
    }
  }

  private static String stringOf(Object value) {
    if (value instanceof Date) {
      return ((Date) value).toInstant().toString();
    }
    return value.toString();  // java.time types print ISO 8601
  }

  /** Lists, arrays and other iterables as a List; null for anything else. */
  static List<Object> asList(Object value) {
    if (value instanceof List) {
      @SuppressWarnings("unchecked")
      List<Object> list = (List<Object>) value;
      return list;
    }
    if (value instanceof Iterable && !(value instanceof Message)) {
      List<Object> out = new ArrayList<>();
      for (Object o : (Iterable<?>) value) {
        out.add(o);
      }
      return out;
    }
    if (value != null && value.getClass().isArray() && !(value instanceof byte[])) {
      int n = Array.getLength(value);
      List<Object> out = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        out.add(Array.get(value, i));
      }
      return out;
    }
    return null;
  }

  private static String describe(Object value) {
    if (value == null) {
      return "null";
    }
    String text = String.valueOf(value);
    if (text.length() > 60) {
      text = text.substring(0, 57) + "...";
    }
    return value.getClass().getSimpleName() + " " + text;
  }

  /** A scalar (or enum) value of the field's type, coerced from a Java value. */
  static Object scalar(FieldDescriptor fd, Object value, String where) {
    Object out = coerce(fd, value);
    if (out == null) {
      throw bad(where, describe(value) + " is not a valid " + typeName(fd));
    }
    return out;
  }

  private static String typeName(FieldDescriptor fd) {
    switch (fd.getJavaType()) {
      case ENUM:
        return fd.getEnumType().getFullName();
      case MESSAGE:
        return fd.getMessageType().getFullName();
      case INT:
      case LONG:
        return "integer (" + fd.getType().name().toLowerCase(Locale.ROOT) + ")";
      case FLOAT:
      case DOUBLE:
        return "number";
      default:
        return fd.getJavaType().name().toLowerCase(Locale.ROOT);
    }
  }

  private static boolean unsigned(FieldDescriptor fd) {
    switch (fd.getType()) {
      case UINT32:
      case FIXED32:
      case UINT64:
      case FIXED64:
        return true;
      default:
        return false;
    }
  }

  private static Object coerce(FieldDescriptor fd, Object value) {
    switch (fd.getJavaType()) {
      case STRING:
        if (value instanceof CharSequence || value instanceof Character
            || value instanceof TemporalAccessor || value instanceof Date) {
          return stringOf(value);
        }
        if (value instanceof Boolean) {
          return ((Boolean) value) ? "true" : "false";
        }
        if (value instanceof BigDecimal) {
          return ((BigDecimal) value).toPlainString();
        }
        if (value instanceof Number) {
          return value.toString();
        }
        return null;
      case INT: {
        BigInteger n = integer(value);
        if (n == null) {
          return null;
        }
        BigInteger min = unsigned(fd) ? BigInteger.ZERO : BigInteger.valueOf(Integer.MIN_VALUE);
        BigInteger max = unsigned(fd) ? BigInteger.ONE.shiftLeft(32).subtract(BigInteger.ONE)
            : BigInteger.valueOf(Integer.MAX_VALUE);
        return n.compareTo(min) < 0 || n.compareTo(max) > 0 ? null : n.intValue();
      }
      case LONG: {
        BigInteger n = integer(value);
        if (n == null) {
          return null;
        }
        BigInteger min = unsigned(fd) ? BigInteger.ZERO : BigInteger.valueOf(Long.MIN_VALUE);
        BigInteger max = unsigned(fd) ? BigInteger.ONE.shiftLeft(64).subtract(BigInteger.ONE)
            : BigInteger.valueOf(Long.MAX_VALUE);
        return n.compareTo(min) < 0 || n.compareTo(max) > 0 ? null : n.longValue();
      }
      case BOOLEAN:
        if (value instanceof Boolean) {
          return value;
        }
        if (value instanceof Number && !(value instanceof Double || value instanceof Float)) {
          long n = ((Number) value).longValue();
          return n == 0 || n == 1 ? n == 1 : null;
        }
        if (value instanceof CharSequence) {
          String s = value.toString().trim().toLowerCase(Locale.ROOT);
          if (s.equals("true") || s.equals("1")) {
            return true;
          }
          if (s.equals("false") || s.equals("0")) {
            return false;
          }
        }
        return null;
      case FLOAT:
      case DOUBLE: {
        Double d = null;
        if (value instanceof Number) {
          d = ((Number) value).doubleValue();
        } else if (value instanceof CharSequence) {
          try {
            d = Double.parseDouble(value.toString().trim());
          } catch (NumberFormatException e) {
            return null;
          }
        }
        if (d == null) {
          return null;
        }
        return fd.getJavaType() == FieldDescriptor.JavaType.FLOAT ? (Object) d.floatValue() : d;
      }
      case BYTE_STRING:
        if (value instanceof ByteString) {
          return value;
        }
        if (value instanceof byte[]) {
          return ByteString.copyFrom((byte[]) value);
        }
        if (value instanceof ByteBuffer) {
          return ByteString.copyFrom(((ByteBuffer) value).duplicate());
        }
        if (value instanceof CharSequence) {
          return ByteString.copyFrom(value.toString(), StandardCharsets.UTF_8);
        }
        return null;
      case ENUM:
        if (value instanceof EnumValueDescriptor) {
          EnumValueDescriptor v = (EnumValueDescriptor) value;
          return v.getType() == fd.getEnumType() ? v : null;
        }
        if (value instanceof CharSequence || value instanceof Enum) {
          String name = value instanceof Enum ? ((Enum<?>) value).name() : value.toString();
          return fd.getEnumType().findValueByName(name);
        }
        if (value instanceof Number) {
          BigInteger n = integer(value);
          return n == null || n.bitLength() > 31 ? null
              : fd.getEnumType().findValueByNumber(n.intValue());
        }
        return null;
      default:
        return null;
    }
  }

  /** An integral value: whole numbers (never booleans) and decimal strings. */
  private static BigInteger integer(Object value) {
    if (value instanceof Integer || value instanceof Long || value instanceof Short
        || value instanceof Byte) {
      return BigInteger.valueOf(((Number) value).longValue());
    }
    if (value instanceof BigInteger) {
      return (BigInteger) value;
    }
    if (value instanceof Double || value instanceof Float || value instanceof BigDecimal) {
      BigDecimal d;
      try {
        d = value instanceof BigDecimal ? (BigDecimal) value
            : new BigDecimal(((Number) value).doubleValue());
      } catch (NumberFormatException e) {
        return null;  // NaN, infinities
      }
      try {
        return d.toBigIntegerExact();
      } catch (ArithmeticException e) {
        return null;
      }
    }
    if (value instanceof CharSequence) {
      try {
        return new BigInteger(value.toString().trim(), 10);
      } catch (NumberFormatException e) {
        return null;
      }
    }
    return null;
  }
}
