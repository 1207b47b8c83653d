// Build-time generator: the typed resource layer of the Java client.
//
// Reads the files.v1 FileDescriptorSet and writes, for every SDK resource (the
// (files.v1.sdk) option of each RPC), one class com.filesgateway.client.resources.
// <Resource>Resource with one group of methods per SDK action, typed with protoc's
// generated message classes (com.filesgateway.v1.User, FindUserRequest, ...):
//
//   User find(long id)                          path params positionally
//   User update(long id, UpdateUserRequest params[, RequestOptions])
//   User update(User object, UpdateUserRequest params)   per-object: path params from the model
//   User update(UpdateUserRequest request[, RequestOptions])
//   PagedList<User> list([ListUsersRequest request[, RequestOptions]])  auto paging
//   void delete(long id)                        google.protobuf.Empty answers nothing
//   List<FileUploadPart> beginUpload(String path, ...)  bare lists
//
// plus FilesGatewayResources (the abstract base of FilesGateway) with one accessor per
// resource: client.users(), client.apiKeys(), client.files(), ...
//
// Nothing here knows a resource: everything comes from the descriptors. Run by CMake with
// the source launcher and protobuf-java only:
//   java -cp protobuf.jar ResourceGen.java files_api.pb OUT_DIR
import com.google.protobuf.ByteString;
import com.google.protobuf.DescriptorProtos.DescriptorProto;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import com.google.protobuf.DescriptorProtos.MethodDescriptorProto;
import com.google.protobuf.DescriptorProtos.ServiceDescriptorProto;
import com.google.protobuf.UnknownFieldSet;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

public final class ResourceGen {
  private static final int REST_EXTENSION = 51234;
  private static final int SDK_EXTENSION = 51237;
  private static final Pattern PATH_PARAM = Pattern.compile("\\{(\\w+)\\}");
  private static final String PKG = "com.filesgateway.client";
  private static final Set<String> KEYWORDS = Set.of("abstract", "assert", "boolean", "break",
      "byte", "case", "catch", "char", "class", "const", "continue", "default", "do", "double",
      "else", "enum", "extends", "final", "finally", "float", "for", "goto", "if", "implements",
      "import", "instanceof", "int", "interface", "long", "native", "new", "package", "private",
      "protected", "public", "return", "short", "static", "strictfp", "super", "switch",
      "synchronized", "this", "throw", "throws", "transient", "try", "void", "volatile", "while",
      "true", "false", "null", "var", "record", "yield");

  record Message(String fullName, String javaName, DescriptorProto proto) {}

  record Action(String resource, String action, String service, String rpc, String path,
                boolean paginated, Message input, Message output) {}

  private final Map<String, Message> messages = new HashMap<>();

  public static void main(String[] args) throws IOException {
    if (args.length != 2) {
      System.err.println("usage: ResourceGen DESCRIPTOR_SET OUT_DIR");
      System.exit(2);
    }
    FileDescriptorSet set = FileDescriptorSet.parseFrom(Files.readAllBytes(Path.of(args[0])));
    new ResourceGen().run(set, Path.of(args[1]));
  }

