package files

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	filesv1 "github.com/files-gateway/files-gateway/clients/go/filesv1"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/structpb"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// pathValue is a value for a path parameter of the field's kind.
func pathValue(fd protoreflect.FieldDescriptor) any {
	if fd.Kind() == protoreflect.StringKind {
		return "folder/file.txt"
	}
	return 7
}

func TestEverySDKMethodIsAnActionThatReachesItsRPC(t *testing.T) {
	f := startFake(t)
	c := f.client(t)
	ctx := ctxT(t)
	total := 0
	for _, name := range Resources() {
		r := c.Resource(name)
		for _, action := range r.Actions() {
			m, _ := r.Method(action)
			var args []any
			for _, p := range m.PathParams {
				args = append(args, pathValue(fieldForKey(m.Input.Descriptor(), p)))
			}
			var err error
			if m.Paginated {
				_, err = r.ListAction(ctx, action, args...)
			} else {
				_, err = r.Call(ctx, action, args...)
			}
			if err != nil {
				t.Fatalf("%s: %v", m, err)
			}
			call := f.lastCall()
			if call.method != m.FullMethod {
				t.Fatalf("%s reached %s, want %s", m, call.method, m.FullMethod)
			}
			req := call.decode(t).ProtoReflect()
			for i, p := range m.PathParams {
				fd := fieldForKey(req.Descriptor(), p)
				got := fmt.Sprint(fieldValue(req, fd, nil))
				if want := fmt.Sprint(args[i]); got != want {
					t.Errorf("%s: path param %s = %s, want %s", m, p, got, want)
				}
			}
			total++
		}
	}
	if total != 419 {
		t.Errorf("%d SDK actions, want the 419 Files.com endpoints", total)
	}
}

func TestEveryResourceHasPluralAndSingularNames(t *testing.T) {
	resources := Resources()
	if len(resources) < 100 {
		t.Fatalf("only %d resources", len(resources))
	}
	for _, name := range resources {
		single := snakeCase(name)
		for _, alias := range []string{name, single, plural(single)} {
			// A name two resources could claim would belong to neither; none does today.
			if got, ok := resourceName(alias); !ok || got != name {
				t.Errorf("%s names %q, want %s", alias, got, name)
			}
		}
	}
	for alias, want := range map[string]string{"users": "User", "user": "User", "api_keys": "ApiKey",
		"as2_partners": "As2Partner", "folders": "Folder", "files": "File", "groups": "Group",
		"history": "History", "inbound_s3_logs": "InboundS3Log"} {
		if got, ok := resourceName(alias); !ok || got != want {
			t.Errorf("resource %q is %q, want %q", alias, got, want)
		}
	}
	c := &Client{}
	bad := c.Resource("no_such_things")
	var ip *InvalidParameterError
	if _, err := bad.Find(context.Background(), 1); !errors.As(err, &ip) || bad.Err() == nil {
		t.Errorf("an unknown resource gave %v", err)
	}
}

func TestActionNamesFollowTheSDK(t *testing.T) {
	c := &Client{}
	got := c.Resource("users").Actions()
	for _, want := range []string{"create", "delete", "find", "list", "unlock", "update"} {
		i := sort.SearchStrings(got, want)
		if i == len(got) || got[i] != want {
			t.Errorf("User actions %v lack %s", got, want)
		}
	}
	m, ok := LookupMethod("File", "begin_upload")
	if !ok || m.HTTPMethod != "POST" || !strings.HasPrefix(m.HTTPPath, "/file_actions/begin_upload/") ||
		len(m.PathParams) != 1 || m.PathParams[0] != "path" || m.Paginated {
		t.Errorf("File.begin_upload is %+v", m)
	}
	if m, _ := LookupMethod("users", "list"); !m.Paginated || m.FullMethod != "/files.v1.UserService/ListUsers" {
		t.Errorf("User.list is %+v", m)
	}
	if m, _ := LookupMethod("Folder", "list_for"); !m.Paginated || m.PathParams[0] != "path" {
		t.Errorf("Folder.list_for is %+v", m)
	}
}

