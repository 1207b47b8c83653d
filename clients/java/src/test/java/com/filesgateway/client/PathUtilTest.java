package com.filesgateway.client;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assume.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.Test;

/**
 * PathUtil against Files.com's conformance vectors
 * (../shared/filescom-api/vectors/normalization_for_comparison_test_data.json, skipped with
 * a message when absent: they are not committed), plus the documented examples.
 */
public class PathUtilTest {
  private static final String VECTORS =
      "filescom-api/vectors/normalization_for_comparison_test_data.json";

  @Test
  public void normalizeDropsEmptyDotAndDotDotSegments() {
    assertEquals("remote/path/to/file.txt", PathUtil.normalize("/../../remote\\path//./to/file.txt"));
    assertEquals("", PathUtil.normalize("/"));
    assertEquals("a b/c", PathUtil.normalize("a b/c/"));
    assertEquals("ab", PathUtil.normalize("a\0b"));
  }

  @Test
  public void isSameFoldsCaseDiacriticsAndTrailingSpace() {
    assertTrue(PathUtil.isSame("FÎŁĘÑÂMÉ.TXT", "filename.txt"));
    assertTrue(PathUtil.isSame("dir/Straße  ", "dir/strasse"));
    assertFalse(PathUtil.isSame("a/b", "a/c"));
    // U+001C..U+001F are no whitespace for Files.com.
    assertFalse(PathUtil.isSame("a\u001f", "a"));
  }

  @Test
  public void conformanceVectors() throws IOException {
    String shared = System.getProperty("filesgw.shared", "");
    Path file = shared.isEmpty() ? null : Path.of(shared).resolve(VECTORS);
    assumeTrue("conformance vectors not found (" + (file == null ? "-Dfilesgw.shared unset"
               : file + " absent") + "); skipped", file != null && Files.isRegularFile(file));
    Object doc = Json.parse(Files.readString(file));
    List<Object> pairs = doc instanceof Map ? findPairs((Map<?, ?>) doc) : ScenarioTest.list(doc);
    assertTrue("too few vectors in " + file, pairs.size() > 40);
    List<String> failures = new ArrayList<>();
    for (Object p : pairs) {
      List<Object> pair = ScenarioTest.list(p);
      String given = (String) pair.get(0);
      String expected = (String) pair.get(1);
      String got = PathUtil.normalizeForComparison(given);
      if (!got.equals(expected) || !PathUtil.isSame(given, expected)) {
        failures.add("'" + given + "' gives '" + got + "', want '" + expected + "'");
      }
    }
    assertTrue(failures.size() + " of " + pairs.size() + " pairs differ:\n"
               + String.join("\n", failures.subList(0, Math.min(20, failures.size()))),
               failures.isEmpty());
    System.out.println("  " + pairs.size() + " vector pairs checked");
  }

  private static List<Object> findPairs(Map<?, ?> doc) {
    for (Object v : doc.values()) {
      if (v instanceof List) {
        return ScenarioTest.list(v);
      }
    }
    return List.of();
  }
}