  void run(FileDescriptorSet set, Path out) throws IOException {
    for (FileDescriptorProto f : set.getFileList()) {
      String javaPackage = f.getOptions().hasJavaPackage() ? f.getOptions().getJavaPackage()
          : f.getPackage();
      if (!f.getOptions().getJavaMultipleFiles() && !f.getPackage().equals("google.protobuf")) {
        continue;  // only files.v1 (multiple files) and the well-known types are referenced
      }
      for (DescriptorProto d : f.getMessageTypeList()) {
        index(f.getPackage() + "." + d.getName(), javaPackage + "." + d.getName(), d);
      }
    }
    Map<String, Map<String, Action>> resources = new TreeMap<>();
    for (FileDescriptorProto f : set.getFileList()) {
      for (ServiceDescriptorProto s : f.getServiceList()) {
        for (MethodDescriptorProto m : s.getMethodList()) {
          UnknownFieldSet ext = m.getOptions().getUnknownFields();
          if (!ext.hasField(SDK_EXTENSION) || !ext.hasField(REST_EXTENSION)) {
            continue;
          }
          UnknownFieldSet sdk = UnknownFieldSet.parseFrom(
              ext.getField(SDK_EXTENSION).getLengthDelimitedList().get(0));
          UnknownFieldSet rest = UnknownFieldSet.parseFrom(
              ext.getField(REST_EXTENSION).getLengthDelimitedList().get(0));
          String resource = string(sdk, 1);
          String action = string(sdk, 2);
          boolean paginated = sdk.hasField(4) && !sdk.getField(4).getVarintList().isEmpty()
              && sdk.getField(4).getVarintList().get(0) != 0;
          Action a = new Action(resource, action, f.getPackage() + "." + s.getName(),
              m.getName(), string(rest, 2), paginated, message(m.getInputType()),
              message(m.getOutputType()));
          resources.computeIfAbsent(resource, r -> new TreeMap<>()).put(action, a);
        }
      }
    }
    if (resources.isEmpty()) {
      throw new IllegalStateException("no (files.v1.sdk) options found");
    }
    Path dir = out.resolve(PKG.replace('.', '/'));
    Files.createDirectories(dir.resolve("resources"));
    Map<String, String> accessors = accessorNames(resources.keySet());
    StringBuilder base = new StringBuilder();
    base.append(header()).append("package ").append(PKG).append(";\n\n")
        .append("/**\n * The typed resources of the Files.com API, one accessor per SDK class"
            + " (generated from the\n * (files.v1.sdk) options). {@link FilesGateway} extends"
            + " it: {@code client.users().find(1L)}.\n */\n")
        .append("public abstract class FilesGatewayResources {\n")
        .append("  FilesGatewayResources() {}\n\n")
        .append("  abstract FilesGateway gateway();\n");
    for (Map.Entry<String, Map<String, Action>> r : resources.entrySet()) {
      String cls = r.getKey() + "Resource";
      String accessor = accessors.get(r.getKey());
      base.append("\n  /** ").append(r.getKey()).append(": ")
          .append(String.join(", ", r.getValue().keySet())).append(". */\n")
          .append("  public final ").append(PKG).append(".resources.").append(cls).append(' ')
          .append(accessor).append("() {\n    return new ").append(PKG).append(".resources.")
          .append(cls).append("(gateway());\n  }\n");
      Files.writeString(dir.resolve("resources/" + cls + ".java"),
          resourceClass(r.getKey(), cls, r.getValue()), StandardCharsets.UTF_8);
    }
    base.append("}\n");
    Files.writeString(dir.resolve("FilesGatewayResources.java"), base, StandardCharsets.UTF_8);
  }

  private void index(String fullName, String javaName, DescriptorProto d) {
    messages.put(fullName, new Message(fullName, javaName, d));
    for (DescriptorProto nested : d.getNestedTypeList()) {
      index(fullName + "." + nested.getName(), javaName + "." + nested.getName(), nested);
    }
  }

  private Message message(String typeName) {
    Message m = messages.get(typeName.startsWith(".") ? typeName.substring(1) : typeName);
    if (m == null) {
      throw new IllegalStateException("message " + typeName + " not in the descriptor set");
    }
    return m;
  }

  private static String string(UnknownFieldSet set, int number) {
    if (!set.hasField(number)) {
      return "";
    }
    List<ByteString> values = set.getField(number).getLengthDelimitedList();
    return values.isEmpty() ? "" : values.get(0).toStringUtf8();
  }

  private static String header() {
    return "// Generated by clients/java/tools/ResourceGen.java from proto/files/v1. DO NOT EDIT.\n";
  }

  /** "begin_upload" -> "beginUpload"; "as2_partners" -> "as2Partners". */
  static String camel(String snake, boolean upperFirst) {
    StringBuilder b = new StringBuilder();
    boolean up = upperFirst;
    for (char c : snake.toCharArray()) {
      if (c == '_') {
        up = true;
        continue;
      }
      b.append(up ? Character.toUpperCase(c) : c);
      up = false;
    }
    return b.toString();
  }

