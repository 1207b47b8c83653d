package com.filesgateway.client;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import com.filesgateway.client.exceptions.ApiErrorException;
import com.filesgateway.client.exceptions.ApiErrorException.InvalidParameterException;
import com.filesgateway.client.exceptions.ApiErrorException.InvalidRequestException;
import com.filesgateway.client.exceptions.SdkException;
import com.filesgateway.client.internal.Params;
import com.filesgateway.client.internal.rpc.ErrorInfo;
import com.google.protobuf.Any;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.Message;
import io.grpc.Metadata;
import io.grpc.Status;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * The resource layer over an in-process fake gateway: every action of every resource from
 * the descriptors, params onto requests, results, paging, call options, per-object actions
 * and typed errors.
 */
public class ClientTest {
  private FakeGateway fake;
  private FilesGateway client;

  @Before
  public void start() throws Exception {
    fake = new FakeGateway();
    client = FilesGateway.forChannel(fake.channel(),
        new ConnectOptions().token("t0k3n").metadata("x-app", "tests"));
  }

  @After
  public void stop() {
    client.close();
    fake.close();
  }

  private static Message msg(Descriptor d, Map<String, Object> fields) {
    DynamicMessage.Builder b = DynamicMessage.newBuilder(d);
    Params.fill(b, fields, d.getName());
    return b.build();
  }

  /** A value of the field's type for a path param. */
  private static Object sample(FieldDescriptor fd) {
    return fd.getJavaType() == FieldDescriptor.JavaType.STRING ? "some/path.txt" : 7L;
  }

  @Test
  public void everyTypedActionOfEveryGeneratedResourceIsCallable() throws Exception {
    int actions = 0;
    for (java.lang.reflect.Method accessor : FilesGatewayResources.class.getDeclaredMethods()) {
      if (!java.lang.reflect.Modifier.isPublic(accessor.getModifiers())) {
        continue;
      }
      Object resource = accessor.invoke(client);
      for (java.lang.reflect.Method m : resource.getClass().getMethods()) {
        Class<?>[] params = m.getParameterTypes();
        // The general form of each action: (request message, RequestOptions).
        if (params.length != 2 || params[1] != RequestOptions.class
            || !Message.class.isAssignableFrom(params[0])) {
          continue;
        }
        Message request = (Message) params[0].getMethod("getDefaultInstance").invoke(null);
        int before = fake.calls.size();
        Object result = m.invoke(resource, request, null);
        assertEquals(m.toString(), before + 1, fake.calls.size());
        assertEquals(request.getDescriptorForType().getFullName(),
                     fake.last().method.inputType().getFullName());
        Class<?> returns = m.getReturnType();
        if (returns == void.class) {
          assertNull(result);
        } else {
          assertTrue(m + " -> " + result, returns.isInstance(result));
        }
        actions++;
      }
    }
    assertEquals(419, actions);
  }

  @Test
  public void typedCallsCarryPathParamsObjectsAndPages() {
    assertEquals(0L, client.users().find(7L).getId());  // the fake answers an empty User
    assertEquals(7L, fake.last().field("id"));
    client.users().delete(com.filesgateway.v1.User.newBuilder().setId(9).build());
    assertEquals("DeleteUser", fake.last().method.descriptor().getName());
    assertEquals(9L, fake.last().field("id"));
    assertThrows(ApiErrorException.InvalidRequestException.class,
        () -> client.users().delete(com.filesgateway.v1.User.getDefaultInstance()));
    client.files().beginUpload("a/b.txt", com.filesgateway.v1.BeginUploadFileRequest
        .newBuilder().setSize(3).build(), new RequestOptions().withWorkspaceId(5)
        .withLanguage("de"));
    assertEquals("a/b.txt", fake.last().field("path"));
    assertEquals(3L, fake.last().field("size"));
    assertEquals("5", fake.last().header("x-files-workspace-id"));
    assertEquals("de", fake.last().header("x-files-language"));

    fake.responder = c -> {
      String cursor = (String) c.field("cursor");
      com.filesgateway.v1.ListUsersResponse.Builder b =
          com.filesgateway.v1.ListUsersResponse.newBuilder()
              .addItems(com.filesgateway.v1.User.newBuilder().setId(cursor.isEmpty() ? 1 : 2));
      if (cursor.isEmpty()) {
        b.setNextCursor("page2");
      }
      try {  // the fake speaks DynamicMessage over the descriptor set's types
        return DynamicMessage.parseFrom(c.method.outputType(), b.build().toByteString());
      } catch (com.google.protobuf.InvalidProtocolBufferException e) {
        throw new AssertionError(e);
      }
    };
    PagedList<com.filesgateway.v1.User> users = client.users().list();
    List<Long> ids = new ArrayList<>();
    for (com.filesgateway.v1.User u : users) {
      ids.add(u.getId());
    }
    assertEquals(List.of(1L, 2L), ids);
    assertFalse(users.hasNextPage());
  }

