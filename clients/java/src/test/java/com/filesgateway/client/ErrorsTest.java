package com.filesgateway.client;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;

import com.filesgateway.client.exceptions.ApiErrorException;
import com.filesgateway.client.exceptions.ApiErrorException.ApiConnectionException;
import com.filesgateway.client.exceptions.ApiErrorException.CancelledException;
import com.filesgateway.client.exceptions.ApiErrorException.DataLossException;
import com.filesgateway.client.exceptions.ApiErrorException.DeadlineExceededException;
import com.filesgateway.client.exceptions.ApiErrorException.FolderAdminPermissionRequiredException;
import com.filesgateway.client.exceptions.ApiErrorException.GatewayException;
import com.filesgateway.client.exceptions.ApiErrorException.NotAuthorizedException;
import com.filesgateway.client.exceptions.SdkException;
import com.filesgateway.client.internal.Params;
import com.filesgateway.client.internal.rpc.ErrorInfo;
import com.filesgateway.client.internal.rpc.RetryInfo;
import com.filesgateway.v1.ErrorTypeInfo;
import com.filesgateway.v1.Options;
import com.google.protobuf.Any;
import com.google.protobuf.Descriptors.EnumDescriptor;
import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.Message;
import io.grpc.Metadata;
import io.grpc.Status;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.Test;

/**
 * The exception tree against error_catalog.proto, and rich statuses (as the gateway sends
 * them) to classes and attributes.
 */
public class ErrorsTest {
  private static final Metadata.Key<byte[]> DETAILS =
      Metadata.Key.of("grpc-status-details-bin", Metadata.BINARY_BYTE_MARSHALLER);

  /** "UserNotFoundError" -> "UserNotFoundException", as the Java SDK names them. */
  private static String javaName(String catalogName) {
    return catalogName.replaceAll("Error$", "") + "Exception";
  }

  private static List<ErrorTypeInfo> catalog(String enumName) {
    EnumDescriptor e = Api.get().enumType("files.v1." + enumName);
    assertNotNull(enumName, e);
    List<ErrorTypeInfo> out = new ArrayList<>();
    for (EnumValueDescriptor v : e.getValues()) {
      if (v.getOptions().hasExtension(Options.error)) {
        out.add(v.getOptions().getExtension(Options.error));
      }
    }
    return out;
  }

  @Test
  public void everyCatalogueEntryHasItsClassUnderItsGroup() {
    List<ErrorTypeInfo> groups = catalog("ErrorGroup");
    List<ErrorTypeInfo> types = catalog("ErrorType");
    assertEquals(8, groups.size());
    assertTrue("types: " + types.size(), types.size() >= 200);
    for (ErrorTypeInfo g : groups) {
      Class<? extends SdkException> c = ApiErrorException.classForName(g.getClassName());
      assertNotNull(g.getClassName(), c);
      assertEquals(javaName(g.getClassName()), c.getSimpleName());
      assertSame(ApiErrorException.class, c.getSuperclass());
    }
    for (ErrorTypeInfo t : types) {
      Class<? extends SdkException> c = ApiErrorException.classForName(t.getClassName());
      assertNotNull(t.getClassName(), c);
      assertEquals(javaName(t.getClassName()), c.getSimpleName());
      assertSame(t.getClassName(), ApiErrorException.classForName(t.getGroup()),
                 c.getSuperclass());
      ApiErrorException e = ApiErrorException.forType(t.getType(), null, "m", null, null);
      assertSame(t.getType(), c, e.getClass());
    }
    assertEquals(groups.size() + types.size(), ApiErrorException.catalogTypes().size());
  }

  @Test
  public void theSdkExampleHierarchyExistsAtCompileTime() {
    SdkException e = new FolderAdminPermissionRequiredException("x", null, null);
    assertTrue(e instanceof NotAuthorizedException);
    assertTrue(e instanceof ApiErrorException);
    assertTrue(e instanceof RuntimeException);
    assertSame(ApiConnectionException.class, DeadlineExceededException.class.getSuperclass());
    assertSame(GatewayException.class, DataLossException.class.getSuperclass());
    assertSame(SdkException.class, CancelledException.class.getSuperclass());
  }

