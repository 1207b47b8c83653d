package com.filesgateway.client;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import com.filesgateway.client.exceptions.ApiErrorException;
import com.filesgateway.client.exceptions.SdkException;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.Timeout;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;

/**
 * Runs tests/clients/scenario.json (the scenario shared by every client language; format in
 * tests/clients/README.md) with the Java client against files-emulator and files-gateway
 * started from the build tree. One test per case, named after it.
 *
 * <p>-Dfilesgw.bin=BUILD_DIR -Dfilesgw.scenario=scenario.json [-Dfilesgw.filter=user_crud]
 */
@RunWith(Parameterized.class)
public class ScenarioTest {
  private static final Pattern VAR = Pattern.compile("\\$\\{(\\w+)\\}");
  private static final Set<String> EXPECT_KEYS = Set.of("fields", "none", "count", "pages",
      "first_page_count", "sorted_by", "unique", "names", "same_as", "text",
      "max_bytes_received", "persisted_size", "progress_final", "progress_calls_min", "error");
  private static final Set<String> ERROR_KEYS = Set.of("class", "is_a", "type", "type_prefix",
      "grpc_code", "http_status", "title", "message_contains", "retry_delay_min");
  private static final Set<String> OPS = Set.of("call", "create_many", "list", "upload_file",
      "download_file", "open_write", "open_read", "list_for", "download_cancel",
      "resumable_upload", "resumable_cancel", "inject_fault");

  private static Env env;

  @Rule
  public Timeout timeout = Timeout.seconds(150);

  private final Map<String, Object> testCase;

  public ScenarioTest(String name, Map<String, Object> testCase) {
    this.testCase = testCase;
  }

  @Parameterized.Parameters(name = "{0}")
  public static Collection<Object[]> cases() throws IOException {
    Map<String, Object> scenario = load();
    List<Object[]> out = new ArrayList<>();
    for (Object c : list(scenario.get("cases"))) {
      Map<String, Object> m = map(c);
      out.add(new Object[] {m.get("name"), m});
    }
    return out;
  }

  private static Map<String, Object> scenario;

  private static synchronized Map<String, Object> load() throws IOException {
    if (scenario == null) {
      String path = System.getProperty("filesgw.scenario", "");
      if (path.isEmpty()) {
        throw new IllegalStateException("set -Dfilesgw.scenario to tests/clients/scenario.json");
      }
      Map<String, Object> s = Json.parseObject(Files.readString(Path.of(path)));
      if (!"files-gateway-client-scenario/1".equals(s.get("format"))) {
        throw new IllegalStateException(path + ": unknown format " + s.get("format"));
      }
      validate(path, s);
      scenario = s;
    }
    return scenario;
  }

  /** A typo in the shared file must fail loudly, not pass as an ignored key. */
  private static void validate(String path, Map<String, Object> s) {
    List<String> problems = new ArrayList<>();
    Set<Object> names = new HashSet<>();
    Map<String, Object> gateways = map(s.get("gateways"));
    for (Object c : list(s.get("cases"))) {
      Map<String, Object> testCase = map(c);
      if (!names.add(testCase.get("name"))) {
        problems.add("case " + testCase.get("name") + " appears twice");
      }
      List<Object> steps = list(testCase.get("steps"));
      for (int n = 0; n < steps.size(); n++) {
        Map<String, Object> step = map(steps.get(n));
        String where = testCase.get("name") + " step " + n;
        if (!OPS.contains(step.get("op"))) {
          problems.add(where + ": unknown op " + step.get("op"));
        }
        Object gw = step.getOrDefault("gateway", "default");
        if (!gateways.containsKey(gw)) {
          problems.add(where + ": unknown gateway " + gw);
        }
        Map<String, Object> expect = map(step.getOrDefault("expect", Map.of()));
        for (String k : expect.keySet()) {
          if (!EXPECT_KEYS.contains(k)) {
            problems.add(where + ": unknown expectation " + k);
          }
        }
        for (String k : map(expect.getOrDefault("error", Map.of())).keySet()) {
          if (!ERROR_KEYS.contains(k)) {
            problems.add(where + ": unknown error expectation " + k);
          }
        }
      }
    }
    if (!problems.isEmpty()) {
      throw new IllegalStateException(path + ":\n  " + String.join("\n  ", problems));
    }
  }

