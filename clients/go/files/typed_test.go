package files

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	filesv1 "github.com/files-gateway/files-gateway/clients/go/filesv1"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
)

func TestEveryResourceHasATypedAccessorWithEveryAction(t *testing.T) {
	client := reflect.TypeOf(&Client{})
	for _, name := range Resources() {
		var accessor reflect.Method
		found := false
		for i := 0; i < client.NumMethod(); i++ {
			m := client.Method(i)
			if m.Type.NumIn() == 1 && m.Type.NumOut() == 1 && m.Type.Out(0).String() == "*files."+name+"Resource" {
				accessor, found = m, true
			}
		}
		if !found {
			t.Errorf("no Client method gives *%sResource", name)
			continue
		}
		typ := accessor.Type.Out(0)
		for _, action := range (&Client{}).Resource(name).Actions() {
			method := strings.ReplaceAll(strings.Title(strings.ReplaceAll(action, "_", " ")), " ", "")
			if _, ok := typ.MethodByName(method); !ok {
				t.Errorf("%s.%s has no method %s", typ, action, method)
			}
		}
	}
}

func TestTypedCallsSendTheGeneratedRequestAndGiveTheModel(t *testing.T) {
	f := startFake(t)
	f.answer = func(m *Method, req proto.Message) (proto.Message, error) {
		switch r := req.(type) {
		case *filesv1.FindUserRequest:
			return &filesv1.User{Id: r.Id, Username: proto.String("alice")}, nil
		case *filesv1.UpdateUserRequest:
			return &filesv1.User{Id: r.Id, Name: r.Name}, nil
		case *filesv1.ListUsersRequest:
			if r.GetCursor() == "" {
				return &filesv1.ListUsersResponse{Items: []*filesv1.User{{Id: proto.Int64(1)}, {Id: proto.Int64(2)}}, NextCursor: "c2"}, nil
			}
			return &filesv1.ListUsersResponse{Items: []*filesv1.User{{Id: proto.Int64(3)}}}, nil
		}
		return nil, nil
	}
	c := f.client(t)
	ctx := context.Background()

	user, err := c.Users().Find(ctx, 42)
	if err != nil {
		t.Fatal(err)
	}
	if user.GetUsername() != "alice" || user.GetId() != 42 {
		t.Errorf("Find gave %v", user)
	}
	if got := f.lastCall(); got.method != "/files.v1.UserService/FindUser" {
		t.Errorf("Find called %s", got.method)
	}

	// The path argument wins over the same field of the request message.
	user, err = c.Users().Update(ctx, 7, &filesv1.UpdateUserRequest{Id: proto.Int64(99), Name: proto.String("Bob")})
	if err != nil {
		t.Fatal(err)
	}
	if user.GetId() != 7 || user.GetName() != "Bob" {
		t.Errorf("Update gave %v", user)
	}
	if sent := f.lastCall().decode(t).(*filesv1.UpdateUserRequest); sent.GetId() != 7 {
		t.Errorf("Update sent id %d", sent.GetId())
	}

	if err := c.Users().Unlock(ctx, 7); err != nil {
		t.Fatal(err)
	}
	if err := c.Users().Delete(ctx, 7, nil); err != nil {
		t.Fatal(err)
	}

	it, err := c.Users().List(ctx, &filesv1.ListUsersRequest{PerPage: proto.Int64(2)})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for it.Next() {
		var u *filesv1.User = it.Current()
		ids = append(ids, u.GetId())
	}
	if it.Err() != nil || !reflect.DeepEqual(ids, []int64{1, 2, 3}) {
		t.Errorf("List walked %v (%v)", ids, it.Err())
	}
}

