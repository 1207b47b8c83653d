package files

import (
	"context"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// The typed layer: resources_gen.go (written by internal/resgen from the
// descriptors, nothing per resource by hand) gives one type per resource,
// reached from the Client by its plural (client.Users(), client.ApiKeys(),
// client.Files(), ...), with one method per SDK action. Requests are the
// generated request messages of package filesv1, results the generated models:
//
//	user, err := client.Users().Find(ctx, 1)             // *filesv1.User
//	fmt.Println(user.GetUsername())
//	it, err := client.Users().List(ctx, &filesv1.ListUsersRequest{PerPage: proto.Int64(100)})
//	for it.Next() { fmt.Println(it.Current().GetId()) }  // every page
//	err = client.Users().Unlock(ctx, user.GetId())
//
// The REST path parameters of an action (id, path, ...) come first, typed;
// then the request message for the other fields (nil: none) when the action
// has any; then call options. A path parameter given positionally wins over
// the same field of the request message.

// rpc describes one action for the typed layer; resgen writes one per action,
// so a typed call needs no scan of the descriptors (the untyped layer's index
// costs milliseconds at the first call).
type rpc struct {
	resource, action, service, name, httpMethod, httpPath string
	paginated                                             bool
	pathParams                                            []string
	input, output                                         proto.Message // zero values of the generated types
	once                                                  sync.Once
	method                                                *Method
}

func (d *rpc) get() *Method {
	d.once.Do(func() {
		params := d.pathParams
		if len(params) == 0 {
			params = nil
		}
		d.method = &Method{Resource: d.resource, Action: d.action, Service: d.service, Name: d.name,
			FullMethod: "/" + d.service + "/" + d.name, Input: d.input.ProtoReflect().Type(),
			Output: d.output.ProtoReflect().Type(), PathParams: params, Paginated: d.paginated,
			HTTPMethod: d.httpMethod, HTTPPath: d.httpPath}
	})
	return d.method
}

// typedCall runs a non-paginated action with a typed request and result.
func typedCall[T proto.Message](ctx context.Context, c *Client, d *rpc, req proto.Message, path []any, opts []grpc.CallOption) (T, error) {
	var zero T
	m := d.get()
	request, callOpts, err := buildRequest(m, typedArgs(req, path, opts))
	if err != nil {
		return zero, err
	}
	resp := m.Output.New().Interface()
	if err := c.invoke(ctx, m.FullMethod, request, resp, callOpts); err != nil {
		return zero, err
	}
	out, _ := resp.(T) // the generated type of the RPC's output
	return out, nil
}

// typedList runs a paginated action and gives a typed iterator over its items.
func typedList[T proto.Message](ctx context.Context, c *Client, d *rpc, req proto.Message, path []any, opts []grpc.CallOption) (*ListIter[T], error) {
	it, err := c.list(ctx, d.get(), typedArgs(req, path, opts))
	if err != nil {
		return nil, err
	}
	return &ListIter[T]{it: it}, nil
}

// ListIter walks every item of every page of a paginated action, typed (a
// *filesv1.User for client.Users().List): Next loads the next page when one is
// done. Page, HasNextPage, LoadNextPage and Cursor page by hand.
type ListIter[T proto.Message] struct{ it *Iter }

// Next moves to the next item, loading the next page when needed; false at
// the end or on an error (see Err).
func (l *ListIter[T]) Next() bool { return l.it.Next() }

// Current is the item Next moved to.
func (l *ListIter[T]) Current() T { return typed[T](l.it.Current()) }

// Err is the error that ended the walk, if any.
func (l *ListIter[T]) Err() error { return l.it.Err() }

// Page is the page loaded last.
func (l *ListIter[T]) Page() []T {
	page := l.it.Page()
	out := make([]T, len(page))
	for i, m := range page {
		out[i] = typed[T](m)
	}
	return out
}

// HasNextPage reports whether the gateway gave a cursor for another page.
func (l *ListIter[T]) HasNextPage() bool { return l.it.HasNextPage() }

// Cursor is the cursor of the next page ("" at the last one).
func (l *ListIter[T]) Cursor() string { return l.it.Cursor() }

// LoadNextPage loads the next page (Page gives it).
func (l *ListIter[T]) LoadNextPage() error { return l.it.LoadNextPage() }

// All collects the remaining items of every page.
func (l *ListIter[T]) All() ([]T, error) {
	var out []T
	for l.Next() {
		out = append(out, l.Current())
	}
	return out, l.Err()
}

// Untyped gives the same walk as an *Iter of Models.
func (l *ListIter[T]) Untyped() *Iter { return l.it }

func typed[T proto.Message](m *Model) T {
	var zero T
	if m == nil {
		return zero
	}
	out, _ := m.Proto().(T)
	return out
}

// typedArgs makes the args of the untyped layer from a typed call's parts.
func typedArgs(req proto.Message, path []any, opts []grpc.CallOption) []any {
	args := make([]any, 0, len(path)+len(opts)+1)
	if !isNil(req) {
		args = append(args, req)
	}
	args = append(args, path...)
	for _, o := range opts {
		args = append(args, o)
	}
	return args
}