  /**
   * The emulator and the "default" gateway, shared by every case (started once). Every other
   * gateway with an api_key is started afresh for each case that uses it: "isolated" exists
   * for cases that disturb gateway-wide state (a 429 pauses its credential for Retry-After),
   * and sharing one across cases would make them depend on their order.
   */
  private static final class Env {
    final String run = "java" + UUID.randomUUID().toString().substring(0, 8);
    final Path build = Harness.buildDir();
    final String key = "java-scenario-" + UUID.randomUUID().toString().substring(0, 8);
    final Map<String, Object> gateways;
    final List<Harness.Server> servers = new ArrayList<>();
    final Map<String, FilesGateway> shared = new HashMap<>();
    String baseUrl;

    Env(Map<String, Object> scenario) throws IOException {
      gateways = map(scenario.get("gateways"));
      try {
        Harness.Server emu = Harness.startEmulator(build, key);
        servers.add(emu);
        baseUrl = (String) emu.ready.get("base_url");
        for (Map.Entry<String, Object> gw : gateways.entrySet()) {
          Map<String, Object> spec = map(gw.getValue());
          if (Boolean.TRUE.equals(spec.get("unreachable"))) {
            shared.put(gw.getKey(), connect(Harness.unusedLoopbackTarget()));
          } else if (gw.getKey().equals("default")) {
            Harness.Server server = startGateway(spec);
            servers.add(server);
            shared.put(gw.getKey(), connect(Harness.target(server)));
          }
        }
      } catch (IOException | RuntimeException e) {
        close();
        throw e;
      }
    }

    Harness.Server startGateway(Map<String, Object> spec) throws IOException {
      String k = "valid".equals(spec.get("api_key")) ? key : "not-" + key;
      return Harness.startGateway(build, baseUrl, k);
    }

    static FilesGateway connect(String target) {
      return FilesGateway.connect(target, new ConnectOptions().timeout(Duration.ofSeconds(60)));
    }

    String logs() {
      StringBuilder b = new StringBuilder();
      for (Harness.Server s : servers) {
        b.append("--- ").append(s.command.get(0)).append('\n').append(s.logs()).append('\n');
      }
      return b.toString();
    }

    void close() {
      for (FilesGateway c : shared.values()) {
        c.close();
      }
      for (Harness.Server s : servers) {
        s.close();
      }
    }
  }

  @BeforeClass
  public static void startServers() throws IOException {
    env = new Env(load());
  }

  @AfterClass
  public static void stopServers() {
    if (env != null) {
      env.close();
    }
  }

  // --- running a case ------------------------------------------------------------------------

  private final Map<String, Object> vars = new HashMap<>();
  private final Map<String, byte[]> contents = new HashMap<>();
  private Path tmp;

  @Test
  public void run() throws Exception {
    vars.put("run", env.run);
    tmp = Files.createTempDirectory("scenario-");
    try {
      List<Object> steps = list(testCase.get("steps"));
      for (int n = 0; n < steps.size(); n++) {
        Map<String, Object> step = map(steps.get(n));
        String where = "step " + n + " (" + step.get("op") + ")";
        Map<String, Object> expect = map(sub(step.getOrDefault("expect", Map.of()), null));
        Object result;
        try {
          result = op(step, expect);
        } catch (SdkException e) {
          if (!expect.containsKey("error")) {
            throw new AssertionError(where + " failed: " + e + "\n" + logs(), e);
          }
          checkError(where, e, map(expect.get("error")));
          continue;
        }
        if (expect.containsKey("error")) {
          fail(where + ": expected " + expect.get("error") + ", got " + result);
        }
        check(where, result, expect);
        for (Map.Entry<String, Object> save : map(step.getOrDefault("save", Map.of()))
            .entrySet()) {
          vars.put(save.getKey(), toMap(result).get((String) save.getValue()));
        }
      }
    } finally {
      deleteTree(tmp);
      for (FilesGateway c : ownClients.values()) {
        c.close();
      }
      for (Harness.Server server : ownServers) {
        server.close();
      }
    }
  }

  private Object op(Map<String, Object> step, Map<String, Object> expect) throws Exception {
    switch ((String) step.get("op")) {
      case "call":
        return opCall(step);
      case "create_many":
        return opCreateMany(step);
      case "list":
        return opList(step);
      case "upload_file":
        return opUploadFile(step);
      case "download_file":
        return opDownloadFile(step);
      case "open_write":
        return opOpenWrite(step);
      case "open_read":
        return opOpenRead(step);
      case "list_for":
        return opListFor(step);
      case "download_cancel":
        return opDownloadCancel(step, expect);
      case "resumable_upload":
        return opResumableUpload(step);
      case "resumable_cancel":
        return opResumableCancel(step);
      case "inject_fault":
        return Harness.emulatorControl(env.baseUrl, env.key, "faults", sub(step.get("rule"), null));
      default:
        throw new IllegalStateException("unknown op " + step.get("op"));
    }
  }

