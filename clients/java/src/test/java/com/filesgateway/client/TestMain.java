package com.filesgateway.client;

import java.util.ArrayList;
import java.util.List;
import org.junit.runner.Description;
import org.junit.runner.JUnitCore;
import org.junit.runner.Request;
import org.junit.runner.Result;
import org.junit.runner.manipulation.Filter;
import org.junit.runner.notification.Failure;
import org.junit.runner.notification.RunListener;

/**
 * Runs JUnit 4 test classes with one line per test (PASS / FAIL / SKIP and the time), the
 * failures in full at the end, and a non-zero exit status on any failure. CTest runs one
 * class per test.
 *
 * <pre>
 * java -cp ... com.filesgateway.client.TestMain com.filesgateway.client.ScenarioTest
 * java -Dfilesgw.filter=user_crud -cp ... com.filesgateway.client.TestMain ...ScenarioTest
 * </pre>
 */
public final class TestMain {
  private TestMain() {}

  public static void main(String[] args) throws ClassNotFoundException {
    if (args.length == 0) {
      System.err.println("usage: TestMain TEST_CLASS...  (-Dfilesgw.filter=SUBSTRING)");
      System.exit(2);
    }
    List<Class<?>> classes = new ArrayList<>();
    for (String name : args) {
      classes.add(Class.forName(name));
    }
    Request request = Request.classes(classes.toArray(new Class<?>[0]));
    String filter = System.getProperty("filesgw.filter", "");
    if (!filter.isEmpty()) {
      request = request.filterWith(new Filter() {
        @Override
        public boolean shouldRun(Description d) {
          if (d.isSuite()) {
            for (Description child : d.getChildren()) {
              if (shouldRun(child)) {
                return true;
              }
            }
            return false;
          }
          return d.getDisplayName().contains(filter);
        }

        @Override
        public String describe() {
          return "tests containing " + filter;
        }
      });
    }
    JUnitCore core = new JUnitCore();
    core.addListener(new Lines());
    Result result = core.run(request);
    for (Failure f : result.getFailures()) {
      System.out.println("\n=== FAIL " + f.getTestHeader());
      System.out.println(f.getTrace());
    }
    System.out.printf("%n%d tests, %d failed, %d skipped (%.1f s)%n", result.getRunCount(),
                      result.getFailureCount(),
                      result.getIgnoreCount() + result.getAssumptionFailureCount(),
                      result.getRunTime() / 1000.0);
    System.out.flush();
    // Exit at once: gRPC and netty leave non-daemon threads behind.
    System.exit(result.wasSuccessful() && result.getRunCount() > 0 ? 0 : 1);
  }

  /** One line per test: PASS, FAIL (with the message) or SKIP, and its time. */
  private static final class Lines extends RunListener {
    private long started;
    private String outcome;
    private String message;

    @Override
    public void testStarted(Description d) {
      started = System.nanoTime();
      outcome = "PASS";
      message = "";
    }

    @Override
    public void testFailure(Failure f) {
      if (f.getDescription().getMethodName() == null) {  // a class-level failure
        System.out.println("FAIL " + f.getDescription().getDisplayName() + ": "
            + firstLine(f.getMessage()));
        return;
      }
      outcome = "FAIL";
      message = ": " + firstLine(f.getMessage());
    }

    @Override
    public void testAssumptionFailure(Failure f) {
      outcome = "SKIP";
      message = ": " + firstLine(f.getMessage());
    }

    @Override
    public void testIgnored(Description d) {
      System.out.println("SKIP " + d.getDisplayName());
    }

    @Override
    public void testFinished(Description d) {
      System.out.printf("%s %s (%.2f s)%s%n", outcome, d.getDisplayName(),
                        (System.nanoTime() - started) / 1e9, message);
      System.out.flush();
    }

    private static String firstLine(String s) {
      if (s == null) {
        return "(no message)";
      }
      int nl = s.indexOf('\n');
      return nl < 0 ? s : s.substring(0, nl) + " ...";
    }
  }
}