func TestListParamsMapsAndCoercions(t *testing.T) {
	c := &Client{}
	req, err := c.Resource("users").Request("list", Params{
		"sort_by":                   Params{"username": "asc"},
		"filter":                    map[string]string{"site_admin": "true"},
		"filter_prefix":             map[string]any{"username": "page-"},
		"per_page":                  "1000",
		"include_parent_site_users": "true",
		"ids":                       json.Number("3"),
		"search":                    nil,
	})
	if err != nil {
		t.Fatal(err)
	}
	got := req.(*filesv1.ListUsersRequest)
	if got.GetSortBy()["username"] != "asc" || got.GetFilter()["site_admin"] != "true" ||
		got.GetFilterPrefix()["username"] != "page-" || got.GetPerPage() != 1000 ||
		!got.GetIncludeParentSiteUsers() || got.GetIds() != "3" || got.Search != nil {
		t.Errorf("request %v", got)
	}
}

func TestPositionalPathParamsAndParams(t *testing.T) {
	c := &Client{}
	users := c.Resource("users")
	req, err := users.Request("update", int64(42), Params{"name": "Alice", "site_admin": 1},
		grpc.WaitForReady(true))
	if err != nil {
		t.Fatal(err)
	}
	u := req.(*filesv1.UpdateUserRequest)
	if u.GetId() != 42 || u.GetName() != "Alice" || !u.GetSiteAdmin() {
		t.Errorf("request %v", u)
	}
	// The path parameter wins over the same key in Params.
	req, _ = users.Request("find", "17", Params{"id": 3})
	if req.(*filesv1.FindUserRequest).GetId() != 17 {
		t.Errorf("request %v", req)
	}
	// A ready request message.
	req, err = users.Request("find", &filesv1.FindUserRequest{Id: proto.Int64(5)})
	if err != nil || req.(*filesv1.FindUserRequest).GetId() != 5 {
		t.Errorf("request %v, %v", req, err)
	}
	files := c.Resource("files")
	req, _ = files.Request("begin_upload", "a/b.txt", Params{"mkdir_parents": true, "part": 2})
	if b := req.(*filesv1.BeginUploadFileRequest); b.GetPath() != "a/b.txt" || !b.GetMkdirParents() || b.GetPart() != 2 {
		t.Errorf("request %v", b)
	}
	for _, bad := range [][]any{
		{1, 2},                               // too many positional
		{Params{"no_such_param": 1}},         // unknown key
		{Params{"name": []int{1}}},           // a list for a string
		{"x"},                                // not an integer
		{Params{"site_admin": "maybe"}},      // not a boolean
		{&filesv1.FindUserRequest{}},         // the wrong message
		{1, Params{"admin_group_ids": "no"}}, // not a list
	} {
		_, err := users.Request("update", bad...)
		var ip *InvalidParameterError
		var ir *InvalidRequestError
		if !errors.As(err, &ip) || !errors.As(err, &ir) {
			t.Errorf("update%v gave %v", bad, err)
		}
	}
	if _, err := users.Request("no_such_action"); err == nil || !strings.Contains(err.Error(), "unlock") {
		t.Errorf("an unknown action gave %v", err)
	}
}

