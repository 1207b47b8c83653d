package com.filesgateway.client;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.Test;

/**
 * The README's example (clients/java/examples/Example.java) as a user runs it: the java
 * source launcher with the built jar and files-gateway-client.classpath, against
 * files-gateway and files-emulator from the build tree.
 */
public class ExampleTest {
  @Test
  public void theReadmeExampleRuns() throws Exception {
    Path build = Harness.buildDir();
    Path example = Path.of(System.getProperty("filesgw.example", ""));
    Path jarDir = build.resolve("clients/java");
    String classpath = jarDir.resolve("files-gateway-client.jar") + ":"
        + Files.readString(jarDir.resolve("files-gateway-client.classpath")).trim();
    String key = "java-example-" + UUID.randomUUID();
    try (Harness.Server emu = Harness.startEmulator(build, key);
         Harness.Server gw = Harness.startGateway(build, (String) emu.ready.get("base_url"),
                                                  key)) {
      Path java = Path.of(System.getProperty("java.home"), "bin", "java");
      Process p = new ProcessBuilder(java.toString(), "-cp", classpath, example.toString(),
                                     Harness.target(gw))
          .redirectErrorStream(true).start();
      String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException("the example did not finish:\n" + output);
      }
      assertEquals(output, 0, p.exitValue());
      for (String want : List.of("admin", "Demo User demo@example.com",
                                 "UserNotFoundException not-found/user-not-found 404",
                                 "hello from Java", "[copy.txt, hello.txt]")) {
        assertTrue("missing '" + want + "' in:\n" + output, output.contains(want));
      }
    }
  }
}
