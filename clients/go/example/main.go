// Command example is the Go client's README example: users with auto paging,
// create / find / update / delete, typed errors, and a file written,
// uploaded, downloaded and read back through files-gateway.
//
//	example -target 127.0.0.1:50051
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"time"

	"filesgateway/clients/go/files"
)

func main() {
	target := flag.String("target", files.DefaultTarget, "files-gateway address")
	flag.Parse()
	if err := run(*target); err != nil {
		log.Fatal(err)
	}
}

func run(target string) error {
	client, err := files.Connect(target, files.WithTimeout(30*time.Second))
	if err != nil {
		return err
	}
	defer client.Close()
	ctx := context.Background()
	users := client.Resource("users")
	suffix := time.Now().Format("150405.000000")

	// Create, find, update, delete: params in the SDK's shape.
	user, err := users.Create(ctx, files.Params{"username": "example-" + suffix, "name": "Example"})
	if err != nil {
		return err
	}
	id := user.GetInt("id")
	if user, err = users.Update(ctx, id, files.Params{"name": "Example Updated"}); err != nil {
		return err
	}
	fmt.Println("updated:", user.GetString("username"), user.GetString("name"))

	// Auto paging: Next loads the next page when one is done.
	it, err := users.List(ctx, files.Params{
		"sort_by":       files.Params{"username": "asc"},
		"filter_prefix": files.Params{"username": "example-"},
		"per_page":      100,
	})
	if err != nil {
		return err
	}
	for it.Next() {
		fmt.Println("user:", it.Current().GetInt("id"), it.Current().GetString("username"))
	}
	if err := it.Err(); err != nil {
		return err
	}

	if err := users.Delete(ctx, id); err != nil {
		return err
	}
	// Typed errors: the SDK's classes, found with errors.As.
	_, err = users.Find(ctx, id)
	var notFound *files.NotFoundError
	if !errors.As(err, &notFound) {
		return fmt.Errorf("expected a NotFoundError, got %v", err)
	}
	fmt.Println("after delete:", notFound.ClassName(), notFound.Type)

	// Files: a streaming writer, then upload_file / download_file.
	remote := "example-" + suffix + "/hello.txt"
	w, err := client.Open(ctx, remote, "w", files.MkdirParents())
	if err != nil {
		return err
	}
	defer w.Abort() // commits nothing unless Close is reached and succeeds
	if _, err := io.WriteString(w, "hello from Go\n"); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	r, err := client.Open(ctx, remote, "r")
	if err != nil {
		return err
	}
	text, err := io.ReadAll(r)
	r.Close()
	if err != nil {
		return err
	}
	fmt.Printf("read back: %q\n", text)

	dir, err := os.MkdirTemp("", "files-go-example-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	local := filepath.Join(dir, "data.bin")
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	if err := os.WriteFile(local, data, 0o600); err != nil {
		return err
	}
	file, err := client.UploadFile(ctx, local, "example-"+suffix+"/data.bin", true)
	if err != nil {
		return err
	}
	fmt.Println("uploaded:", file.GetString("path"), file.GetInt("size"), "bytes")
	if _, err := client.DownloadFile(ctx, "example-"+suffix+"/data.bin", local+".copy"); err != nil {
		return err
	}
	back, err := os.ReadFile(local + ".copy")
	if err != nil {
		return err
	}
	fmt.Println("downloaded the same bytes:", bytes.Equal(back, data))

	entries, err := client.ListFor(ctx, "example-"+suffix)
	if err != nil {
		return err
	}
	for entries.Next() {
		fmt.Println("entry:", entries.Current().GetString("display_name"), entries.Current().GetString("type"))
	}
	return entries.Err()
}
