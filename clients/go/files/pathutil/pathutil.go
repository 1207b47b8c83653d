// Package pathutil holds the Files.com path rules, as the SDKs' path_util
// (and the gateway's client_core/path_util.cc).
//
// Normalize gives the form the API expects: no NUL, "/" separators, no
// empty, "." or ".." segments ("..", like ".", is dropped, not resolved).
// NormalizeForComparison and IsSame decide whether two paths name the same
// file on Files.com: NFKC, Latin letters with diacritics transliterated to
// ASCII, lower case, trailing whitespace dropped.
//
//	pathutil.Normalize("/../../remote\\path//./to/file.txt") // "remote/path/to/file.txt"
//	pathutil.IsSame("FÎŁĘÑÂMÉ.TXT", "filename.txt")            // true
package pathutil

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Letters NFD cannot take apart but that Files.com compares as ASCII. Þ, Ŋ
// and Ŧ are deliberately absent: the reference keeps them (lower-cased).
var specialLatin = map[rune]string{
	'Æ': "AE", 'æ': "ae", 'Œ': "OE", 'œ': "oe", 'Ð': "D", 'ð': "d", 'Đ': "D", 'đ': "d",
	'Ħ': "H", 'ħ': "h", 'Ł': "L", 'ł': "l", 'Ŀ': "L", 'ŀ': "l", 'Ø': "O", 'ø': "o",
	'ß': "ss", 'ı': "i",
}

// isWhiteSpace is Unicode's White_Space property (ICU's u_isUWhiteSpace).
func isWhiteSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200A
}

// Normalize gives the path as the API expects it (case and inner spaces kept).
func Normalize(path string) string {
	path = strings.ReplaceAll(path, "\x00", "")
	path = strings.ReplaceAll(path, "\\", "/")
	segments := strings.Split(path, "/")
	kept := segments[:0]
	for _, s := range segments {
		if s != "" && s != "." && s != ".." {
			kept = append(kept, s)
		}
	}
	return strings.Join(kept, "/")
}

func foldRune(b *strings.Builder, r rune) {
	if special, ok := specialLatin[r]; ok {
		b.WriteString(special)
		return
	}
	if r >= 0x00C0 && r <= 0x024F { // Latin-1 Supplement .. Latin Extended-B
		// Keep the base letters, drop the combining marks.
		for _, p := range norm.NFD.String(string(r)) {
			if !unicode.Is(unicode.Mn, p) && norm.NFD.PropertiesString(string(p)).CCC() == 0 {
				b.WriteRune(p)
			}
		}
		return
	}
	b.WriteRune(r)
}

// NormalizeForComparison gives the key under which Files.com considers two paths the same.
func NormalizeForComparison(path string) string {
	composed := norm.NFKC.String(Normalize(path))
	var folded strings.Builder
	for _, r := range composed {
		foldRune(&folded, r)
	}
	var lowered strings.Builder
	for _, r := range folded.String() {
		// Simple case mapping, as ICU's u_tolower: never one letter into two.
		lowered.WriteRune(unicode.ToLower(r))
	}
	return strings.TrimRightFunc(lowered.String(), isWhiteSpace)
}

// IsSame reports whether a and b name the same file on Files.com.
func IsSame(a, b string) bool {
	return NormalizeForComparison(a) == NormalizeForComparison(b)
}