  /** What an op produced, for the checks: a model and/or facts (bytes, text, counts). */
  private static final class Outcome {
    Model model;
    final Map<String, Object> facts = new HashMap<>();

    Outcome(Model model) {
      this.model = model;
    }
  }

  private final Map<String, FilesGateway> ownClients = new HashMap<>();
  private final List<Harness.Server> ownServers = new ArrayList<>();

  private FilesGateway client(Map<String, Object> step) throws IOException {
    String name = (String) step.getOrDefault("gateway", "default");
    FilesGateway c = env.shared.get(name);
    if (c == null) {
      c = ownClients.get(name);
    }
    if (c == null) {
      Harness.Server server = env.startGateway(map(env.gateways.get(name)));
      ownServers.add(server);
      c = Env.connect(Harness.target(server));
      ownClients.put(name, c);
    }
    return c;
  }

  private String logs() {
    StringBuilder b = new StringBuilder(env.logs());
    for (Harness.Server s : ownServers) {
      b.append("--- ").append(s.command.get(0)).append(" (this case)\n").append(s.logs())
          .append('\n');
    }
    return b.toString();
  }

  private Object[] arguments(Map<String, Object> step, Object params, RequestOptions options) {
    List<Object> args = new ArrayList<>(list(sub(step.getOrDefault("args", List.of()), null)));
    if (params != null) {
      args.add(params);
    }
    if (options != null) {
      args.add(options);
    }
    return args.toArray();
  }

  private Object opCall(Map<String, Object> step) throws IOException {
    RequestOptions options = null;
    if (step.containsKey("timeout")) {
      double seconds = ((Number) step.get("timeout")).doubleValue();
      options = RequestOptions.timeout(Duration.ofMillis((long) (seconds * 1000)));
    }
    if (step.containsKey("options")) {
      options = options == null ? new RequestOptions() : options;
      for (Map.Entry<String, Object> o : map(sub(step.get("options"), null)).entrySet()) {
        switch (o.getKey()) {
          case "workspace_id":
            options.withWorkspaceId(((Number) o.getValue()).longValue());
            break;
          case "language":
            options.withLanguage((String) o.getValue());
            break;
          default:
            throw new IllegalStateException("unknown call option " + o.getKey());
        }
      }
    }
    Object params = sub(step.get("params"), null);
    Object result = client(step).resource((String) step.get("resource"))
        .call((String) step.get("action"), arguments(step, params, options));
    return result;
  }