func TestStructEnumNestedAndRepeatedFields(t *testing.T) {
	c := &Client{}
	req, err := c.Resource("automations").Request("create", Params{
		"definition":            Params{"steps": []any{Params{"n": 1}}, "when": time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		"import_urls":           []Params{{"url": "https://example.com/a"}, {"url": "https://example.com/b"}},
		"schedule_days_of_week": []int{1, 3, 5},
		"destinations":          []string{"a", "b"},
		"value":                 map[string]int{"x": 2},
	})
	if err != nil {
		t.Fatal(err)
	}
	a := req.(*filesv1.CreateAutomationRequest)
	def := a.GetDefinition().AsMap()
	if def["when"] != "2026-01-02T03:04:05Z" || len(a.GetImportUrls()) != 2 ||
		a.GetImportUrls()[1].AsMap()["url"] != "https://example.com/b" ||
		fmt.Sprint(a.GetScheduleDaysOfWeek()) != "[1 3 5]" || len(a.GetDestinations()) != 2 ||
		a.GetValue().AsMap()["x"] != float64(2) {
		t.Errorf("request %v", a)
	}
	var up filesv1.UploadRequest
	err = fill(up.ProtoReflect(), Params{
		"spec":         Params{"path": "a", "mkdir_parents": "true", "overwrite": "OVERWRITE_POLICY_FAIL_IF_EXISTS", "expected_crc32c": 7},
		"data":         "abc",
		"write_offset": "5",
	}, "UploadRequest")
	if err != nil {
		t.Fatal(err)
	}
	if up.GetSpec().GetPath() != "a" || !up.GetSpec().GetMkdirParents() ||
		up.GetSpec().GetOverwrite() != filesv1.OverwritePolicy_OVERWRITE_POLICY_FAIL_IF_EXISTS ||
		up.GetSpec().GetExpectedCrc32C() != 7 || string(up.GetData()) != "abc" || up.GetWriteOffset() != 5 {
		t.Errorf("request %v", &up)
	}
	if err := fill(up.ProtoReflect(), Params{"spec": "a"}, "UploadRequest"); err == nil {
		t.Error("a string for a message was accepted")
	}
}

func TestModelFieldsMapsAndJSONNames(t *testing.T) {
	data, _ := structpb.NewStruct(map[string]any{"n": 3.0, "f": 1.5, "l": []any{1.0, "x"}})
	file := &filesv1.File{Path: proto.String("a/b.txt"), Size: proto.Int64(12), SubfoldersLocked: proto.Bool(true),
		CustomMetadata: data}
	m := wrapModel(file, nil)
	if m.GetString("path") != "a/b.txt" || m.GetInt("size") != 12 || !m.GetBool("subfolders_locked?") ||
		!m.Has("subfolders_locked") || m.Get("display_name") != nil || m.Has("display_name") || m.Get("no_such") != nil {
		t.Errorf("model %v", m.Map())
	}
	got := m.Map()
	if got["subfolders_locked?"] != true || got["size"] != int64(12) {
		t.Errorf("map %v", got)
	}
	meta := got["custom_metadata"].(map[string]any)
	if meta["n"] != int64(3) || meta["f"] != 1.5 || fmt.Sprint(meta["l"]) != "[1 x]" {
		t.Errorf("struct %v", meta)
	}
	if typed, ok := Message[*filesv1.File](m); !ok || typed != file {
		t.Error("Message[*filesv1.File] failed")
	}
	if _, ok := Message[*filesv1.User](m); ok {
		t.Error("Message[*filesv1.User] of a File")
	}
	if s := m.String(); s != "File{path=a/b.txt}" {
		t.Errorf("String() = %s", s)
	}
	b, _ := json.Marshal(m)
	if !strings.Contains(string(b), `"subfolders_locked?":true`) {
		t.Errorf("JSON %s", b)
	}
	// Nested messages and repeated ones.
	resp := &filesv1.BeginUploadFileResponse{Items: []*filesv1.FileUploadPart{{PartNumber: proto.Int64(1)}, {PartNumber: proto.Int64(2)}}}
	parts := wrapModel(resp, nil).Models("items")
	if len(parts) != 2 || parts[1].GetInt("part_number") != 2 {
		t.Errorf("parts %v", parts)
	}
	if nested := wrapModel(resp, nil).Map()["items"].([]any); nested[0].(map[string]any)["part_number"] != int64(1) {
		t.Errorf("nested %v", nested)
	}
}

func TestCallAnswersModelsAndNothing(t *testing.T) {
	f := startFake(t)
	f.answer = func(m *Method, req proto.Message) (proto.Message, error) {
		switch m.Action {
		case "find":
			return &filesv1.User{Id: proto.Int64(req.(*filesv1.FindUserRequest).GetId()), Username: proto.String("alice")}, nil
		case "update":
			r := req.(*filesv1.UpdateUserRequest)
			return &filesv1.User{Id: proto.Int64(r.GetId()), Name: proto.String(r.GetName())}, nil
		}
		return nil, nil
	}
	c := f.client(t)
	ctx := ctxT(t)
	users := c.Resource("users")
	u, err := users.Find(ctx, 42)
	if err != nil || u.GetInt("id") != 42 || u.GetString("username") != "alice" || u.TypeName() != "User" {
		t.Fatalf("find: %v, %v", u, err)
	}
	if m, err := users.Call(ctx, "unlock", 42); m != nil || err != nil {
		t.Errorf("unlock gave %v, %v", m, err)
	}
	if err := users.Delete(ctx, 42); err != nil {
		t.Error(err)
	}
	// Per-object actions take the path parameters from the object.
	updated, err := u.Call(ctx, "update", Params{"name": "Alice"})
	if err != nil || updated.GetInt("id") != 42 || updated.GetString("name") != "Alice" {
		t.Errorf("update: %v, %v", updated, err)
	}
	if req := f.lastCall().decode(t).(*filesv1.UpdateUserRequest); req.GetId() != 42 {
		t.Errorf("per-object update sent %v", req)
	}
	var ip *InvalidParameterError
	if _, err := users.Call(ctx, "list"); !errors.As(err, &ip) {
		t.Errorf("Call on a paginated action gave %v", err)
	}
	if _, err := users.ListAction(ctx, "find", 1); !errors.As(err, &ip) {
		t.Errorf("ListAction on find gave %v", err)
	}
	var mp *MissingParameterError
	if _, err := wrapModel(&filesv1.User{}, c).Call(ctx, "update"); !errors.As(err, &mp) {
		t.Errorf("a per-object action without the id gave %v", err)
	}
}

func TestListPagesWithTheCursor(t *testing.T) {
	f := startFake(t)
	pages := map[string]struct {
		ids  []int64
		next string
	}{"": {[]int64{1, 2}, "c2"}, "c2": {[]int64{3, 4}, "c3"}, "c3": {[]int64{5}, ""}}
	fail := "-" // the cursor whose page fails
	f.answer = func(m *Method, req proto.Message) (proto.Message, error) {
		r := req.(*filesv1.ListUsersRequest)
		if r.GetCursor() == fail {
			return nil, status.Error(codes.Unavailable, "gone")
		}
		p := pages[r.GetCursor()]
		resp := &filesv1.ListUsersResponse{NextCursor: p.next}
		for _, id := range p.ids {
			resp.Items = append(resp.Items, &filesv1.User{Id: proto.Int64(id)})
		}
		return resp, nil
	}
	c := f.client(t)
	ctx := ctxT(t)
	it, err := c.Resource("users").List(ctx, Params{"per_page": 2, "sort_by": Params{"id": "asc"}})
	if err != nil {
		t.Fatal(err)
	}
	all, err := it.All()
	if err != nil || len(all) != 5 || all[4].GetInt("id") != 5 {
		t.Fatalf("auto paging gave %v, %v", all, err)
	}
	calls := f.takeCalls()
	if len(calls) != 3 {
		t.Fatalf("%d calls", len(calls))
	}
	for i, want := range []string{"", "c2", "c3"} {
		r := calls[i].decode(t).(*filesv1.ListUsersRequest)
		if r.GetCursor() != want || r.GetPerPage() != 2 || r.GetSortBy()["id"] != "asc" {
			t.Errorf("page %d request %v", i, r)
		}
	}
	// Manual paging.
	it, _ = c.Resource("users").List(ctx)
	n, sizes := 0, []int{}
	for {
		sizes = append(sizes, len(it.Page()))
		n++
		if !it.HasNextPage() {
			break
		}
		if err := it.LoadNextPage(); err != nil {
			t.Fatal(err)
		}
	}
	if n != 3 || fmt.Sprint(sizes) != "[2 2 1]" || it.LoadNextPage() == nil {
		t.Errorf("manual paging: %d pages %v", n, sizes)
	}
	// Next goes on from a page loaded by hand; an error stops it.
	it, _ = c.Resource("users").List(ctx)
	it.LoadNextPage()
	fail = "c3"
	var ids []int64
	for it.Next() {
		ids = append(ids, it.Current().GetInt("id"))
	}
	var conn *APIConnectionError
	if fmt.Sprint(ids) != "[3 4]" || !errors.As(it.Err(), &conn) {
		t.Errorf("ids %v, err %v", ids, it.Err())
	}
	// A refused first page fails List itself.
	fail = ""
	if _, err := c.Resource("users").List(ctx); !errors.As(err, &conn) {
		t.Errorf("List gave %v", err)
	}
}

func TestDefaultDeadlineMetadataAndOverrides(t *testing.T) {
	f := startFake(t)
	c := f.client(t, WithTimeout(7*time.Second), WithMetadata("x-app", "demo"), WithBearerToken("s3cret"))
	if _, err := c.Resource("users").Find(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	call := f.lastCall()
	if call.deadline <= 5*time.Second || call.deadline > 7*time.Second {
		t.Errorf("deadline %v, want about 7s", call.deadline)
	}
	if fmt.Sprint(call.metadata.Get("x-app")) != "[demo]" ||
		fmt.Sprint(call.metadata.Get("authorization")) != "[Bearer s3cret]" {
		t.Errorf("metadata %v", call.metadata)
	}
	// The context's own deadline and metadata win.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, "x-request", "r1")
	c.Resource("users").Find(ctx, 1)
	call = f.lastCall()
	if call.deadline > 2*time.Second || fmt.Sprint(call.metadata.Get("x-request")) != "[r1]" ||
		fmt.Sprint(call.metadata.Get("x-app")) != "[demo]" {
		t.Errorf("deadline %v, metadata %v", call.deadline, call.metadata)
	}
	// No default deadline.
	c2 := f.client(t, WithTimeout(0))
	c2.Resource("users").Find(context.Background(), 1)
	if d := f.lastCall().deadline; d != 0 {
		t.Errorf("deadline %v without a default", d)
	}
}

func TestBearerTokenNeedsTLSOffLoopback(t *testing.T) {
	for _, target := range []string{"127.0.0.1:1", "localhost:1", "[::1]:1", "unix:///tmp/gw.sock", "dns:///127.0.0.1:1"} {
		c, err := Connect(target, WithBearerToken("t"))
		if err != nil {
			t.Errorf("%s: %v", target, err)
			continue
		}
		c.Close()
	}
	var ip *InvalidParameterError
	if _, err := Connect("gateway.example.com:443", WithBearerToken("t")); !errors.As(err, &ip) {
		t.Errorf("a token over plaintext to a remote host gave %v", err)
	}
	c, err := Connect("gateway.example.com:443", WithBearerToken("t"), WithTLS(nil))
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

func TestTransferServiceStub(t *testing.T) {
	f := startFake(t)
	c := f.client(t)
	_, err := c.TransferService().QueryUploadStatus(ctxT(t), &filesv1.QueryUploadStatusRequest{UploadId: "x"})
	if status.Code(err) != codes.Unimplemented {
		t.Errorf("got %v", err)
	}
	var ge *GatewayError
	if !errors.As(FromError(err), &ge) {
		t.Errorf("FromError gave %v", FromError(err))
	}
}
