package com.filesgateway.client;

import java.text.Normalizer;
import java.util.Map;
import java.util.Set;

/**
 * Files.com's path rules, as the SDKs' path utilities (and client_core/path_util.cc).
 *
 * <p>{@link #normalize} gives the form the API expects: no NUL, "/" separators, no empty,
 * "." or ".." segments (".." is dropped, not resolved). {@link #normalizeForComparison} and
 * {@link #isSame} decide whether two paths name the same file on Files.com: NFKC, Latin
 * letters with diacritics folded to ASCII, lower case, trailing whitespace dropped.
 *
 * <pre>
 * PathUtil.normalize("/../../remote\\path//./to/file.txt");  // "remote/path/to/file.txt"
 * PathUtil.isSame("FÎŁĘÑÂMÉ.TXT", "filename.txt");            // true
 * </pre>
 */
public final class PathUtil {
  // Letters NFD cannot take apart but that Files.com compares as ASCII. Þ, Ŋ and Ŧ are
  // deliberately absent: the reference keeps them (lower-cased).
  private static final Map<Integer, String> SPECIAL_LATIN = Map.ofEntries(
      Map.entry((int) 'Æ', "AE"), Map.entry((int) 'æ', "ae"), Map.entry((int) 'Œ', "OE"),
      Map.entry((int) 'œ', "oe"), Map.entry((int) 'Ð', "D"), Map.entry((int) 'ð', "d"),
      Map.entry((int) 'Đ', "D"), Map.entry((int) 'đ', "d"), Map.entry((int) 'Ħ', "H"),
      Map.entry((int) 'ħ', "h"), Map.entry((int) 'Ł', "L"), Map.entry((int) 'ł', "l"),
      Map.entry((int) 'Ŀ', "L"), Map.entry((int) 'ŀ', "l"), Map.entry((int) 'Ø', "O"),
      Map.entry((int) 'ø', "o"), Map.entry((int) 'ß', "ss"), Map.entry((int) 'ı', "i"));

  // Unicode's White_Space property (ICU's u_isUWhiteSpace). Java's Character.isWhitespace
  // also counts U+001C..U+001F, which Files.com keeps, and misses U+0085 and U+00A0.
  private static final Set<Integer> WHITE_SPACE = Set.of(
      0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003,
      0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200A, 0x2028, 0x2029, 0x202F, 0x205F,
      0x3000);

  private PathUtil() {}

  /** The path as the API expects it (case and inner spaces kept). */
  public static String normalize(String path) {
    String p = path.replace("\0", "").replace('\\', '/');
    StringBuilder b = new StringBuilder();
    for (String segment : p.split("/", -1)) {
      if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
        continue;
      }
      if (b.length() > 0) {
        b.append('/');
      }
      b.append(segment);
    }
    return b.toString();
  }

  /** The key under which Files.com considers two paths the same. */
  public static String normalizeForComparison(String path) {
    String composed = Normalizer.normalize(normalize(path), Normalizer.Form.NFKC);
    StringBuilder folded = new StringBuilder(composed.length());
    composed.codePoints().forEach(c -> fold(c, folded));
    StringBuilder lowered = new StringBuilder(folded.length());
    folded.codePoints().forEach(c -> lowered.appendCodePoint(Character.toLowerCase(c)));
    int end = lowered.length();
    while (end > 0) {
      int c = Character.codePointBefore(lowered, end);
      if (!WHITE_SPACE.contains(c)) {
        break;
      }
      end -= Character.charCount(c);
    }
    return lowered.substring(0, end);
  }

  private static void fold(int c, StringBuilder out) {
    String special = SPECIAL_LATIN.get(c);
    if (special != null) {
      out.append(special);
      return;
    }
    if (c >= 0x00C0 && c <= 0x024F) {  // Latin-1 Supplement .. Latin Extended-B
      // Keep the base letters, drop the combining marks.
      String decomposed = Normalizer.normalize(new String(Character.toChars(c)),
                                               Normalizer.Form.NFD);
      decomposed.codePoints()
          .filter(p -> Character.getType(p) != Character.NON_SPACING_MARK)
          .forEach(out::appendCodePoint);
      return;
    }
    out.appendCodePoint(c);
  }

  /** True when a and b name the same file on Files.com. */
  public static boolean isSame(String a, String b) {
    return normalizeForComparison(a).equals(normalizeForComparison(b));
  }
}
