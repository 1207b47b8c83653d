package com.filesgateway.client;

import com.google.protobuf.AnyProto;
import com.google.protobuf.DescriptorProtos;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.DescriptorValidationException;
import com.google.protobuf.Descriptors.EnumDescriptor;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.Descriptors.MethodDescriptor;
import com.google.protobuf.Descriptors.ServiceDescriptor;
import com.google.protobuf.DurationProto;
import com.google.protobuf.EmptyProto;
import com.google.protobuf.ExtensionRegistry;
import com.google.protobuf.FieldMaskProto;
import com.google.protobuf.StructProto;
import com.google.protobuf.TimestampProto;
import com.google.protobuf.WrappersProto;
import com.filesgateway.v1.Options;
import com.filesgateway.v1.RestBinding;
import com.filesgateway.v1.SdkMethod;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The Files.com API surface as this client sees it, read once from the files.v1
 * descriptor set that the build embeds in the jar (protoc output over proto/).
 *
 * <p>Every service method carrying a {@code (files.v1.sdk)} option is an SDK action: resource
 * "User", action "list", its request and response types, the request fields its REST path
 * names ("/users/{id}" gives "id") and whether it pages. Nothing is written per resource: a
 * resource added to the protos is a new name here.
 */
public final class Api {
  private static final String DESCRIPTOR_SET = "internal/files_api.pb";
  private static volatile Api instance;

  private final Map<String, FileDescriptor> files;
  private final Map<String, Map<String, ApiMethod>> resources;
  private final Map<String, String> attributes;
  private final Map<String, Descriptor> messages = new HashMap<>();
  private final Map<String, EnumDescriptor> enums = new HashMap<>();

