// Command example shows the Go client of files-gateway: typed users with
// paging, create / update / delete and typed errors, and files written,
// read, uploaded (with progress), downloaded and listed. It is the README's
// example (readme_test.go checks that they stay the same).
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
	"github.com/files-gateway/files-gateway/clients/go/filesv1"

	"google.golang.org/protobuf/proto"
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
	users := client.Users() // typed: requests and models are the generated filesv1 messages
	name := fmt.Sprintf("example-%d", time.Now().UnixNano())

	user, err := users.Create(ctx, &filesv1.CreateUserRequest{
		Username: proto.String(name), Email: proto.String(name + "@example.com")})
	if err != nil {
		return err
	}
	if user, err = users.Update(ctx, user.GetId(), &filesv1.UpdateUserRequest{Name: proto.String("Example User")}); err != nil {
		return err
	}
	fmt.Println("updated:", user.GetUsername(), user.GetName())

	// Auto paging: Next loads the next page when one is done (or page by hand:
	// it.Page(), it.HasNextPage(), it.LoadNextPage()).
	it, err := users.List(ctx, &filesv1.ListUsersRequest{
		SortBy:       map[string]string{"username": "asc"},
		FilterPrefix: map[string]string{"username": "example-"},
		PerPage:      proto.Int64(1000),
	})
	if err != nil {
		return err
	}
	for it.Next() {
		fmt.Println("user:", it.Current().GetId(), it.Current().GetUsername())
	}
	if err := it.Err(); err != nil {
		return err
	}

	// Typed errors: sentinels for errors.Is, helpers, and the SDK's classes
	// (UserNotFoundError -> NotFoundError -> APIError -> Error) for errors.As.
	if err := users.Delete(ctx, user.GetId(), nil); err != nil {
		return err
	}
	_, err = users.Find(ctx, user.GetId())
	var notFound *files.NotFoundError
	if !files.IsNotFound(err) || !errors.Is(err, files.ErrNotFound) || !errors.As(err, &notFound) {
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
	progress := files.OnProgress(func(p files.Progress) { fmt.Printf("sent %d of %d\n", p.Bytes, p.Total) })
	if _, err := client.UploadFile(ctx, local, name+"/copy.txt", false, progress); err != nil {
		return err
	}
	entries, err := client.Folders().ListFor(ctx, name, nil)
	if err != nil {
		return err
	}
	for entries.Next() {
		fmt.Println("entry:", entries.Current().GetDisplayName(), entries.Current().GetSize())
	}
	return entries.Err()
}