  @Test
  public void everyActionOfEveryResourceIsCallable() {
    int actions = 0;
    for (String name : client.resourceNames()) {
      Resource r = client.resource(name);
      for (String action : r.actions()) {
        ApiMethod m = r.method(action);
        List<Object> args = new ArrayList<>();
        for (String p : m.pathParams()) {
          args.add(sample(Params.fieldForKey(m.inputType(), p)));
        }
        Object result = r.call(action, args.toArray());
        FakeGateway.Call call = fake.last();
        assertSame(m, call.method);
        assertEquals(m.fullMethodName(), call.method.fullMethodName());
        for (int i = 0; i < args.size(); i++) {
          assertEquals(m + " " + m.pathParams().get(i), args.get(i),
                       call.field(m.pathParams().get(i)));
        }
        String out = m.outputType().getFullName();
        if (m.paginated()) {
          assertTrue(m.toString(), result instanceof ListObj);
          assertFalse(((ListObj) result).hasNextPage());
        } else if (out.equals("google.protobuf.Empty")) {
          assertNull(m.toString(), result);
        } else if (result instanceof List) {
          assertNotNull(m.outputType().findFieldByName("items"));
        } else {
          assertEquals(m.toString(), m.outputType().getName(), ((Model) result).typeName());
        }
        actions++;
      }
    }
    assertEquals(419, actions);
    assertEquals(419, fake.calls.size());
  }

  @Test
  public void resourcesAnswerToTheirSdkAndSnakeCaseNames() {
    assertEquals("User", client.resource("users").name());
    assertEquals("User", client.resource("user").name());
    assertEquals("User", client.resource("User").name());
    assertEquals("ApiKey", client.resource("api_keys").name());
    assertEquals("As2Partner", client.resource("as2_partners").name());
    assertSame(client.resource("users"), client.resource("User"));
    assertThrows(InvalidRequestException.class, () -> client.resource("no_such_things"));
    assertThrows(InvalidRequestException.class, () -> client.resource("users").call("fly"));
    assertTrue(client.resourceNames().size() > 100);
    assertTrue(client.resource("users").actions().containsAll(
        List.of("list", "find", "create", "update", "delete", "unlock")));
  }

  @Test
  public void paramsMapOntoTheRequest() {
    Map<String, Object> sort = Map.of("username", "asc");
    Map<String, Object> filter = new LinkedHashMap<>();
    filter.put("disabled", true);
    filter.put("site_id", 3);
    DynamicMessage r = client.resource("users").buildRequest("list", Map.of(
        "sort_by", sort, "filter", filter, "filter_prefix", Map.of("username", "page-"),
        "per_page", "1000", "include_parent_site_users", "true"));
    assertEquals(1000L, get(r, "per_page"));
    assertEquals(true, get(r, "include_parent_site_users"));
    assertEquals(Map.of("username", "asc"), mapOf(r, "sort_by"));
    assertEquals(Map.of("disabled", "true", "site_id", "3"), mapOf(r, "filter"));
    assertEquals(Map.of("username", "page-"), mapOf(r, "filter_prefix"));
    assertTrue(fake.calls.isEmpty());  // buildRequest sends nothing
  }

