// Files.com path rules, as the SDKs' path_util (and client_core/path_util.cc).
//
// normalize() gives the form the API expects: no NUL, "/" separators, no empty,
// "." or ".." segments ("..", like ".", is dropped, not resolved).
// normalizeForComparison() / isSame() decide whether two paths name the same
// file on Files.com: NFKC, Latin letters with diacritics transliterated to
// ASCII, lower case, trailing whitespace dropped.
//
//   normalize("/../../remote\\path//./to/file.txt")  // "remote/path/to/file.txt"
//   isSame("FÎŁĘÑÂMÉ.TXT", "filename.txt")            // true

// Letters NFD cannot take apart but that Files.com compares as ASCII. Þ, Ŋ and
// Ŧ are deliberately absent: the reference keeps them (lower-cased).
const SPECIAL_LATIN: Readonly<Record<string, string>> = {
  "Æ": "AE", "æ": "ae", "Œ": "OE", "œ": "oe", "Ð": "D", "ð": "d", "Đ": "D", "đ": "d",
  "Ħ": "H", "ħ": "h", "Ł": "L", "ł": "l", "Ŀ": "L", "ŀ": "l", "Ø": "O", "ø": "o",
  "ß": "ss", "ı": "i",
};

// Unicode's White_Space property (what ICU's u_isUWhiteSpace tests).
const WHITE_SPACE = new Set(
  "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008" +
  "\u2009\u200a\u2028\u2029\u202f\u205f\u3000");

const NONSPACING_MARK = /\p{Mn}/u;

/** The path as the API expects it (case and inner spaces kept). */
export function normalize(path: string): string {
  return path.replace(/\0/g, "").replace(/\\/g, "/").split("/")
    .filter((s) => s !== "" && s !== "." && s !== "..").join("/");
}

function foldChar(c: string): string {
  const special = SPECIAL_LATIN[c];
  if (special !== undefined) return special;
  const cp = c.codePointAt(0)!;
  if (cp >= 0x00c0 && cp <= 0x024f) {
    // Latin-1 Supplement .. Latin Extended-B: keep the base letters, drop the marks.
    let out = "";
    for (const p of c.normalize("NFD")) if (!NONSPACING_MARK.test(p)) out += p;
    return out;
  }
  return c;
}

function lowerChar(c: string): string {
  const lowered = c.toLowerCase();
  // Simple case mapping, as ICU's u_tolower: never one letter into two.
  return [...lowered].length === 1 ? lowered : c;
}

/** The key under which Files.com considers two paths the same. */
export function normalizeForComparison(path: string): string {
  const composed = normalize(path).normalize("NFKC");
  let folded = "";
  for (const c of composed) {
    for (const f of foldChar(c)) folded += lowerChar(f);
  }
  const chars = [...folded];
  let end = chars.length;
  while (end > 0 && WHITE_SPACE.has(chars[end - 1])) end--;
  return chars.slice(0, end).join("");
}

/** True when a and b name the same file on Files.com. */
export function isSame(a: string, b: string): boolean {
  return normalizeForComparison(a) === normalizeForComparison(b);
}