  static String snake(String name) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (Character.isUpperCase(c) && i > 0) {
        char prev = name.charAt(i - 1);
        if (Character.isLowerCase(prev) || Character.isDigit(prev)) {
          b.append('_');
        }
      }
      b.append(Character.toLowerCase(c));
    }
    return b.toString();
  }

  static String plural(String word) {
    if (word.matches(".*[^aeiou]y")) {
      return word.substring(0, word.length() - 1) + "ies";
    }
    if (word.matches(".*(s|x|z|ch|sh)")) {
      return word + "es";
    }
    return word + "s";
  }

  /** users(), apiKeys(); a plural two resources share falls back to the singular name. */
  static Map<String, String> accessorNames(Iterable<String> resources) {
    Map<String, List<String>> byPlural = new HashMap<>();
    for (String r : resources) {
      byPlural.computeIfAbsent(camel(plural(snake(r)), false), k -> new ArrayList<>()).add(r);
    }
    Map<String, String> out = new LinkedHashMap<>();
    for (String r : resources) {
      String p = camel(plural(snake(r)), false);
      String name = byPlural.get(p).size() == 1 ? p : camel(snake(r), false) + "Resource";
      out.put(r, safe(name));
    }
    return out;
  }

  static String safe(String name) {
    return KEYWORDS.contains(name) ? name + "_" : name;
  }

  private static String javaType(FieldDescriptorProto f) {
    switch (f.getType()) {
      case TYPE_INT64:
      case TYPE_SINT64:
      case TYPE_SFIXED64:
      case TYPE_UINT64:
      case TYPE_FIXED64:
        return "long";
      case TYPE_INT32:
      case TYPE_SINT32:
      case TYPE_SFIXED32:
      case TYPE_UINT32:
      case TYPE_FIXED32:
        return "int";
      case TYPE_BOOL:
        return "boolean";
      case TYPE_DOUBLE:
        return "double";
      case TYPE_FLOAT:
        return "float";
      case TYPE_STRING:
        return "String";
      default:
        return null;
    }
  }

  /** A bare list answer: items (and perhaps next_cursor, unmapped_fields), nothing else. */
  private static boolean onlyListFields(DescriptorProto d) {
    for (FieldDescriptorProto f : d.getFieldList()) {
      if (!Set.of("items", "next_cursor", "unmapped_fields").contains(f.getName())) {
        return false;
      }
    }
    return true;
  }

  private static FieldDescriptorProto field(DescriptorProto d, String name) {
    for (FieldDescriptorProto f : d.getFieldList()) {
      if (f.getName().equals(name)) {
        return f;
      }
    }
    return null;
  }

  private String resourceClass(String resource, String cls, Map<String, Action> actions) {
    Message model = messages.get("files.v1." + resource);
    StringBuilder b = new StringBuilder();
    b.append(header()).append("package ").append(PKG).append(".resources;\n\n")
        .append("import ").append(PKG).append(".FilesGateway;\n")
        .append("import ").append(PKG).append(".PagedList;\n")
        .append("import ").append(PKG).append(".RequestOptions;\n")
        .append("import ").append(PKG).append(".Typed;\n")
        .append("import io.grpc.MethodDescriptor;\n\n")
        .append("/**\n * The Files.com SDK's {@code ").append(resource)
        .append("} class as typed calls through files-gateway: ")
        .append(String.join(", ", actions.keySet()))
        .append(".\n * Each action takes its REST path params positionally (or the model they"
            + " come from),\n * then the request message for the other params, then"
            + " RequestOptions. Generated.\n */\n")
        .append("public final class ").append(cls).append(" {\n")
        .append("  private final FilesGateway client;\n\n")
        .append("  public ").append(cls).append("(FilesGateway client) {\n")
        .append("    this.client = client;\n  }\n");
    for (Action a : actions.values()) {
      action(b, a, model);
    }
    b.append("}\n");
    return b.toString();
  }

  private void action(StringBuilder b, Action a, Message model) {
    String req = a.input.javaName;
    String method = safe(camel(a.action, false));
    String constant = a.action.toUpperCase(Locale.ROOT);
    String resp = a.output.javaName;
    // What the caller gets: the model, a PagedList / List of items, or nothing.
    String ret;
    String kind;
    String itemType = null;
    FieldDescriptorProto items = field(a.output.proto, "items");
    if (a.output.fullName.equals("google.protobuf.Empty")) {
      ret = "void";
      kind = "empty";
    } else if (a.paginated && items != null) {
      itemType = message(items.getTypeName()).javaName;
      ret = "PagedList<" + itemType + ">";
      kind = "paged";
    } else if (items != null && items.getLabel() == FieldDescriptorProto.Label.LABEL_REPEATED
        && items.getType() == FieldDescriptorProto.Type.TYPE_MESSAGE
        && onlyListFields(a.output.proto)) {
      itemType = message(items.getTypeName()).javaName;
      ret = "java.util.List<" + itemType + ">";
      kind = "list";
    } else {
      ret = resp;
      kind = "message";
    }
    b.append("\n  private static final MethodDescriptor<").append(req).append(", ").append(resp)
        .append("> ").append(constant).append(" =\n      Typed.method(\"").append(a.service)
        .append("\", \"").append(a.rpc).append("\", ").append(req)
        .append(".getDefaultInstance(), ").append(resp).append(".getDefaultInstance());\n");
    String doc = "  /** " + a.resource + "." + a.action + ": {@code " + a.rpc + "}, "
        + a.path + " */\n";
    String ret1 = ret.equals("void") ? "" : "return ";
    // The main form: a whole request and options.
    b.append(doc).append("  public ").append(ret).append(' ').append(method).append('(')
        .append(req).append(" request, RequestOptions options) {\n    ").append(ret1);
    switch (kind) {
      case "empty":
        b.append("Typed.call(client, ").append(constant).append(", request, options);\n");
        break;
      case "paged":
        b.append("Typed.paged(client, ").append(constant).append(", request, options, ")
            .append(itemType).append(".class);\n");
        break;
      case "list":
        b.append("Typed.items(Typed.call(client, ").append(constant)
            .append(", request, options), ").append(itemType).append(".class);\n");
        break;
      default:
        b.append("Typed.call(client, ").append(constant).append(", request, options);\n");
    }
    b.append("  }\n");
    b.append(doc).append("  public ").append(ret).append(' ').append(method).append('(')
        .append(req).append(" request) {\n    ").append(ret1).append(method)
        .append("(request, null);\n  }\n");
    List<String> pathParams = new ArrayList<>();
    Matcher m = PATH_PARAM.matcher(a.path);
    while (m.find()) {
      pathParams.add(m.group(1));
    }
    List<String> types = new ArrayList<>();
    for (String p : pathParams) {
      FieldDescriptorProto f = field(a.input.proto, p);
      String t = f == null ? null : javaType(f);
      if (t == null || f.getLabel() == FieldDescriptorProto.Label.LABEL_REPEATED) {
        types = null;
        break;
      }
      types.add(t);
    }
    if (pathParams.isEmpty()) {
      b.append(doc).append("  public ").append(ret).append(' ').append(method).append("() {\n    ")
          .append(ret1).append(method).append('(').append(req)
          .append(".getDefaultInstance(), null);\n  }\n");
      b.append(doc).append("  public ").append(ret).append(' ').append(method)
          .append("(RequestOptions options) {\n    ").append(ret1).append(method).append('(')
          .append(req).append(".getDefaultInstance(), options);\n  }\n");
    } else if (types != null) {
      StringBuilder params = new StringBuilder();
      StringBuilder values = new StringBuilder();
      StringBuilder names = new StringBuilder();
      for (int i = 0; i < pathParams.size(); i++) {
        String name = safe(camel(pathParams.get(i), false));
        params.append(types.get(i)).append(' ').append(name).append(", ");
        values.append(", ").append(name);
        names.append(", \"").append(pathParams.get(i)).append('"');
      }
      // (path params..., params, options) is the general form; the others fill in.
      b.append(doc).append("  public ").append(ret).append(' ').append(method).append('(')
          .append(params).append(req).append(" params, RequestOptions options) {\n    ")
          .append(ret1).append(method).append("(Typed.withPath(params, new String[] {")
          .append(names.substring(2)).append("}, new Object[] {").append(values.substring(2))
          .append("}), options);\n  }\n");
      b.append(doc).append("  public ").append(ret).append(' ').append(method).append('(')
          .append(params).append(req).append(" params) {\n    ").append(ret1).append(method)
          .append('(').append(values.substring(2)).append(", params, null);\n  }\n");
      b.append(doc).append("  public ").append(ret).append(' ').append(method).append('(')
          .append(params, 0, params.length() - 2).append(") {\n    ").append(ret1)
          .append(method).append('(').append(values.substring(2)).append(", ").append(req)
          .append(".getDefaultInstance(), null);\n  }\n");
      b.append(doc).append("  public ").append(ret).append(' ').append(method).append('(')
          .append(params).append("RequestOptions options) {\n    ").append(ret1).append(method)
          .append('(').append(values.substring(2)).append(", ").append(req)
          .append(".getDefaultInstance(), options);\n  }\n");
      // Per-object actions: the path params come from the model's fields of the same name.
      boolean perObject = model != null;
      if (perObject) {
        for (String p : pathParams) {
          FieldDescriptorProto mf = field(model.proto, p);
          FieldDescriptorProto rf = field(a.input.proto, p);
          if (mf == null || mf.getType() != rf.getType()
              || mf.getLabel() == FieldDescriptorProto.Label.LABEL_REPEATED) {
            perObject = false;
          }
        }
      }
      if (perObject) {
        String odoc = "  /** " + a.resource + "." + a.action + " on an object: the path takes"
            + " its " + String.join(", ", pathParams) + ". */\n";
        b.append(odoc).append("  public ").append(ret).append(' ').append(method).append('(')
            .append(model.javaName).append(" object, ").append(req)
            .append(" params, RequestOptions options) {\n    ").append(ret1).append(method)
            .append("(Typed.fromObject(params, object, new String[] {")
            .append(names.substring(2)).append("}), options);\n  }\n");
        b.append(odoc).append("  public ").append(ret).append(' ').append(method).append('(')
            .append(model.javaName).append(" object, ").append(req).append(" params) {\n    ")
            .append(ret1).append(method).append("(object, params, null);\n  }\n");
        b.append(odoc).append("  public ").append(ret).append(' ').append(method).append('(')
            .append(model.javaName).append(" object) {\n    ").append(ret1).append(method)
            .append("(object, ").append(req).append(".getDefaultInstance(), null);\n  }\n");
      }
    }
  }
}
