package com.filesgateway.client;

import java.time.Duration;

/**
 * The client's start cost (the "Client start cost" line of bench/RESULTS.md): CPU this JVM
 * spent from its start through loading the client, connecting and the first typed call
 * (client.users().find(1L)), then the same for a second call. Run it twice: with a target
 * (the cost) and with "--baseline" (an empty JVM: what any Java program pays).
 *
 *   java -cp TESTS_JAR:CLIENT_JAR:CLASSPATH com.filesgateway.client.StartCost 127.0.0.1:50051
 */
public final class StartCost {
  private StartCost() {}

  private static long cpuMillis() {
    return ProcessHandle.current().info().totalCpuDuration().orElse(Duration.ZERO).toMillis();
  }

  public static void main(String[] args) {
    if (args.length == 1 && args[0].equals("--baseline")) {
      System.out.println("baseline_cpu_ms=" + cpuMillis());
      return;
    }
    long wall = System.nanoTime();
    try (FilesGateway client = FilesGateway.connect(args[0])) {
      String name = client.users().find(1L).getUsername();
      long first = cpuMillis();
      long firstWall = (System.nanoTime() - wall) / 1_000_000;
      client.users().find(1L);
      long second = cpuMillis();
      System.out.println("user=" + name + " first_call_cpu_ms=" + first + " first_call_wall_ms="
          + firstWall + " second_call_cpu_ms=" + (second - first));
    }
  }
}
