"""Files.com path rules, as the SDKs' path_util (and client_core/path_util.cc).

normalize() gives the form the API expects: no NUL, "/" separators, no empty,
"." or ".." segments ("..", like ".", is dropped, not resolved).
normalize_for_comparison() / is_same() decide whether two paths name the same
file on Files.com: NFKC, Latin letters with diacritics transliterated to ASCII,
lower case, trailing whitespace dropped.

    >>> normalize("/../../remote\\\\path//./to/file.txt")
    'remote/path/to/file.txt'
    >>> is_same("FÎŁĘÑÂMÉ.TXT", "filename.txt")
    True
"""
import unicodedata

__all__ = ["normalize", "normalize_for_comparison", "is_same"]

# Letters NFD cannot take apart but that Files.com compares as ASCII. Þ, Ŋ and
# Ŧ are deliberately absent: the reference keeps them (lower-cased).
_SPECIAL_LATIN = {
    "Æ": "AE", "æ": "ae", "Œ": "OE", "œ": "oe", "Ð": "D", "ð": "d", "Đ": "D", "đ": "d",
    "Ħ": "H", "ħ": "h", "Ł": "L", "ł": "l", "Ŀ": "L", "ŀ": "l", "Ø": "O", "ø": "o",
    "ß": "ss", "ı": "i",
}

# Unicode's White_Space property (what ICU's u_isUWhiteSpace tests); Python's
# str.isspace() also counts U+001C..U+001F, which Files.com keeps.
_WHITE_SPACE = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000")


def normalize(path):
    """The path as the API expects it (case and inner spaces kept)."""
    path = path.replace("\0", "").replace("\\", "/")
    return "/".join(s for s in path.split("/") if s not in ("", ".", ".."))


def _fold_char(c):
    special = _SPECIAL_LATIN.get(c)
    if special is not None:
        return special
    if 0x00C0 <= ord(c) <= 0x024F:  # Latin-1 Supplement .. Latin Extended-B
        # Keep the base letters, drop the combining marks.
        return "".join(p for p in unicodedata.normalize("NFD", c)
                       if unicodedata.combining(p) == 0 and unicodedata.category(p) != "Mn")
    return c


def _lower_char(c):
    lowered = c.lower()
    # Simple case mapping, as ICU's u_tolower: never one letter into two.
    return lowered if len(lowered) == 1 else c


def normalize_for_comparison(path):
    """The key under which Files.com considers two paths the same."""
    composed = unicodedata.normalize("NFKC", normalize(path))
    folded = "".join(_lower_char(c) for c in "".join(_fold_char(c) for c in composed))
    end = len(folded)
    while end > 0 and folded[end - 1] in _WHITE_SPACE:
        end -= 1
    return folded[:end]


def is_same(a, b):
    """True when a and b name the same file on Files.com."""
    return normalize_for_comparison(a) == normalize_for_comparison(b)