  /** The index, built on first use. */
  public static Api get() {
    Api api = instance;
    if (api == null) {
      synchronized (Api.class) {
        api = instance;
        if (api == null) {
          try (InputStream in = Api.class.getResourceAsStream(DESCRIPTOR_SET)) {
            if (in == null) {
              throw new IllegalStateException("files-gateway-client: the resource "
                  + DESCRIPTOR_SET + " is missing from the jar");
            }
            api = new Api(in);
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
          instance = api;
        }
      }
    }
    return api;
  }

  Api(InputStream descriptorSet) throws IOException {
    ExtensionRegistry registry = ExtensionRegistry.newInstance();
    Options.registerAllExtensions(registry);
    FileDescriptorSet set = FileDescriptorSet.parseFrom(descriptorSet, registry);
    files = link(set);
    Map<String, Map<String, ApiMethod>> byResource = new TreeMap<>();
    for (FileDescriptor file : files.values()) {
      for (ServiceDescriptor service : file.getServices()) {
        for (MethodDescriptor method : service.getMethods()) {
          if (!method.getOptions().hasExtension(Options.sdk)) {
            continue;  // hand-written services (TransferService) have an API of their own
          }
          SdkMethod sdk = method.getOptions().getExtension(Options.sdk);
          RestBinding rest = method.getOptions().getExtension(Options.rest);
          ApiMethod m = new ApiMethod(method, sdk, rest);
          byResource.computeIfAbsent(m.resource(), r -> new TreeMap<>()).put(m.action(), m);
        }
      }
      for (Descriptor d : file.getMessageTypes()) {
        indexMessage(d);
      }
      for (EnumDescriptor e : file.getEnumTypes()) {
        enums.put(e.getFullName(), e);
      }
    }
    Map<String, Map<String, ApiMethod>> frozen = new TreeMap<>();
    byResource.forEach((k, v) -> frozen.put(k, Collections.unmodifiableMap(v)));
    resources = Collections.unmodifiableMap(frozen);
    attributes = attributeNames(resources.keySet());
  }

  private void indexMessage(Descriptor d) {
    messages.put(d.getFullName(), d);
    for (Descriptor nested : d.getNestedTypes()) {
      indexMessage(nested);
    }
    for (EnumDescriptor e : d.getEnumTypes()) {
      enums.put(e.getFullName(), e);
    }
  }

  /**
   * Builds FileDescriptors from the set (dependencies come first in protoc's output). Files
   * compiled into this jar, and protobuf's well-known types, reuse their generated
   * descriptors, so a files.v1.File from a dynamic call and one from TransferService are
   * the same type, and options parse as the generated extensions.
   */
  private static Map<String, FileDescriptor> link(FileDescriptorSet set) {
    Map<String, FileDescriptor> built = new LinkedHashMap<>();
    Deque<FileDescriptor> todo = new ArrayDeque<>(List.of(
        com.filesgateway.v1.Transfer.getDescriptor(), Options.getDescriptor(),
        com.filesgateway.client.internal.rpc.StatusOuterClass.getDescriptor(),
        com.filesgateway.client.internal.rpc.ErrorDetails.getDescriptor(),
        StructProto.getDescriptor(), EmptyProto.getDescriptor(), AnyProto.getDescriptor(),
        DurationProto.getDescriptor(), TimestampProto.getDescriptor(),
        WrappersProto.getDescriptor(), FieldMaskProto.getDescriptor(),
        DescriptorProtos.getDescriptor()));
    while (!todo.isEmpty()) {
      FileDescriptor f = todo.pop();
      if (built.putIfAbsent(f.getName(), f) == null) {
        todo.addAll(f.getDependencies());
      }
    }
    for (FileDescriptorProto proto : set.getFileList()) {
      if (built.containsKey(proto.getName())) {
        continue;
      }
      List<FileDescriptor> deps = new ArrayList<>();
      for (String dep : proto.getDependencyList()) {
        FileDescriptor d = built.get(dep);
        if (d == null) {
          throw new IllegalStateException(proto.getName() + ": dependency " + dep
              + " is not in the descriptor set");
        }
        deps.add(d);
      }
      try {
        built.put(proto.getName(),
                  FileDescriptor.buildFrom(proto, deps.toArray(new FileDescriptor[0])));
      } catch (DescriptorValidationException e) {
        throw new IllegalStateException(proto.getName() + ": " + e.getMessage(), e);
      }
    }
    return Collections.unmodifiableMap(built);
  }

  /** "As2Partner" -> "as2_partner", "InboundS3Log" -> "inbound_s3_log". */
  static String snakeCase(String name) {
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

  /** The English plural of a snake_case noun, enough for the Files.com resources. */
  static String plural(String word) {
    if (word.matches(".*[^aeiou]y")) {
      return word.substring(0, word.length() - 1) + "ies";
    }
    if (word.matches(".*(s|x|z|ch|sh)")) {
      return word + "es";
    }
    return word + "s";
  }

  private static Map<String, String> attributeNames(Iterable<String> resourceNames) {
    Map<String, List<String>> taken = new HashMap<>();
    for (String resource : resourceNames) {
      String single = snakeCase(resource);
      for (String name : new String[] {plural(single), single}) {
        List<String> owners = taken.computeIfAbsent(name, k -> new ArrayList<>());
        if (!owners.contains(resource)) {
          owners.add(resource);
        }
      }
    }
    Map<String, String> out = new HashMap<>();
    // A name two resources could claim belongs to neither.
    taken.forEach((name, owners) -> {
      if (owners.size() == 1) {
        out.put(name, owners.get(0));
      }
    });
    return Collections.unmodifiableMap(out);
  }

  /** The SDK resource names, sorted: "ActionLog", ..., "User", ... */
  public SortedSet<String> resourceNames() {
    return Collections.unmodifiableSortedSet(new TreeSet<>(resources.keySet()));
  }

  /**
   * The SDK resource behind a name: the SDK class ("User", "ApiKey") or its snake_case
   * singular or plural ("user", "users", "api_keys"); null when there is none.
   */
  public String resourceName(String name) {
    if (resources.containsKey(name)) {
      return name;
    }
    String r = attributes.get(name);
    return r != null ? r : attributes.get(name.toLowerCase(Locale.ROOT));
  }

  /** The actions of a resource by SDK name ("list", "find", ...), or an empty map. */
  public Map<String, ApiMethod> actions(String resource) {
    return resources.getOrDefault(resource, Map.of());
  }

  /** Every resource with its actions. */
  public Map<String, Map<String, ApiMethod>> resources() {
    return resources;
  }

  /** A message type by full name ("files.v1.User"), or null. */
  public Descriptor messageType(String fullName) {
    return messages.get(fullName);
  }

  /** An enum type by full name ("files.v1.ErrorType"), or null. */
  public EnumDescriptor enumType(String fullName) {
    return enums.get(fullName);
  }

  /** Every file of the pool, by name ("files/v1/user.proto"). */
  public Map<String, FileDescriptor> files() {
    return files;
  }
}
