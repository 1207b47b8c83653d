package com.filesgateway.client;

import com.filesgateway.client.internal.Values;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Value;
import com.google.protobuf.util.JsonFormat;
import java.util.List;
import java.util.Map;

/**
 * JSON for the tests, through protobuf-java-util's JsonFormat (into google.protobuf.Value)
 * and the client's own Value-to-Java conversion: objects as Maps, arrays as Lists, whole
 * numbers as Long, other numbers as Double.
 */
final class Json {
  private Json() {}

  static Object parse(String text) {
    Value.Builder v = Value.newBuilder();
    try {
      JsonFormat.parser().merge(text, v);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalArgumentException("bad JSON: " + e.getMessage(), e);
    }
    return Values.json(v.build());
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> parseObject(String text) {
    Object o = parse(text);
    if (!(o instanceof Map)) {
      throw new IllegalArgumentException("not a JSON object: " + text);
    }
    return (Map<String, Object>) o;
  }

  static String write(Object o) {
    StringBuilder b = new StringBuilder();
    write(o, b);
    return b.toString();
  }

  private static void write(Object o, StringBuilder b) {
    if (o == null) {
      b.append("null");
    } else if (o instanceof Map) {
      b.append('{');
      String sep = "";
      for (Map.Entry<?, ?> e : ((Map<?, ?>) o).entrySet()) {
        b.append(sep);
        sep = ",";
        string(String.valueOf(e.getKey()), b);
        b.append(':');
        write(e.getValue(), b);
      }
      b.append('}');
    } else if (o instanceof List) {
      b.append('[');
      String sep = "";
      for (Object item : (List<?>) o) {
        b.append(sep);
        sep = ",";
        write(item, b);
      }
      b.append(']');
    } else if (o instanceof Number || o instanceof Boolean) {
      b.append(o);
    } else {
      string(o.toString(), b);
    }
  }

  private static void string(String s, StringBuilder b) {
    b.append('"');
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"':
          b.append("\\\"");
          break;
        case '\\':
          b.append("\\\\");
          break;
        case '\n':
          b.append("\\n");
          break;
        case '\r':
          b.append("\\r");
          break;
        case '\t':
          b.append("\\t");
          break;
        default:
          if (c < 0x20) {
            b.append(String.format("\\u%04x", (int) c));
          } else {
            b.append(c);
          }
      }
    }
    b.append('"');
  }
}