  @Test
  public void connectionFailuresAreCaughtAsApiErrorException() {
    assertSame(ApiErrorException.class, ApiConnectionException.class.getSuperclass());
    // What a user writes: one catch for every failed call, connection and deadline included.
    for (Status s : new Status[] {Status.UNAVAILABLE, Status.DEADLINE_EXCEEDED}) {
      try {
        throw Errors.fromGrpc(s.withDescription("no answer").asRuntimeException());
      } catch (ApiErrorException e) {
        assertTrue(s + " -> " + e.getClass(), e instanceof ApiConnectionException);
      }
    }
  }

  @Test
  public void classNamesOfEveryLayerResolve() {
    assertSame(SdkException.class, ApiErrorException.classForName("Error"));
    assertSame(ApiErrorException.class, ApiErrorException.classForName("APIError"));
    assertSame(ApiConnectionException.class, ApiErrorException.classForName("APIConnectionError"));
    assertSame(DataLossException.class, ApiErrorException.classForName("DataLossError"));
    assertSame(FolderAdminPermissionRequiredException.class,
               ApiErrorException.classForName("FolderAdminPermissionRequiredError"));
    assertSame(FolderAdminPermissionRequiredException.class,
               ApiErrorException.classForName("FolderAdminPermissionRequiredException"));
    assertNull(ApiErrorException.classForName("NoSuchError"));
  }

  /** Trailers holding a google.rpc.Status with these details. */
  private static Metadata trailers(Message... details) {
    com.filesgateway.client.internal.rpc.Status.Builder s =
        com.filesgateway.client.internal.rpc.Status.newBuilder().setCode(5);
    for (Message d : details) {
      s.addDetails(Any.newBuilder()
          .setTypeUrl("type.googleapis.com/" + d.getDescriptorForType().getFullName())
          .setValue(d.toByteString()));
    }
    Metadata md = new Metadata();
    md.put(DETAILS, s.build().toByteArray());
    return md;
  }

  private static ErrorInfo info(String domain, String reason, Map<String, String> metadata) {
    return ErrorInfo.newBuilder().setDomain(domain).setReason(reason).putAllMetadata(metadata)
        .build();
  }

  private static Message filesError(Map<String, Object> fields) {
    DynamicMessage.Builder b = DynamicMessage.newBuilder(
        Api.get().messageType("files.v1.FilesError"));
    Params.fill(b, fields, "FilesError");
    return b.build();
  }

  @Test
  public void aFilesComErrorBecomesItsLeafClassWithEveryAttribute() {
    Metadata md = trailers(
        info("files.com", "USER_NOT_FOUND", Map.of("type", "not-found/user-not-found",
                                                   "group", "NotFoundError",
                                                   "http_status", "404")),
        filesError(Map.of("type", "not-found/user-not-found", "title", "User Not Found",
                          "message", "User Not Found", "http_code", 404,
                          "errors", List.of("a", Map.of("field", "id")),
                          "data", Map.of("id", 42), "instance", "abc")));
    SdkException e = Errors.fromStatus(Status.NOT_FOUND.withDescription("User Not Found"), md,
                                       null);
    assertEquals("UserNotFoundException", e.getClass().getSimpleName());
    assertTrue(e instanceof ApiErrorException.NotFoundException);
    assertEquals("User Not Found", e.getMessage());
    assertEquals(Status.Code.NOT_FOUND, e.getCode());
    assertEquals("not-found/user-not-found", e.getType());
    assertEquals(Integer.valueOf(404), e.getHttpStatus());
    assertEquals(Integer.valueOf(404), e.getHttpCode());
    assertEquals("User Not Found", e.getTitle());
    assertEquals("USER_NOT_FOUND", e.getReason());
    assertEquals("files.com", e.getDomain());
    assertEquals("abc", e.getInstance());
    assertEquals(List.of("a", Map.of("field", "id")), e.getErrors());
    assertEquals(Map.of("id", 42L), e.getData());
    assertNull(e.getRetryDelay());
    assertTrue(e.toString(), e.toString().contains("[not-found/user-not-found]"));
  }

  @Test
  public void retryInfoGivesTheRetryDelay() {
    Metadata md = trailers(
        info("files.com", "TOO_MANY_REQUESTS", Map.of("type", "rate-limited/too-many-requests")),
        RetryInfo.newBuilder().setRetryDelay(com.google.protobuf.Duration.newBuilder()
            .setSeconds(2).setNanos(500_000_000)).build());
    SdkException e = Errors.fromStatus(Status.RESOURCE_EXHAUSTED, md, null);
    assertTrue(e instanceof ApiErrorException.RateLimitedException);
    assertEquals(Duration.ofMillis(2500), e.getRetryDelay());
    assertEquals("RESOURCE_EXHAUSTED", e.getMessage());  // no description: the code's name
  }

