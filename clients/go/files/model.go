package files

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Model is one Files.com object (a User, a File, ...) as an action answered
// it, read by Files.com key: user.GetString("username"), user.Get("id").
// Unset optional fields read as nil (Get) or the zero value (GetString, ...);
// nested messages are *Model, repeated fields []any, maps and
// google.protobuf.Struct fields map[string]any. Proto gives the generated
// message itself (e.g. *filesv1.User); so does the generic Message.
type Model struct {
	msg    proto.Message
	client *Client
}

func wrapModel(msg proto.Message, c *Client) *Model { return &Model{msg: msg, client: c} }

// Model gives the untyped view of a typed model (a *filesv1.File from
// UploadFile, a *filesv1.User from client.Users().Find, ...): fields by
// Files.com key, Map, MarshalJSON, and its resource's per-object actions.
func (c *Client) Model(msg proto.Message) *Model { return wrapModel(msg, c) }

// Proto gives the underlying protobuf message (a generated type such as *filesv1.User).
func (m *Model) Proto() proto.Message { return m.msg }

// Message gives a model's message as its generated type:
//
//	u, ok := files.Message[*filesv1.User](model)
func Message[T proto.Message](m *Model) (T, bool) {
	var zero T
	if m == nil {
		return zero, false
	}
	t, ok := m.msg.(T)
	return t, ok
}

// TypeName is the message name, e.g. "User" or "File".
func (m *Model) TypeName() string { return string(m.msg.ProtoReflect().Descriptor().Name()) }

func (m *Model) field(key string) (protoreflect.Message, protoreflect.FieldDescriptor) {
	r := m.msg.ProtoReflect()
	return r, fieldForKey(r.Descriptor(), key)
}

// Has reports whether the field a Files.com key names is set.
func (m *Model) Has(key string) bool {
	r, fd := m.field(key)
	return fd != nil && r.Has(fd)
}

// Get gives a field by its Files.com key; nil when the model has no such
// field or an optional field is unset. Integers are int64 (uint64 for
// unsigned fields), floats float64, enums their value name, sub-messages *Model.
func (m *Model) Get(key string) any {
	r, fd := m.field(key)
	if fd == nil {
		return nil
	}
	return fieldValue(r, fd, m.wrapNested)
}

func (m *Model) wrapNested(sub protoreflect.Message) any { return wrapModel(sub.Interface(), m.client) }

// GetString gives a string field ("" when unset).
func (m *Model) GetString(key string) string {
	s, _ := m.Get(key).(string)
	return s
}

// GetInt gives an integer field (0 when unset).
func (m *Model) GetInt(key string) int64 {
	switch v := m.Get(key).(type) {
	case int64:
		return v
	case uint64:
		return int64(v)
	}
	return 0
}

// GetBool gives a boolean field (false when unset).
func (m *Model) GetBool(key string) bool {
	b, _ := m.Get(key).(bool)
	return b
}

// GetFloat gives a floating-point field (0 when unset).
func (m *Model) GetFloat(key string) float64 {
	f, _ := m.Get(key).(float64)
	return f
}

// Model gives a sub-message field as a Model (nil when unset).
func (m *Model) Model(key string) *Model {
	sub, _ := m.Get(key).(*Model)
	return sub
}

// Models gives a repeated sub-message field as Models, e.g. the "items" of a
// begin_upload answer.
func (m *Model) Models(key string) []*Model {
	items, _ := m.Get(key).([]any)
	out := make([]*Model, 0, len(items))
	for _, item := range items {
		if sub, ok := item.(*Model); ok {
			out = append(out, sub)
		}
	}
	return out
}

// Map gives the object as a map keyed by Files.com names (set fields only),
// with nested objects as maps too.
func (m *Model) Map() map[string]any { return toMap(m.msg.ProtoReflect()) }

// Keys lists the Files.com keys of the set fields, sorted.
func (m *Model) Keys() []string {
	var keys []string
	m.msg.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
		keys = append(keys, jsonKey(fd))
		return true
	})
	sort.Strings(keys)
	return keys
}

// MarshalJSON encodes the object with Files.com keys (set fields only).
func (m *Model) MarshalJSON() ([]byte, error) { return json.Marshal(m.Map()) }

// String is a short description: the type and its id, path, username or name.
func (m *Model) String() string {
	if m == nil {
		return "<nil>"
	}
	var parts []string
	for _, k := range []string{"id", "path", "username", "name"} {
		if m.Has(k) {
			parts = append(parts, fmt.Sprintf("%s=%v", k, m.Get(k)))
		}
	}
	if len(parts) == 0 {
		keys := m.Keys()
		if len(keys) > 3 {
			keys = keys[:3]
		}
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s=%v", k, m.Get(k)))
		}
	}
	return m.TypeName() + "{" + strings.Join(parts, " ") + "}"
}

// Call runs an action of the object's own resource with the path
// parameters (id, path, ...) taken from the object itself:
//
//	user.Call(ctx, "update", files.Params{"name": "Alice"})
//	user.Call(ctx, "unlock")
//
// args are as for Resource.Call after the path parameters (Params, grpc.CallOption).
func (m *Model) Call(ctx context.Context, action string, args ...any) (*Model, error) {
	method, err := m.objectMethod(action)
	if err != nil {
		return nil, err
	}
	return m.client.Resource(method.Resource).Call(ctx, action, m.pathArgs(method, args)...)
}

// List runs a paginated action of the object's resource with its path
// parameters taken from the object (e.g. a folder's "list_for").
func (m *Model) List(ctx context.Context, action string, args ...any) (*Iter, error) {
	method, err := m.objectMethod(action)
	if err != nil {
		return nil, err
	}
	return m.client.Resource(method.Resource).ListAction(ctx, action, m.pathArgs(method, args)...)
}

func (m *Model) objectMethod(action string) (*Method, error) {
	if m.client == nil {
		return nil, errorf("InvalidRequestError", "%s was not read through a Client", m.TypeName())
	}
	method, ok := LookupMethod(m.TypeName(), action)
	if !ok {
		return nil, errorf("InvalidParameterError", "%s has no action %q", m.TypeName(), action)
	}
	for _, p := range method.PathParams {
		if !m.Has(p) {
			return nil, errorf("MissingParameterError", "%s.%s needs %s, which this %s lacks",
				method.Resource, action, p, m.TypeName())
		}
	}
	return method, nil
}

func (m *Model) pathArgs(method *Method, args []any) []any {
	values := make([]any, 0, len(method.PathParams)+len(args))
	for _, p := range method.PathParams {
		values = append(values, m.Get(p))
	}
	return append(values, args...)
}