  @Test
  public void structsRepeatedFieldsAndDatesMapOntoTheRequest() {
    Map<String, Object> headers = new LinkedHashMap<>();
    headers.put("X-A", "1");
    headers.put("nested", Map.of("n", 2.5, "list", List.of(1, "two", false)));
    headers.put("none", null);
    DynamicMessage r = client.resource("As2Partner").buildRequest("create", Map.of(
        "additional_http_headers", headers, "name", "p"));
    FieldDescriptor fd = r.getDescriptorForType().findFieldByName("additional_http_headers");
    Map<String, Object> back = new LinkedHashMap<>();
    back.put("X-A", "1");
    back.put("nested", Map.of("n", 2.5, "list", List.of(1L, "two", false)));
    back.put("none", null);
    assertEquals(back, com.filesgateway.client.internal.Values.field(r, fd, null));

    DynamicMessage t = client.resource("AiTask").buildRequest("create", Map.of(
        "recurring_days", new int[] {1, 3}, "name", Instant.parse("2026-01-02T03:04:05Z")));
    assertEquals(List.of(1L, 3L), get(t, "recurring_days"));
    assertEquals("2026-01-02T03:04:05Z", get(t, "name"));
  }

  @Test
  public void badParamsFailBeforeAnythingIsSent() {
    Resource users = client.resource("users");
    InvalidParameterException e = assertThrows(InvalidParameterException.class,
        () -> users.call("list", Map.of("no_such_param", 1)));
    assertTrue(e.getMessage(), e.getMessage().contains("no_such_param"));
    assertThrows(InvalidParameterException.class,
        () -> users.call("list", Map.of("per_page", "many")));
    assertThrows(InvalidParameterException.class,
        () -> users.call("list", Map.of("per_page", 1.5)));
    assertThrows(InvalidParameterException.class,
        () -> users.call("list", Map.of("sort_by", "username")));
    assertThrows(InvalidParameterException.class, () -> users.call("find", "not-a-number"));
    assertThrows(InvalidRequestException.class, () -> users.call("find", 1, 2));
    assertTrue(e instanceof InvalidRequestException && e instanceof SdkException);
    assertTrue(fake.calls.isEmpty());
  }

  @Test
  public void jsonNamesAreFilesComKeys() {
    fake.responder = c -> msg(c.method.outputType(), Map.of("path", "a/b", "subfolders_locked?",
                                                            true, "size", 3));
    Model f = client.resource("files").find("a/b");
    assertEquals(true, f.get("subfolders_locked?"));
    assertEquals(true, f.get("subfolders_locked"));
    assertEquals(true, f.toMap().get("subfolders_locked?"));
    assertEquals(Long.valueOf(3), f.getLong("size"));
    assertNull(f.get("mtime"));
    assertEquals("x", f.get("mtime", "x"));
    assertFalse(f.has("mtime"));
    assertThrows(IllegalArgumentException.class, () -> f.get("no_such_field"));
    com.filesgateway.v1.File typed = f.as(com.filesgateway.v1.File.class);
    assertEquals("a/b", typed.getPath());
    assertTrue(typed.getSubfoldersLocked());
  }

  private static DynamicMessage usersPage(ApiMethod m, int from, int n, String next) {
    List<Object> items = new ArrayList<>();
    for (int i = from; i < from + n; i++) {
      items.add(Map.of("id", i, "username", "u" + i));
    }
    Map<String, Object> page = new LinkedHashMap<>();
    page.put("items", items);
    page.put("next_cursor", next);
    return (DynamicMessage) msg(m.outputType(), page);
  }

  @Test
  public void listObjPagesAutomaticallyAndByHand() {
    fake.responder = c -> {
      String cursor = (String) c.field("cursor");
      switch (cursor) {
        case "":
          return usersPage(c.method, 0, 3, "c2");
        case "c2":
          return usersPage(c.method, 3, 3, "c3");
        default:
          return usersPage(c.method, 6, 1, null);
      }
    };
    ListObj all = client.resource("users").list(Map.of("per_page", 3));
    assertEquals(3, all.size());
    List<Object> ids = new ArrayList<>();
    for (Model u : all) {
      ids.add(u.get("id"));
    }
    assertEquals(List.of(0L, 1L, 2L, 3L, 4L, 5L, 6L), ids);
    assertEquals(List.of("", "c2", "c3"), cursorsSent());
    for (FakeGateway.Call c : fake.calls) {
      assertEquals(3L, c.field("per_page"));  // params survive on later pages
    }

    fake.calls.clear();
    ListObj page = client.resource("users").list(Map.of("per_page", 3));
    int pages = 1;
    while (page.hasNextPage()) {
      page.loadNextPage();
      pages++;
    }
    assertEquals(3, pages);
    assertEquals(1, page.page().size());
    assertNull(page.cursor());
    assertThrows(NoSuchElementException.class, page::loadNextPage);
    assertEquals(7, client.resource("users").list().stream().count());
    assertEquals(7, client.resource("users").list().all().size());
  }