  @Test
  public void anUnknownLeafFallsBackToItsGroup() {
    SdkException e = Errors.fromStatus(Status.NOT_FOUND, trailers(
        info("files.com", "NEW", Map.of("type", "not-found/brand-new-thing"))), null);
    assertSame(ApiErrorException.NotFoundException.class, e.getClass());
    assertEquals("not-found/brand-new-thing", e.getType());
    e = Errors.fromStatus(Status.NOT_FOUND, trailers(
        info("files.com", "NEW", Map.of("type", "new-group/thing", "group", "NotFoundError"))),
        null);
    assertSame(ApiErrorException.NotFoundException.class, e.getClass());
    e = Errors.fromStatus(Status.UNKNOWN, trailers(
        info("files.com", "NEW", Map.of("type", "new-group/thing"))), null);
    assertSame(ApiErrorException.class, e.getClass());
  }

  @Test
  public void theFilesErrorTypeServesWithoutErrorInfo() {
    SdkException e = Errors.fromStatus(Status.FAILED_PRECONDITION, trailers(filesError(Map.of(
        "type", "processing-failure/destination-exists", "http_status", 422))), null);
    assertSame(ApiErrorException.DestinationExistsException.class, e.getClass());
    assertEquals(Integer.valueOf(422), e.getHttpStatus());
  }

  @Test
  public void statusesWithoutAFilesComTypeMapByCode() {
    Object[][] table = {
        {Status.UNAVAILABLE, ApiConnectionException.class},
        {Status.DEADLINE_EXCEEDED, DeadlineExceededException.class},
        {Status.CANCELLED, CancelledException.class},
        {Status.DATA_LOSS, DataLossException.class},
        {Status.INTERNAL, GatewayException.class},
        {Status.UNIMPLEMENTED, GatewayException.class},
        {Status.INVALID_ARGUMENT, ApiErrorException.BadRequestException.class},
        {Status.NOT_FOUND, ApiErrorException.NotFoundException.class},
        {Status.PERMISSION_DENIED, ApiErrorException.NotAuthorizedException.class},
        {Status.UNAUTHENTICATED, ApiErrorException.NotAuthenticatedException.class},
        {Status.ABORTED, ApiErrorException.ProcessingFailureException.class},
        {Status.ALREADY_EXISTS, ApiErrorException.DestinationExistsException.class},
        // gRPC's own RESOURCE_EXHAUSTED (an oversized message) is no rate limit...
        {Status.RESOURCE_EXHAUSTED, GatewayException.class},
    };
    for (Object[] row : table) {
      Status s = (Status) row[0];
      SdkException e = Errors.fromStatus(s.withDescription("d"), new Metadata(), null);
      assertSame(s.getCode().name(), row[1], e.getClass());
      assertEquals(s.getCode(), e.getCode());
      assertEquals("d", e.getMessage());
    }
    // ...unless the gateway says so (its rate governor, domain files-gateway).
    SdkException e = Errors.fromStatus(Status.RESOURCE_EXHAUSTED, trailers(
        info("files-gateway", "GATEWAY_RATE_LIMITED", Map.of())), null);
    assertSame(ApiErrorException.RateLimitedException.class, e.getClass());
    assertEquals("files-gateway", e.getDomain());
  }

  @Test
  public void malformedDetailsAreIgnored() {
    Metadata md = new Metadata();
    md.put(DETAILS, new byte[] {(byte) 0xff, 0x01, 0x02});
    SdkException e = Errors.fromStatus(Status.NOT_FOUND, md, null);
    assertSame(ApiErrorException.NotFoundException.class, e.getClass());
  }

  @Test
  public void fromGrpcReadsTheTrailersOfAStatusRuntimeException() {
    Metadata md = trailers(info("files.com", "TRIAL_EXPIRED",
                                Map.of("type", "site-configuration/trial-expired")));
    RuntimeException thrown = Status.FAILED_PRECONDITION.withDescription("Trial expired")
        .asRuntimeException(md);
    SdkException e = Errors.fromGrpc(thrown);
    assertSame(ApiErrorException.TrialExpiredException.class, e.getClass());
    assertSame(thrown, e.getCause());
    assertSame(e, Errors.fromGrpc(e));
  }
}
