package main

import (
	"os"
	"strings"
	"testing"
)

// The README's Go example is this program, word for word (the build copies
// clients/go/README.md beside it).
func TestTheReadmeShowsThisProgram(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Skipf("README.md is not beside the example: %v", err)
	}
	program, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	marker := strings.Index(text, "<!-- example/main.go -->")
	if marker < 0 {
		t.Fatal("the README has no <!-- example/main.go --> marker")
	}
	text = text[marker:]
	start := strings.Index(text, "```go\n")
	if start < 0 {
		t.Fatal("the README has no Go example")
	}
	text = text[start+len("```go\n"):]
	end := strings.Index(text, "```\n")
	if end < 0 {
		t.Fatal("the README's Go example does not end")
	}
	if text[:end] != string(program) {
		t.Error("the README's Go example differs from example/main.go: copy main.go into the README")
	}
}