  private List<Object> cursorsSent() {
    List<Object> out = new ArrayList<>();
    for (FakeGateway.Call c : fake.calls) {
      out.add(c.field("cursor"));
    }
    return out;
  }

  @Test
  public void callOptionsReachTheServer() {
    client.resource("users").find(1);
    FakeGateway.Call c = fake.last();
    assertEquals("Bearer t0k3n", c.header("authorization"));
    assertEquals("tests", c.header("x-app"));
    long left = c.deadline.timeRemaining(TimeUnit.SECONDS);
    assertTrue("default deadline: " + left, left > 20 && left <= 30);

    client.resource("users").find(1, RequestOptions.timeout(Duration.ofSeconds(5))
        .withMetadata("x-trace", "abc"));
    c = fake.last();
    assertEquals("abc", c.header("x-trace"));
    assertEquals("Bearer t0k3n", c.header("authorization"));
    assertTrue(c.deadline.timeRemaining(TimeUnit.MILLISECONDS) <= 5000);

    client.resource("users").find(1, new RequestOptions().withTimeout(null));
    assertNull(fake.last().deadline);
  }

  @Test
  public void perObjectActionsFillInTheId() {
    fake.responder = c -> c.method.outputType().getName().equals("Empty")
        ? DynamicMessage.getDefaultInstance(c.method.outputType())
        : msg(c.method.outputType(), Map.of("id", 42, "username", "bob"));
    Model bob = client.resource("users").find(42);
    Model renamed = bob.invoke("update", Map.of("name", "Bob"));
    FakeGateway.Call c = fake.last();
    assertEquals("files.v1.UserService/UpdateUser", c.method.fullMethodName());
    assertEquals(42L, c.field("id"));
    assertEquals("Bob", c.field("name"));
    assertEquals("bob", renamed.get("username"));
    Object none = bob.invoke("delete");
    assertNull(none);
    assertEquals(42L, fake.last().field("id"));
    assertEquals("User{id=42, username=bob}", bob.toString());
  }

  @Test
  public void failuresArriveTyped() {
    fake.responder = c -> {
      com.filesgateway.client.internal.rpc.Status rich =
          com.filesgateway.client.internal.rpc.Status.newBuilder().setCode(7)
              .addDetails(Any.pack(ErrorInfo.newBuilder().setDomain("files.com")
                  .setReason("FOLDER_ADMIN_PERMISSION_REQUIRED")
                  .putMetadata("type", "not-authorized/folder-admin-permission-required")
                  .putMetadata("http_status", "403").build(), "type.googleapis.com"))
              .build();
      Metadata md = new Metadata();
      md.put(Metadata.Key.of("grpc-status-details-bin", Metadata.BINARY_BYTE_MARSHALLER),
             rich.toByteArray());
      throw Status.PERMISSION_DENIED.withDescription("You need folder admin permission.")
          .asRuntimeException(md);
    };
    ApiErrorException.NotAuthorizedException e = assertThrows(
        ApiErrorException.NotAuthorizedException.class,
        () -> client.resource("groups").find(424242));
    assertSame(ApiErrorException.FolderAdminPermissionRequiredException.class, e.getClass());
    assertEquals(Integer.valueOf(403), e.getHttpStatus());
    assertEquals("You need folder admin permission.", e.getMessage());
    // Paging surfaces errors at list() (the first page loads at once).
    assertThrows(ApiErrorException.NotAuthorizedException.class,
                 () -> client.resource("groups").list());
  }

  private static Object get(DynamicMessage m, String field) {
    FieldDescriptor fd = m.getDescriptorForType().findFieldByName(field);
    return com.filesgateway.client.internal.Values.field(m, fd, null);
  }

  private static Map<?, ?> mapOf(DynamicMessage m, String field) {
    return (Map<?, ?>) get(m, field);
  }
}