func TestCallOptionsBecomeMetadataOfThatCallOnly(t *testing.T) {
	f := startFake(t)
	c := f.client(t)
	ctx := context.Background()
	if _, err := c.Users().Find(ctx, 1, WithWorkspaceID(7), WithLanguage("fr"), WithAPIKey("k1"), WithSessionID("s1")); err != nil {
		t.Fatal(err)
	}
	md := f.lastCall().metadata
	for k, want := range map[string]string{"x-files-workspace-id": "7", "x-files-language": "fr",
		"x-files-api-key": "k1", "x-files-session-id": "s1"} {
		if got := md.Get(k); len(got) != 1 || got[0] != want {
			t.Errorf("%s: %v, want %s", k, got, want)
		}
	}
	// The untyped layer takes them too; the next call carries none.
	if _, err := c.Resource("users").Find(ctx, 1, WithLanguage("de")); err != nil {
		t.Fatal(err)
	}
	if got := f.lastCall().metadata.Get("x-files-language"); len(got) != 1 || got[0] != "de" {
		t.Errorf("untyped: x-files-language %v", got)
	}
	if _, err := c.Users().Find(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if got := f.lastCall().metadata.Get("x-files-workspace-id"); len(got) != 0 {
		t.Errorf("a later call carried x-files-workspace-id %v", got)
	}
}

func TestSentinelsHelpersAndResponseError(t *testing.T) {
	err := FromError(richStatus(t, codes.NotFound, "User not found.",
		filesInfo("not-found/user-not-found", "NotFoundError", 404),
		&filesv1.FilesError{Type: "not-found/user-not-found", Title: "User Not Found", HttpCode: 404,
			Message: "User not found."}))
	if !errors.Is(err, ErrNotFound) || !IsNotFound(err) || !IsAPIError(err) {
		t.Errorf("%v is not ErrNotFound", err)
	}
	if errors.Is(err, ErrNotAuthorized) || IsConnection(err) || IsBadRequest(err) {
		t.Errorf("%v matches another group", err)
	}
	var re *ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("%v is no ResponseError", err)
	}
	if re.Type != "not-found/user-not-found" || re.HttpCode != 404 || re.Title != "User Not Found" ||
		re.ErrorMessage != "User not found." || re.Class != "UserNotFoundError" {
		t.Errorf("ResponseError %+v", re)
	}
	if !errors.Is(re, ErrNotFound) {
		t.Error("a ResponseError unwraps to its error")
	}

	deadline := FromError(context.DeadlineExceeded)
	if !IsDeadlineExceeded(deadline) || !IsConnection(deadline) || !errors.Is(deadline, context.DeadlineExceeded) {
		t.Errorf("%v: not a deadline", deadline)
	}
	if errors.As(deadline, &re) {
		t.Error("a deadline is no ResponseError")
	}
	cancelled := FromError(context.Canceled)
	if !IsCancelled(cancelled) || !errors.Is(cancelled, context.Canceled) {
		t.Errorf("%v: not cancelled", cancelled)
	}
	bad := errorf("InvalidParameterError", "x")
	if !IsInvalidRequest(bad) || !errors.Is(bad, ErrInvalidParameter) || IsAPIError(bad) {
		t.Errorf("%v", bad)
	}
}

func TestTheTypedActionsMatchTheDescriptors(t *testing.T) {
	seen := 0
	for _, d := range typedRPCs {
		m := d.get()
		want, ok := LookupMethod(d.resource, d.action)
		if !ok {
			t.Errorf("%s.%s: no such action in the descriptors", d.resource, d.action)
			continue
		}
		seen++
		if m.FullMethod != want.FullMethod || !reflect.DeepEqual(m.PathParams, want.PathParams) ||
			m.Paginated != want.Paginated || m.HTTPPath != want.HTTPPath || m.HTTPMethod != want.HTTPMethod ||
			m.Input.Descriptor().FullName() != want.Input.Descriptor().FullName() ||
			m.Output.Descriptor().FullName() != want.Output.Descriptor().FullName() {
			t.Errorf("%s.%s: typed %+v, descriptors %+v", d.resource, d.action, m, want)
		}
	}
	total := 0
	for _, r := range Resources() {
		total += len((&Client{}).Resource(r).Actions())
	}
	if seen != total {
		t.Errorf("the typed layer has %d actions, the descriptors %d", seen, total)
	}
}
