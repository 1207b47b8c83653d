// Command example shows the Go client of files-gateway: users with paging,
// create / update / delete, typed errors, and files written, read, uploaded,
// downloaded and listed. It is the README's example (readme_test.go checks
// that they stay the same).
//
//	files-go-example -target 127.0.0.1:50051
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/files-gateway/files-gateway/clients/go/files"
)

func main() {
	target := flag.String("target", files.DefaultTarget, "files-gateway address")
	flag.Parse()
	client, err := files.Connect(*target, files.WithTimeout(30*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	if err := run(context.Background(), client); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, client *files.Client) error {
	users := client.Resource("users") // or "user", "User"; actions come from the protos
	name := fmt.Sprintf("example-%d", time.Now().UnixNano())

	user, err := users.Create(ctx, files.Params{"username": name, "email": name + "@example.com"})
	if err != nil {
		return err
	}
	if user, err = users.Update(ctx, user.GetInt("id"), files.Params{"name": "Example User"}); err != nil {
		return err
	}
	fmt.Println("updated:", user.GetString("username"), user.GetString("name"))

	// Auto paging: Next loads the next page when one is done (or page by hand:
	// it.Page(), it.HasNextPage(), it.LoadNextPage()).
	it, err := users.List(ctx, files.Params{
		"sort_by":       files.Params{"username": "asc"},
		"filter_prefix": files.Params{"username": "example-"},
		"per_page":      1000,
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

	// Typed errors with the SDK's classes: UserNotFoundError -> NotFoundError -> APIError -> Error.
	if _, err := user.Call(ctx, "delete"); err != nil { // per-object actions fill in the id
		return err
	}
	_, err = users.Find(ctx, user.GetInt("id"))
	var notFound *files.NotFoundError
	if !errors.As(err, &notFound) {
		return fmt.Errorf("expected a NotFoundError, got %v", err)
	}
	fmt.Println("after delete:", notFound.ClassName(), notFound.Type)

	// File content streams through files.v1.TransferService.
	w, err := client.Open(ctx, name+"/hello.txt", "w", files.MkdirParents())
	if err != nil {
		return err
	}
	defer w.Abort() // nothing is committed unless Close is reached and succeeds
	if _, err := io.WriteString(w, "hello from Go\n"); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	r, err := client.Open(ctx, name+"/hello.txt", "r")
	if err != nil {
		return err
	}
	defer r.Close()
	text, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	fmt.Printf("read back: %q\n", text)

	local := filepath.Join(os.TempDir(), name+".txt")
	defer os.Remove(local)
	if _, err := client.DownloadFile(ctx, name+"/hello.txt", local); err != nil {
		return err
	}
	if _, err := client.UploadFile(ctx, local, name+"/copy.txt", false); err != nil {
		return err
	}
	entries, err := client.ListFor(ctx, name)
	if err != nil {
		return err
	}
	for entries.Next() {
		fmt.Println("entry:", entries.Current().GetString("display_name"), entries.Current().GetInt("size"))
	}
	return entries.Err()
}
