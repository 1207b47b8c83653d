package pathutil

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

const vectors = "filescom-api/vectors/normalization_for_comparison_test_data.json"

// The conformance vectors of the Files.com SDKs, from $FILESGW_SHARED_DIR
// (CTest sets it to the build's FILESGW_SHARED_DIR, ../shared by default).
func TestEveryPairOfTheConformanceVectors(t *testing.T) {
	shared := os.Getenv("FILESGW_SHARED_DIR")
	if shared == "" {
		t.Skip("FILESGW_SHARED_DIR is not set: the conformance vectors cannot be checked")
	}
	path := filepath.Join(shared, vectors)
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		t.Skipf("%s is not present: the conformance vectors cannot be checked", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	var pairs [][2]string
	if err := json.Unmarshal(data, &pairs); err != nil {
		t.Fatal(err)
	}
	if len(pairs) < 40 {
		t.Fatalf("only %d pairs in %s", len(pairs), path)
	}
	for _, p := range pairs {
		if got := NormalizeForComparison(p[0]); got != p[1] {
			t.Errorf("NormalizeForComparison(%q) = %q, want %q", p[0], got, p[1])
		}
		if !IsSame(p[0], p[1]) {
			t.Errorf("IsSame(%q, %q) is false", p[0], p[1])
		}
	}
}

func TestNormalizeKeepsCaseAndInnerSpaces(t *testing.T) {
	for in, want := range map[string]string{
		"/My Folder//./Report #1?.txt/":      "My Folder/Report #1?.txt",
		"a\\b\\..\\c":                        "a/b/c",
		"x\x00y":                             "xy",
		"":                                   "",
		"/../../remote\\path//./to/file.txt": "remote/path/to/file.txt",
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestComparisonFoldsWhatFilesComFolds(t *testing.T) {
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{"Straße/ÆON.txt", "strasse/aeon.TXT", true},
		{"a/b ", "A/B", true},
		{" a", "a", false}, // leading whitespace is kept
		{"a/b", "a/c", false},
		{"FÎŁĘÑÂMÉ.TXT", "filename.txt", true},
	} {
		if got := IsSame(c.a, c.b); got != c.same {
			t.Errorf("IsSame(%q, %q) = %v", c.a, c.b, got)
		}
	}
	if got := NormalizeForComparison("İ"); got != "i" {
		t.Errorf("İ folds to %q", got)
	}
}
