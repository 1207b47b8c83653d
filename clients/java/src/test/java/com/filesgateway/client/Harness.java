package com.filesgateway.client;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * Starts files-emulator and files-gateway from a build tree for the tests, and reaches the
 * emulator's control endpoint. The servers listen on port 0 and say where in a JSON line
 * on stdout; the rest of their output is drained in the background (a full pipe would
 * stall them) and the tail kept for failure reports.
 */
public final class Harness {
  static final Duration READY_TIMEOUT = Duration.ofSeconds(30);
  private static final HttpClient HTTP = HttpClient.newBuilder()
      .connectTimeout(Duration.ofSeconds(10)).build();

  private Harness() {}

  /** The build tree (-Dfilesgw.bin), checked to hold both servers. */
  public static Path buildDir() {
    String bin = System.getProperty("filesgw.bin", "");
    if (bin.isEmpty()) {
      throw new IllegalStateException("set -Dfilesgw.bin to the CMake build folder");
    }
    Path dir = Path.of(bin);
    for (String exe : new String[] {"emulator/files-emulator", "server/files-gateway"}) {
      if (!Files.isExecutable(dir.resolve(exe))) {
        throw new IllegalStateException(dir.resolve(exe) + " is missing: build it first");
      }
    }
    return dir;
  }

  /** One child process with a JSON ready line. */
  public static final class Server implements AutoCloseable {
    final List<String> command;
    public final Map<String, Object> ready;
    private final Process process;
    private final Deque<String> tail = new ArrayDeque<>();
    private final Thread drain;

    Server(List<String> command, Map<String, String> env, Predicate<Map<String, Object>> isReady)
        throws IOException {
      this.command = command;
      ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
      pb.environment().putAll(env);
      process = pb.start();
      BufferedReader out = new BufferedReader(
          new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
      Map<String, Object> found = null;
      // A silent or stuck server ends the wait through this watchdog (readLine blocks).
      Thread watchdog = new Thread(() -> {
        try {
          if (!process.waitFor(READY_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
            synchronized (this) {
              if (!readyFlag) {
                process.destroyForcibly();
              }
            }
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }, "ready-watchdog");
      watchdog.setDaemon(true);
      watchdog.start();
      String line;
      while ((line = out.readLine()) != null) {
        remember(line);
        if (!line.startsWith("{")) {
          continue;
        }
        Map<String, Object> doc;
        try {
          doc = Json.parseObject(line);
        } catch (IllegalArgumentException e) {
          continue;
        }
        if (isReady.test(doc)) {
          found = doc;
          break;
        }
      }
      synchronized (this) {
        readyFlag = found != null;
      }
      watchdog.interrupt();
      if (found == null) {
        close();
        throw new IOException(String.join(" ", command) + " did not become ready:\n" + logs());
      }
      ready = found;
      drain = new Thread(() -> {
        try {
          String l;
          while ((l = out.readLine()) != null) {
            remember(l);
          }
        } catch (IOException e) {
          // the process is gone
        }
      }, "drain-" + Path.of(command.get(0)).getFileName());
      drain.setDaemon(true);
      drain.start();
    }

    private boolean readyFlag;

    private void remember(String line) {
      synchronized (tail) {
        tail.addLast(line);
        if (tail.size() > 200) {
          tail.removeFirst();
        }
      }
    }

    /** The last lines of output. */
    String logs() {
      synchronized (tail) {
        List<String> lines = new ArrayList<>(tail);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
      }
    }

    @Override
    public void close() {
      if (process.isAlive()) {
        process.destroy();
        try {
          if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
          }
        } catch (InterruptedException e) {
          process.destroyForcibly();
          Thread.currentThread().interrupt();
        }
      }
    }
  }

  public static Server startEmulator(Path build, String apiKey) throws IOException {
    return new Server(List.of(build.resolve("emulator/files-emulator").toString(), "--listen",
                              "127.0.0.1:0", "--api-key", apiKey),
                      Map.of(), d -> d.containsKey("base_url"));
  }

  /** A gateway in front of baseUrl holding apiKey, with retries off. */
  public static Server startGateway(Path build, String baseUrl, String apiKey) throws IOException {
    return new Server(List.of(build.resolve("server/files-gateway").toString(), "--listen",
                              "127.0.0.1:0", "--base-url", baseUrl, "--max-retries", "0"),
                      Map.of("FILES_API_KEY", apiKey), d -> "listening".equals(d.get("msg")));
  }

  public static String target(Server gateway) {
    return "127.0.0.1:" + gateway.ready.get("port");
  }

  /** A loopback address where nothing listens (the port was free a moment ago). */
  static String unusedLoopbackTarget() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return "127.0.0.1:" + s.getLocalPort();
    }
  }

  /**
   * Calls /__emulator/WHAT (faults, reset, ...) with the emulator's API key (control endpoints
   * need it) and returns the decoded answer.
   */
  static Object emulatorControl(String baseUrl, String apiKey, String what, Object body)
      throws IOException, InterruptedException {
    HttpRequest.Builder req = HttpRequest.newBuilder(URI.create(baseUrl + "/__emulator/" + what))
        .timeout(Duration.ofSeconds(10)).header("Content-Type", "application/json")
        .header("X-FilesAPI-Key", apiKey);
    if (body != null) {
      req.POST(HttpRequest.BodyPublishers.ofString(Json.write(body)));
    }
    HttpResponse<String> resp = HTTP.send(req.build(), HttpResponse.BodyHandlers.ofString());
    if (resp.statusCode() / 100 != 2) {
      throw new IOException("emulator " + what + ": HTTP " + resp.statusCode() + " "
          + resp.body());
    }
    return resp.body().isEmpty() ? null : Json.parse(resp.body());
  }
}
