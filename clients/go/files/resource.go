package files

import (
	"context"
	"sort"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Resource is one Files.com resource (an SDK class such as User), with every
// action of it read from the descriptors:
//
//	users := client.Resource("users")
//	it, err := users.List(ctx, files.Params{"sort_by": files.Params{"username": "asc"}})
//	u, err := users.Find(ctx, 42)
//	u, err = users.Update(ctx, 42, files.Params{"name": "Alice"})
//	_, err = users.Call(ctx, "unlock", 42)
//
// The args of every action are the request fields its REST path names, in
// order (id, path, user_id, ...), then optionally Params, grpc.CallOptions
// (anywhere), or instead a ready request message of the action's input type.
// Missing path parameters are left to the gateway to refuse (BadRequestError).
type Resource struct {
	client  *Client
	name    string
	methods map[string]*Method
	err     error // set when the name is no resource
}

// Name is the SDK class name, e.g. "User".
func (r *Resource) Name() string { return r.name }

// Err reports why the resource does not exist (nil for a real resource);
// every action of such a Resource fails with the same error.
func (r *Resource) Err() error { return r.err }

// Actions lists the SDK action names, e.g. create, delete, find, list, unlock, update.
func (r *Resource) Actions() []string {
	names := make([]string, 0, len(r.methods))
	for a := range r.methods {
		names = append(names, a)
	}
	sort.Strings(names)
	return names
}

// Method gives the Method behind an action.
func (r *Resource) Method(action string) (*Method, bool) {
	m, ok := r.methods[action]
	return m, ok
}

func (r *Resource) method(action string) (*Method, error) {
	if r.err != nil {
		return nil, r.err
	}
	m, ok := r.methods[action]
	if !ok {
		return nil, errorf("InvalidParameterError", "%s has no action %q (it has: %s)",
			r.name, action, strings.Join(r.Actions(), ", "))
	}
	return m, nil
}

// Request builds the request message of an action from args, without sending it.
func (r *Resource) Request(action string, args ...any) (proto.Message, error) {
	m, err := r.method(action)
	if err != nil {
		return nil, err
	}
	req, _, err := buildRequest(m, args)
	return req, err
}

// buildRequest sorts args into path parameters, Params, call options or a
// ready request message, and fills the request.
func buildRequest(m *Method, args []any) (proto.Message, []grpc.CallOption, error) {
	where := m.Resource + "." + m.Action
	var (
		opts       []grpc.CallOption
		positional []any
		params     []map[string]any
		ready      proto.Message
	)
	for _, a := range args {
		switch v := a.(type) {
		case grpc.CallOption:
			opts = append(opts, v)
		case map[string]any:
			params = append(params, v)
		case proto.Message:
			if v.ProtoReflect().Descriptor().FullName() != m.Input.Descriptor().FullName() {
				return nil, nil, errorf("InvalidParameterError", "%s takes a %s, not a %s", where,
					m.Input.Descriptor().FullName(), v.ProtoReflect().Descriptor().FullName())
			}
			ready = v
		default:
			if m, ok := stringKeyed(a); ok {
				params = append(params, m)
			} else {
				positional = append(positional, a)
			}
		}
	}
	if len(positional) > len(m.PathParams) {
		return nil, nil, errorf("InvalidParameterError", "%s takes %d positional argument(s) (%s) and Params, got %d",
			where, len(m.PathParams), strings.Join(m.PathParams, ", "), len(positional))
	}
	var req protoreflect.Message
	if ready != nil {
		req = proto.Clone(ready).ProtoReflect()
	} else {
		req = m.Input.New()
	}
	for _, p := range params {
		if err := fill(req, p, where); err != nil {
			return nil, nil, err
		}
	}
	for i, v := range positional {
		if isNil(v) {
			continue
		}
		fd := fieldForKey(req.Descriptor(), m.PathParams[i])
		if fd == nil {
			return nil, nil, errorf("InvalidParameterError", "%s: no request field %s", where, m.PathParams[i])
		}
		if err := setField(req, fd, v, where+"."+m.PathParams[i]); err != nil {
			return nil, nil, err
		}
	}
	return req.Interface(), opts, nil
}

// Call runs any non-paginated action by its SDK name and gives its result:
// the Model it answered, or nil for actions that answer nothing (delete,
// unlock, ...). Answers that are bare lists (begin_upload) come as a Model
// whose Models("items") are the entries. Paginated actions go through
// ListAction (Call on one fails with InvalidParameterError).
func (r *Resource) Call(ctx context.Context, action string, args ...any) (*Model, error) {
	m, err := r.method(action)
	if err != nil {
		return nil, err
	}
	if m.Paginated {
		return nil, errorf("InvalidParameterError", "%s.%s pages: call it through List or ListAction", r.name, action)
	}
	req, opts, err := buildRequest(m, args)
	if err != nil {
		return nil, err
	}
	resp := m.Output.New().Interface()
	if err := r.client.invoke(ctx, m.FullMethod, req, resp, opts); err != nil {
		return nil, err
	}
	if m.returnsNothing() {
		return nil, nil
	}
	return wrapModel(resp, r.client), nil
}

// Find runs the "find" action: Find(ctx, id) or Find(ctx, path).
func (r *Resource) Find(ctx context.Context, args ...any) (*Model, error) {
	return r.Call(ctx, "find", args...)
}

// Create runs the "create" action: Create(ctx, files.Params{...}).
func (r *Resource) Create(ctx context.Context, args ...any) (*Model, error) {
	return r.Call(ctx, "create", args...)
}

// Update runs the "update" action: Update(ctx, id, files.Params{...}).
func (r *Resource) Update(ctx context.Context, args ...any) (*Model, error) {
	return r.Call(ctx, "update", args...)
}

// Delete runs the "delete" action: Delete(ctx, id).
func (r *Resource) Delete(ctx context.Context, args ...any) error {
	_, err := r.Call(ctx, "delete", args...)
	return err
}

// List runs the "list" action and gives an Iter over its pages; the first
// page is loaded before List returns, so a refused call fails here.
func (r *Resource) List(ctx context.Context, args ...any) (*Iter, error) {
	return r.ListAction(ctx, "list", args...)
}

// ListAction runs any paginated action by its SDK name ("list", "list_for", ...).
func (r *Resource) ListAction(ctx context.Context, action string, args ...any) (*Iter, error) {
	m, err := r.method(action)
	if err != nil {
		return nil, err
	}
	if !m.Paginated {
		return nil, errorf("InvalidParameterError", "%s.%s does not page: use Call", r.name, action)
	}
	return r.client.list(ctx, m, args)
}

// list runs a paginated method and loads its first page.
func (c *Client) list(ctx context.Context, m *Method, args []any) (*Iter, error) {
	req, opts, err := buildRequest(m, args)
	if err != nil {
		return nil, err
	}
	it := &Iter{ctx: ctx, client: c, method: m, request: req, opts: opts, pos: -1}
	if err := it.load(""); err != nil {
		return nil, err
	}
	return it, nil
}

// Iter walks the items of a paginated action. Next/Current/Err page
// automatically (auto paging); Page, HasNextPage and LoadNextPage page by
// hand, as the SDK's ListObj does:
//
//	for it.Next() {
//		fmt.Println(it.Current().GetString("username"))
//	}
//	if err := it.Err(); err != nil { ... }
//
// Next goes on from the current page, whether it was loaded by Next or by
// LoadNextPage. An Iter is not safe for concurrent use.
type Iter struct {
	ctx     context.Context
	client  *Client
	method  *Method
	request proto.Message
	opts    []grpc.CallOption
	page    []*Model
	pos     int // index of Current in page; -1 before the first Next
	cursor  string
	err     error
}

func (it *Iter) load(cursor string) error {
	req := proto.Clone(it.request)
	if cursor != "" {
		r := req.ProtoReflect()
		fd := r.Descriptor().Fields().ByName("cursor")
		if fd == nil {
			return errorf("GatewayError", "%s has no cursor field", r.Descriptor().FullName())
		}
		r.Set(fd, protoreflect.ValueOfString(cursor))
	}
	resp := it.method.Output.New()
	if err := it.client.invoke(it.ctx, it.method.FullMethod, req, resp.Interface(), it.opts); err != nil {
		return err
	}
	fields := resp.Descriptor().Fields()
	page := it.page[:0:0]
	if fd := fields.ByName("items"); fd != nil && fd.IsList() {
		list := resp.Get(fd).List()
		for i := 0; i < list.Len(); i++ {
			page = append(page, wrapModel(list.Get(i).Message().Interface(), it.client))
		}
	}
	it.page, it.pos, it.cursor = page, -1, ""
	if fd := fields.ByName("next_cursor"); fd != nil {
		it.cursor = resp.Get(fd).String()
	}
	return nil
}

// Next advances to the next item, loading the next page when the current
// one is done; false at the end or on an error (see Err).
func (it *Iter) Next() bool {
	if it.err != nil {
		return false
	}
	for it.pos+1 >= len(it.page) {
		if it.cursor == "" {
			it.pos = len(it.page)
			return false
		}
		if err := it.load(it.cursor); err != nil {
			it.err = err
			return false
		}
	}
	it.pos++
	return true
}

// Current is the item Next advanced to.
func (it *Iter) Current() *Model {
	if it.pos < 0 || it.pos >= len(it.page) {
		return nil
	}
	return it.page[it.pos]
}

// Err is the error that stopped Next, if any.
func (it *Iter) Err() error { return it.err }

// Page gives the items of the current page.
func (it *Iter) Page() []*Model { return it.page }

// HasNextPage reports whether another page follows the current one.
func (it *Iter) HasNextPage() bool { return it.cursor != "" }

// Cursor is the cursor of the next page ("" on the last page).
func (it *Iter) Cursor() string { return it.cursor }

// LoadNextPage replaces the current page with the next one; Next then goes
// on from its first item.
func (it *Iter) LoadNextPage() error {
	if it.cursor == "" {
		return errorf("InvalidRequestError", "%s.%s: there is no next page", it.method.Resource, it.method.Action)
	}
	return it.load(it.cursor)
}

// All gives every remaining item of every page.
func (it *Iter) All() ([]*Model, error) {
	var out []*Model
	for it.Next() {
		out = append(out, it.Current())
	}
	return out, it.Err()
}