  private Object opCreateMany(Map<String, Object> step) throws Exception {
    Resource resource = client(step).resource((String) step.get("resource"));
    String action = (String) step.getOrDefault("action", "create");
    int count = ((Number) step.get("count")).intValue();
    int parallel = ((Number) step.getOrDefault("parallel", 1L)).intValue();
    ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, parallel));
    try {
      List<Future<Object>> futures = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        Object params = sub(step.get("params"), Map.of("i", (long) i));
        futures.add(pool.submit(() -> resource.call(action, params)));
      }
      List<Object> out = new ArrayList<>();
      for (Future<Object> f : futures) {
        try {
          out.add(f.get());
        } catch (java.util.concurrent.ExecutionException e) {
          if (e.getCause() instanceof SdkException) {
            throw (SdkException) e.getCause();
          }
          throw e;
        }
      }
      return out;
    } finally {
      pool.shutdownNow();
    }
  }

  private Outcome opList(Map<String, Object> step) throws IOException {
    Resource resource = client(step).resource((String) step.get("resource"));
    String action = (String) step.getOrDefault("action", "list");
    Object params = sub(step.get("params"), null);
    List<Map<String, Object>> items = new ArrayList<>();
    ListObj auto = resource.call(action, arguments(step, params, null));
    for (Model m : auto) {
      items.add(m.toMap());
    }
    ListObj page = resource.call(action, arguments(step, params, null));
    int first = page.size();
    int pages = 1;
    int manual = page.size();
    while (page.hasNextPage()) {
      page.loadNextPage();
      pages++;
      manual += page.size();
    }
    assertEquals("manual and auto paging disagree", manual, items.size());
    Outcome o = new Outcome(null);
    o.facts.put("items", items);
    o.facts.put("count", (long) items.size());
    o.facts.put("pages", (long) pages);
    o.facts.put("first_page_count", (long) first);
    return o;
  }

  private byte[] content(Object spec) {
    Map<String, Object> m = map(spec);
    byte[] data = new byte[((Number) m.get("random_bytes")).intValue()];
    new Random(new SecureRandom().nextLong()).nextBytes(data);
    contents.put((String) m.get("name"), data);
    return data;
  }

  /** Records progress reports when the step asks for them (progress: true). */
  private static ProgressListener recorder(Map<String, Object> step, List<long[]> reports) {
    if (!Boolean.TRUE.equals(step.get("progress"))) {
      return null;
    }
    return (bytes, total) -> reports.add(new long[] {bytes, total});
  }

  private Object opUploadFile(Map<String, Object> step) throws IOException {
    Path local = Files.createTempFile(tmp, "upload-", ".bin");
    Files.write(local, content(step.get("content")));
    FilesGateway c = client(step);
    List<long[]> reports = new ArrayList<>();
    Outcome o = new Outcome(new Model(c.uploadFile(local, (String) sub(step.get("remote"), null),
        new UploadOptions().mkdirParents(Boolean.TRUE.equals(step.get("mkdir_parents")))
            .progress(recorder(step, reports))), c));
    o.facts.put("progress", reports);
    return o;
  }

  /**
   * Start, a first stream of first_bytes without finishing, a query, then a handle made from
   * the upload id alone resumes from the persisted offset and commits.
   */
  private Object opResumableUpload(Map<String, Object> step) throws IOException {
    FilesGateway c = client(step);
    byte[] data = content(step.get("content"));
    int first = ((Number) step.get("first_bytes")).intValue();
    ResumableUpload up = c.startResumableUpload((String) sub(step.get("remote"), null),
        new UploadOptions().mkdirParents(Boolean.TRUE.equals(step.get("mkdir_parents")))
            .expectedSize((long) data.length));
    long persisted = up.write(new java.io.ByteArrayInputStream(data, 0, first), 0, false)
        .getPersistedSize();
    com.filesgateway.v1.QueryUploadStatusResponse status = up.status();
    assertEquals(persisted, status.getPersistedSize());
    assertTrue(!status.getComplete());
    List<long[]> reports = new ArrayList<>();
    ResumableUpload again = c.resumableUpload(up.uploadId(), new UploadOptions()
        .expectedSize((long) data.length)
        .progress((bytes, total) -> reports.add(new long[] {bytes, total})));
    Path local = Files.createTempFile(tmp, "resumable-", ".bin");
    Files.write(local, data);
    Outcome o = new Outcome(new Model(again.resume(local), c));
    o.facts.put("persisted_size", persisted);
    o.facts.put("progress", reports);
    return o;
  }

  /** Start, send without finishing, cancel, then query (which must fail). */
  private Object opResumableCancel(Map<String, Object> step) throws IOException {
    FilesGateway c = client(step);
    byte[] data = content(step.get("content"));
    ResumableUpload up = c.startResumableUpload((String) sub(step.get("remote"), null),
        new UploadOptions().mkdirParents(true));
    up.write(new java.io.ByteArrayInputStream(data), 0, false);
    up.cancel();
    return up.status();
  }

  private Object opDownloadFile(Map<String, Object> step) throws IOException {
    Path local = tmp.resolve("download-" + UUID.randomUUID());
    FilesGateway c = client(step);
    List<long[]> reports = new ArrayList<>();
    Outcome o = new Outcome(new Model(c.downloadFile((String) sub(step.get("remote"), null),
        local, new DownloadOptions().progress(recorder(step, reports))), c));
    o.facts.put("progress", reports);
    o.facts.put("bytes", Files.readAllBytes(local));
    Files.delete(local);
    return o;
  }

  /** Raised inside a write block to abandon the upload. */
  private static final class Abandon extends Exception {
    private static final long serialVersionUID = 1L;
  }

  private Object opOpenWrite(Map<String, Object> step) throws IOException {
    FilesGateway client = client(step);
    String mode = (String) step.get("mode");
    String remote = (String) sub(step.get("remote"), null);
    UploadOptions options = new UploadOptions()
        .mkdirParents(Boolean.TRUE.equals(step.get("mkdir_parents")));
    List<byte[]> pieces = new ArrayList<>();
    List<String> text = new ArrayList<>();
    if (mode.equals("w")) {
      for (Object t : list(sub(step.get("text"), null))) {
        text.add((String) t);
      }
    } else {
      byte[] data = content(step.get("content"));
      List<Object> sizes = list(step.get("write_sizes"));
      int pos = 0;
      for (int i = 0; pos < data.length; i++) {
        int n = ((Number) sizes.get(i % sizes.size())).intValue();
        pieces.add(Arrays.copyOfRange(data, pos, Math.min(data.length, pos + n)));
        pos += n;
      }
    }
    FilesGateway.WriteBlock<Abandon> block = out -> {
      try {
        if (mode.equals("w")) {
          Writer w = new OutputStreamWriter(out, StandardCharsets.UTF_8);
          for (String t : text) {
            w.write(t);
          }
          w.flush();
        } else {
          for (byte[] p : pieces) {
            out.write(p);
          }
        }
      } catch (IOException e) {
        throw new AssertionError(e);
      }
      if (Boolean.TRUE.equals(step.get("abort"))) {
        throw new Abandon();
      }
    };
    // try-with-resources as an application writes it: only commit() writes the file, an
    // exception out of the block aborts (the issue-16 data-integrity case).
    if (Boolean.TRUE.equals(step.get("abort"))) {
      try (RemoteOutputStream out = client.open(remote, mode.equals("w") ? "w" : "wb",
                                                 options)) {
        block.write(out);
        out.commit();
        fail("the write block should have thrown");
      } catch (Abandon expected) {
        // nothing may be committed: the next steps check; close() said so, suppressed
        assertEquals(1, expected.getSuppressed().length);
      }
      return null;
    }
    try (RemoteOutputStream out = client.open(remote, mode.equals("w") ? "w" : "wb", options)) {
      block.write(out);
      return new Model(out.commit(), client);
    } catch (Abandon e) {
      throw new AssertionError(e);
    }
  }

  private Object opOpenRead(Map<String, Object> step) throws IOException {
    String mode = (String) step.get("mode");
    byte[] data;
    try (RemoteInputStream in = client(step).open((String) sub(step.get("remote"), null),
                                                  mode)) {
      data = in.readAllBytes();
    }
    Outcome o = new Outcome(null);
    if (mode.equals("r")) {
      o.facts.put("text", new String(data, StandardCharsets.UTF_8));
    } else {
      o.facts.put("bytes", data);
    }
    return o;
  }

  private Object opListFor(Map<String, Object> step) throws IOException {
    List<String> names = new ArrayList<>();
    for (com.filesgateway.v1.File entry : client(step).listFor(
        (String) sub(step.get("path"), null))) {
      names.add(entry.getDisplayName());
    }
    Outcome o = new Outcome(null);
    o.facts.put("names", names);
    return o;
  }

  private Object opDownloadCancel(Map<String, Object> step, Map<String, Object> expect)
      throws IOException {
    int readBytes = ((Number) step.get("read_bytes")).intValue();
    long max = expect.containsKey("max_bytes_received")
        ? ((Number) expect.get("max_bytes_received")).longValue() : Long.MAX_VALUE;
    RemoteInputStream in = client(step).openRead((String) sub(step.get("remote"), null));
    try {
      assertEquals(readBytes, in.readNBytes(readBytes).length);
      in.cancel();
      in.readAllBytes();  // expected to throw CancelledException
    } finally {
      // Checked here because the read above is expected to throw.
      assertTrue("received " + in.bytesReceived() + " bytes, limit " + max,
                 in.bytesReceived() < max);
      in.close();
    }
    Outcome o = new Outcome(null);
    o.facts.put("bytes_received", in.bytesReceived());
    return o;
  }

  // --- checks --------------------------------------------------------------------------------

  private static Map<String, Object> toMap(Object result) {
    if (result instanceof Model) {
      return ((Model) result).toMap();
    }
    if (result instanceof Outcome && ((Outcome) result).model != null) {
      return ((Outcome) result).model.toMap();
    }
    throw new AssertionError("not a model: " + result);
  }

  private static Object fact(Object result, String key) {
    if (!(result instanceof Outcome) || !((Outcome) result).facts.containsKey(key)) {
      throw new AssertionError("the op gives no " + key + ": " + result);
    }
    return ((Outcome) result).facts.get(key);
  }

  @SuppressWarnings("unchecked")
  private void check(String where, Object result, Map<String, Object> expect) {
    if (Boolean.TRUE.equals(expect.get("none"))) {
      assertNull(where, result);
    }
    if (expect.containsKey("fields")) {
      Map<String, Object> got = toMap(result);
      for (Map.Entry<String, Object> e : map(expect.get("fields")).entrySet()) {
        assertTrue(where + ": field " + e.getKey() + " is " + got.get(e.getKey()) + ", want "
                   + e.getValue() + " in " + got, same(got.get(e.getKey()), e.getValue()));
      }
    }
    if (expect.containsKey("same_as")) {
      byte[] want = contents.get((String) expect.get("same_as"));
      byte[] got = (byte[]) fact(result, "bytes");
      assertEquals(where + ": length", want.length, got.length);
      assertEquals(where + ": content differs", sha256(want), sha256(got));
    }
    if (expect.containsKey("text")) {
      assertEquals(where, expect.get("text"), fact(result, "text"));
    }
    if (expect.containsKey("names")) {
      List<String> got = new ArrayList<>((List<String>) fact(result, "names"));
      List<String> want = new ArrayList<>();
      for (Object o : list(expect.get("names"))) {
        want.add((String) o);
      }
      got.sort(null);
      want.sort(null);
      assertEquals(where, want, got);
    }
    for (String key : new String[] {"count", "pages", "first_page_count"}) {
      if (expect.containsKey(key)) {
        assertEquals(where + ": " + key, ((Number) expect.get(key)).longValue(),
                     ((Number) fact(result, key)).longValue());
      }
    }
    if (expect.containsKey("sorted_by")) {
      List<byte[]> values = new ArrayList<>();
      for (Map<String, Object> item : (List<Map<String, Object>>) fact(result, "items")) {
        values.add(String.valueOf(item.get((String) expect.get("sorted_by")))
                       .getBytes(StandardCharsets.UTF_8));
      }
      for (int i = 1; i < values.size(); i++) {
        assertTrue(where + ": not sorted at " + i,
                   Arrays.compareUnsigned(values.get(i - 1), values.get(i)) <= 0);
      }
    }
    if (expect.containsKey("unique")) {
      List<Object> values = new ArrayList<>();
      for (Map<String, Object> item : (List<Map<String, Object>>) fact(result, "items")) {
        values.add(item.get((String) expect.get("unique")));
      }
      assertEquals(where + ": repeated items", values.size(), new HashSet<>(values).size());
    }
    if (expect.containsKey("persisted_size")) {
      assertEquals(where + ": persisted_size",
                   ((Number) expect.get("persisted_size")).longValue(),
                   ((Number) fact(result, "persisted_size")).longValue());
    }
    if (expect.containsKey("progress_final") || expect.containsKey("progress_calls_min")) {
      List<long[]> reports = (List<long[]>) fact(result, "progress");
      if (expect.containsKey("progress_calls_min")) {
        assertTrue(where + ": " + reports.size() + " progress reports",
                   reports.size() >= ((Number) expect.get("progress_calls_min")).intValue());
      }
      for (int i = 1; i < reports.size(); i++) {
        assertTrue(where + ": progress went back", reports.get(i)[0] >= reports.get(i - 1)[0]);
      }
      if (expect.containsKey("progress_final")) {
        long want = ((Number) expect.get("progress_final")).longValue();
        assertTrue(where + ": no progress report", !reports.isEmpty());
        long[] last = reports.get(reports.size() - 1);
        assertEquals(where + ": last progress", want, last[0]);
        if (last[1] >= 0) {
          assertEquals(where + ": progress total", want, last[1]);
        }
      }
    }
    if (expect.containsKey("max_bytes_received")) {
      assertTrue(where, ((Number) fact(result, "bytes_received")).longValue()
                 < ((Number) expect.get("max_bytes_received")).longValue());
    }
  }

  private void checkError(String where, SdkException e, Map<String, Object> want) {
    String at = where + ": " + e;
    if (want.containsKey("class")) {
      Class<? extends SdkException> c = ApiErrorException.classForName((String) want.get("class"));
      assertNotNull(at + ": no Java class for " + want.get("class"), c);
      assertEquals(at, c, e.getClass());
    }
    for (Object name : list(want.getOrDefault("is_a", List.of()))) {
      Class<? extends SdkException> c = ApiErrorException.classForName((String) name);
      assertNotNull(at + ": no Java class for " + name, c);
      assertTrue(at + " is not a " + name + " (" + c.getName() + ")", c.isInstance(e));
    }
    if (want.containsKey("type")) {
      assertEquals(at, want.get("type"), e.getType());
    }
    if (want.containsKey("type_prefix")) {
      assertTrue(at, e.getType() != null && e.getType().startsWith((String) want.get(
          "type_prefix")));
    }
    if (want.containsKey("grpc_code")) {
      assertEquals(at, want.get("grpc_code"), e.getCode() == null ? null : e.getCode().name());
    }
    if (want.containsKey("http_status")) {
      assertTrue(at + ": http status " + e.getHttpStatus(),
                 same(e.getHttpStatus(), want.get("http_status")));
    }
    if (want.containsKey("title")) {
      assertEquals(at, want.get("title"), e.getTitle());
    }
    if (want.containsKey("message_contains")) {
      String m = e.getMessage() == null ? "" : e.getMessage().toLowerCase(Locale.ROOT);
      assertTrue(at + ": message lacks " + want.get("message_contains"),
                 m.contains(((String) want.get("message_contains")).toLowerCase(Locale.ROOT)));
    }
    if (want.containsKey("retry_delay_min")) {
      assertNotNull(at + ": no retry delay", e.getRetryDelay());
      double min = ((Number) want.get("retry_delay_min")).doubleValue();
      assertTrue(at + ": retry delay " + e.getRetryDelay(),
                 e.getRetryDelay().toNanos() / 1e9 >= min);
    }
  }

  /** Equality across Java number types (an id saved as Long, a field read as Integer). */
  private static boolean same(Object got, Object want) {
    if (got instanceof Number && want instanceof Number) {
      Number g = (Number) got;
      Number w = (Number) want;
      return g.doubleValue() == w.doubleValue() && g.longValue() == w.longValue();
    }
    return got == null ? want == null : got.equals(want);
  }

  private static String sha256(byte[] data) {
    try {
      StringBuilder b = new StringBuilder();
      for (byte x : MessageDigest.getInstance("SHA-256").digest(data)) {
        b.append(String.format("%02x", x));
      }
      return b.toString();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  // --- values --------------------------------------------------------------------------------

  /**
   * Templates: ${run}, ${i} (create_many) and values saved by earlier steps; a string that
   * is exactly one ${NAME} keeps the saved value's type.
   */
  private Object sub(Object value, Map<String, Object> extra) {
    if (value instanceof String) {
      Map<String, Object> scope = new HashMap<>(vars);
      if (extra != null) {
        scope.putAll(extra);
      }
      String s = (String) value;
      Matcher whole = VAR.matcher(s);
      if (whole.matches()) {
        return lookup(scope, whole.group(1));
      }
      Matcher m = VAR.matcher(s);
      StringBuilder b = new StringBuilder();
      while (m.find()) {
        m.appendReplacement(b, Matcher.quoteReplacement(String.valueOf(lookup(scope,
                                                                              m.group(1)))));
      }
      m.appendTail(b);
      return b.toString();
    }
    if (value instanceof List) {
      List<Object> out = new ArrayList<>();
      for (Object v : (List<?>) value) {
        out.add(sub(v, extra));
      }
      return out;
    }
    if (value instanceof Map) {
      Map<String, Object> out = new LinkedHashMap<>();
      for (Map.Entry<?, ?> e : ((Map<?, ?>) value).entrySet()) {
        out.put((String) e.getKey(), sub(e.getValue(), extra));
      }
      return out;
    }
    return value;
  }

  private static Object lookup(Map<String, Object> scope, String name) {
    if (!scope.containsKey(name)) {
      throw new AssertionError("${" + name + "} is not defined at this step");
    }
    return scope.get(name);
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> map(Object o) {
    return o == null ? Map.of() : (Map<String, Object>) o;
  }

  @SuppressWarnings("unchecked")
  static List<Object> list(Object o) {
    return o == null ? List.of() : (List<Object>) o;
  }

  private static void deleteTree(Path dir) throws IOException {
    if (dir == null || !Files.exists(dir)) {
      return;
    }
    try (var paths = Files.walk(dir)) {
      for (Path p : paths.sorted((a, b) -> b.compareTo(a)).toArray(Path[]::new)) {
        Files.deleteIfExists(p);
      }
    }
  }
}
