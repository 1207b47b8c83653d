package files

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/structpb"
)

// Params are an action's parameters in the SDK's shape, keyed by Files.com
// names: {"sort_by": {"username": "asc"}, "filter_prefix": {...}, "per_page": 1000}.
//
// Values are mapped onto the request message through its descriptor: Go
// numbers, strings, bools, time.Time (for date-time strings), []byte,
// json.Number, slices onto repeated fields, maps onto map fields, nested
// messages and google.protobuf.Struct fields; a proto.Message of a field's
// own type is copied as is. Strings convert to numbers and booleans ("42",
// "true") as the SDK's callers expect. nil values are skipped.
type Params = map[string]any

const (
	structName    = "google.protobuf.Struct"
	listValueName = "google.protobuf.ListValue"
	valueName     = "google.protobuf.Value"
)

func isJSONWellKnown(name protoreflect.FullName) bool {
	return name == structName || name == listValueName || name == valueName
}

// defaultJSONName is protoc's lowerCamelCase json_name for a field name.
func defaultJSONName(name string) string {
	parts := strings.Split(name, "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}

// jsonKey is the Files.com key of a field: its json_name when the proto sets
// one explicitly ("subfolders_locked?"), else the field name.
func jsonKey(fd protoreflect.FieldDescriptor) string {
	if fd.HasJSONName() && fd.JSONName() != defaultJSONName(string(fd.Name())) {
		return fd.JSONName()
	}
	return string(fd.Name())
}

var keyIndexes sync.Map // protoreflect.FullName -> map[string]protoreflect.FieldDescriptor

// fieldForKey finds the field a Files.com key (or the proto name, or the json_name) names.
func fieldForKey(md protoreflect.MessageDescriptor, key string) protoreflect.FieldDescriptor {
	if cached, ok := keyIndexes.Load(md.FullName()); ok {
		return cached.(map[string]protoreflect.FieldDescriptor)[key]
	}
	idx := map[string]protoreflect.FieldDescriptor{}
	fields := md.Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		idx[string(fd.Name())] = fd
	}
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		for _, k := range []string{jsonKey(fd), fd.JSONName()} {
			if _, taken := idx[k]; !taken {
				idx[k] = fd
			}
		}
	}
	keyIndexes.Store(md.FullName(), idx)
	return idx[key]
}

func badParam(where, format string, args ...any) error {
	return newError("InvalidParameterError", where+": "+fmt.Sprintf(format, args...))
}

// fill sets msg's fields from params (Files.com keys to values).
func fill(msg protoreflect.Message, params map[string]any, where string) error {
	md := msg.Descriptor()
	for key, value := range params {
		if isNil(value) {
			continue
		}
		fd := fieldForKey(md, key)
		if fd == nil {
			return badParam(where, "unknown parameter %q", key)
		}
		if err := setField(msg, fd, value, where+"."+key); err != nil {
			return err
		}
	}
	return nil
}

func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface:
		return rv.IsNil()
	}
	return false
}

func setField(msg protoreflect.Message, fd protoreflect.FieldDescriptor, value any, where string) error {
	switch {
	case fd.IsMap():
		rv := reflect.ValueOf(value)
		if rv.Kind() != reflect.Map {
			return badParam(where, "expected a map, got %T", value)
		}
		m := msg.Mutable(fd).Map()
		iter := rv.MapRange()
		for iter.Next() {
			k, err := scalar(fd.MapKey(), iter.Key().Interface(), where)
			if err != nil {
				return err
			}
			itemWhere := fmt.Sprintf("%s[%v]", where, iter.Key().Interface())
			vfd := fd.MapValue()
			if vfd.Kind() == protoreflect.MessageKind {
				item := m.NewValue()
				if err := fillMessage(vfd, item.Message(), iter.Value().Interface(), itemWhere); err != nil {
					return err
				}
				m.Set(k.MapKey(), item)
				continue
			}
			v, err := scalar(vfd, iter.Value().Interface(), itemWhere)
			if err != nil {
				return err
			}
			m.Set(k.MapKey(), v)
		}
		return nil
	case fd.IsList():
		items, ok := listItems(value)
		if !ok {
			return badParam(where, "expected a list, got %T", value)
		}
		list := msg.Mutable(fd).List()
		for i, item := range items {
			itemWhere := fmt.Sprintf("%s[%d]", where, i)
			if fd.Kind() == protoreflect.MessageKind {
				elem := list.NewElement()
				if err := fillMessage(fd, elem.Message(), item, itemWhere); err != nil {
					return err
				}
				list.Append(elem)
				continue
			}
			v, err := scalar(fd, item, itemWhere)
			if err != nil {
				return err
			}
			list.Append(v)
		}
		return nil
	case fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind:
		sub := msg.NewField(fd)
		if err := fillMessage(fd, sub.Message(), value, where); err != nil {
			return err
		}
		msg.Set(fd, sub)
		return nil
	}
	v, err := scalar(fd, value, where)
	if err != nil {
		return err
	}
	msg.Set(fd, v)
	return nil
}

// listItems gives the elements of a slice or array (not a string or []byte).
func listItems(value any) ([]any, bool) {
	switch v := value.(type) {
	case []any:
		return v, true
	case string, []byte, json.Number:
		return nil, false
	}
	rv := reflect.ValueOf(value)
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return nil, false
	}
	items := make([]any, rv.Len())
	for i := range items {
		items[i] = rv.Index(i).Interface()
	}
	return items, true
}

// fillMessage fills target (a field's sub-message) from value.
func fillMessage(fd protoreflect.FieldDescriptor, target protoreflect.Message, value any, where string) error {
	name := fd.Message().FullName()
	if m, ok := value.(proto.Message); ok {
		if m.ProtoReflect().Descriptor().FullName() != name {
			return badParam(where, "expected %s, got %s", name, m.ProtoReflect().Descriptor().FullName())
		}
		proto.Merge(target.Interface(), m)
		return nil
	}
	if isJSONWellKnown(name) {
		v, err := toStructValue(value)
		if err != nil {
			return badParam(where, "cannot store %v: %v", value, err)
		}
		var src proto.Message
		switch name {
		case structName:
			s := v.GetStructValue()
			if s == nil {
				return badParam(where, "expected an object, got %T", value)
			}
			src = s
		case listValueName:
			l := v.GetListValue()
			if l == nil {
				return badParam(where, "expected a list, got %T", value)
			}
			src = l
		default:
			src = v
		}
		proto.Merge(target.Interface(), src)
		return nil
	}
	params, ok := stringKeyed(value)
	if !ok {
		return badParam(where, "expected an object for %s, got %T", name, value)
	}
	return fill(target, params, where)
}

// stringKeyed gives a map with string keys as map[string]any.
func stringKeyed(value any) (map[string]any, bool) {
	if m, ok := value.(map[string]any); ok {
		return m, true
	}
	rv := reflect.ValueOf(value)
	if rv.Kind() != reflect.Map || rv.Type().Key().Kind() != reflect.String {
		return nil, false
	}
	out := make(map[string]any, rv.Len())
	iter := rv.MapRange()
	for iter.Next() {
		out[iter.Key().String()] = iter.Value().Interface()
	}
	return out, true
}

// toStructValue converts a Go value to a google.protobuf.Value (JSON shapes only).
func toStructValue(value any) (*structpb.Value, error) {
	switch v := value.(type) {
	case nil:
		return structpb.NewNullValue(), nil
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return nil, err
		}
		return structpb.NewNumberValue(f), nil
	case time.Time:
		return structpb.NewStringValue(v.Format(time.RFC3339Nano)), nil
	case []byte:
		return structpb.NewStringValue(string(v)), nil
	case *structpb.Value:
		return v, nil
	}
	rv := reflect.ValueOf(value)
	switch rv.Kind() {
	case reflect.Bool:
		return structpb.NewBoolValue(rv.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return structpb.NewNumberValue(float64(rv.Int())), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return structpb.NewNumberValue(float64(rv.Uint())), nil
	case reflect.Float32, reflect.Float64:
		return structpb.NewNumberValue(rv.Float()), nil
	case reflect.String:
		return structpb.NewStringValue(rv.String()), nil
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return structpb.NewNullValue(), nil
		}
		return toStructValue(rv.Elem().Interface())
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return nil, fmt.Errorf("map keys must be strings, not %s", rv.Type().Key())
		}
		fields := make(map[string]*structpb.Value, rv.Len())
		iter := rv.MapRange()
		for iter.Next() {
			item, err := toStructValue(iter.Value().Interface())
			if err != nil {
				return nil, err
			}
			fields[iter.Key().String()] = item
		}
		return structpb.NewStructValue(&structpb.Struct{Fields: fields}), nil
	case reflect.Slice, reflect.Array:
		items := make([]*structpb.Value, rv.Len())
		for i := range items {
			item, err := toStructValue(rv.Index(i).Interface())
			if err != nil {
				return nil, err
			}
			items[i] = item
		}
		return structpb.NewListValue(&structpb.ListValue{Values: items}), nil
	}
	return nil, fmt.Errorf("%T is not a JSON value", value)
}

// scalar converts value to the kind of a scalar field, with the coercions
// the SDK's callers rely on ("42" for an int64, "true" for a bool, time.Time
// for a date-time string).
func scalar(fd protoreflect.FieldDescriptor, value any, where string) (protoreflect.Value, error) {
	switch fd.Kind() {
	case protoreflect.StringKind:
		if s, ok := asString(value); ok {
			return protoreflect.ValueOfString(s), nil
		}
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		if n, ok := asInt(value); ok && n >= math.MinInt32 && n <= math.MaxInt32 {
			return protoreflect.ValueOfInt32(int32(n)), nil
		}
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		if n, ok := asInt(value); ok {
			return protoreflect.ValueOfInt64(n), nil
		}
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		if n, ok := asUint(value); ok && n <= math.MaxUint32 {
			return protoreflect.ValueOfUint32(uint32(n)), nil
		}
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		if n, ok := asUint(value); ok {
			return protoreflect.ValueOfUint64(n), nil
		}
	case protoreflect.BoolKind:
		if b, ok := asBool(value); ok {
			return protoreflect.ValueOfBool(b), nil
		}
	case protoreflect.DoubleKind:
		if f, ok := asFloat(value); ok {
			return protoreflect.ValueOfFloat64(f), nil
		}
	case protoreflect.FloatKind:
		if f, ok := asFloat(value); ok {
			return protoreflect.ValueOfFloat32(float32(f)), nil
		}
	case protoreflect.BytesKind:
		switch v := value.(type) {
		case []byte:
			return protoreflect.ValueOfBytes(append([]byte(nil), v...)), nil
		case string:
			return protoreflect.ValueOfBytes([]byte(v)), nil
		}
	case protoreflect.EnumKind:
		values := fd.Enum().Values()
		if s, ok := value.(string); ok {
			if ev := values.ByName(protoreflect.Name(s)); ev != nil {
				return protoreflect.ValueOfEnum(ev.Number()), nil
			}
		} else if n, ok := asInt(value); ok {
			if ev := values.ByNumber(protoreflect.EnumNumber(n)); ev != nil {
				return protoreflect.ValueOfEnum(ev.Number()), nil
			}
		}
	}
	return protoreflect.Value{}, badParam(where, "%#v is not a valid %s", value, kindName(fd))
}

func kindName(fd protoreflect.FieldDescriptor) string {
	switch fd.Kind() {
	case protoreflect.EnumKind:
		return string(fd.Enum().FullName())
	case protoreflect.StringKind:
		return "string"
	case protoreflect.BoolKind:
		return "boolean"
	case protoreflect.BytesKind:
		return "bytes"
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		return "number"
	}
	return "integer"
}

func asString(value any) (string, bool) {
	switch v := value.(type) {
	case string:
		return v, true
	case json.Number:
		return string(v), true
	case bool:
		return strconv.FormatBool(v), true
	case time.Time:
		return v.Format(time.RFC3339Nano), true
	case []byte:
		return string(v), true
	}
	rv := reflect.ValueOf(value)
	switch rv.Kind() {
	case reflect.String:
		return rv.String(), true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(rv.Int(), 10), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(rv.Uint(), 10), true
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(rv.Float(), 'g', -1, 64), true
	}
	return "", false
}

func asInt(value any) (int64, bool) {
	switch v := value.(type) {
	case bool:
		return 0, false
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return n, true
		}
		if f, err := v.Float64(); err == nil {
			return floatToInt(f)
		}
		return 0, false
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		return n, err == nil
	}
	rv := reflect.ValueOf(value)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if rv.Uint() <= math.MaxInt64 {
			return int64(rv.Uint()), true
		}
	case reflect.Float32, reflect.Float64:
		return floatToInt(rv.Float())
	}
	return 0, false
}

func floatToInt(f float64) (int64, bool) {
	if f != math.Trunc(f) || math.IsInf(f, 0) || f < -(1<<63) || f >= 1<<63 {
		return 0, false
	}
	return int64(f), true
}

func asUint(value any) (uint64, bool) {
	if s, ok := value.(string); ok {
		n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
		return n, err == nil
	}
	rv := reflect.ValueOf(value)
	switch rv.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return rv.Uint(), true
	}
	n, ok := asInt(value)
	if !ok || n < 0 {
		return 0, false
	}
	return uint64(n), true
}

func asBool(value any) (bool, bool) {
	switch v := value.(type) {
	case bool:
		return v, true
	case string:
		switch strings.ToLower(v) {
		case "true", "1":
			return true, true
		case "false", "0":
			return false, true
		}
		return false, false
	}
	if n, ok := asInt(value); ok && (n == 0 || n == 1) {
		return n == 1, true
	}
	return false, false
}

func asFloat(value any) (float64, bool) {
	switch v := value.(type) {
	case bool:
		return 0, false
	case json.Number:
		f, err := v.Float64()
		return f, err == nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		return f, err == nil
	}
	rv := reflect.ValueOf(value)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(rv.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(rv.Uint()), true
	case reflect.Float32, reflect.Float64:
		return rv.Float(), true
	}
	return 0, false
}

// --- messages back to Go values -------------------------------------------

// goValue converts one field value (not a list or map) to Go: int64, uint64,
// float64, bool, string, []byte, the enum value name, plain Go values for
// Struct / ListValue / Value, and sub-messages through wrap.
func goValue(fd protoreflect.FieldDescriptor, v protoreflect.Value, wrap func(protoreflect.Message) any) any {
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		m := v.Message()
		if isJSONWellKnown(m.Descriptor().FullName()) {
			return plainJSON(m.Interface())
		}
		return wrap(m)
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			return string(ev.Name())
		}
		return int64(v.Enum())
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return v.Int()
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return v.Uint()
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		return v.Float()
	case protoreflect.BytesKind:
		return append([]byte(nil), v.Bytes()...)
	}
	return v.Interface()
}

// plainJSON gives a Struct / ListValue / Value as plain Go values, with
// integral numbers as int64 (Struct numbers are doubles; JSON had ints).
func plainJSON(m proto.Message) any {
	switch v := m.(type) {
	case *structpb.Struct:
		return integral(v.AsMap())
	case *structpb.ListValue:
		return integral(v.AsSlice())
	case *structpb.Value:
		return integral(v.AsInterface())
	}
	// A dynamic message of one of those types: go through its wire form.
	b, err := proto.Marshal(m)
	if err != nil {
		return nil
	}
	var typed proto.Message
	switch m.ProtoReflect().Descriptor().FullName() {
	case structName:
		typed = &structpb.Struct{}
	case listValueName:
		typed = &structpb.ListValue{}
	default:
		typed = &structpb.Value{}
	}
	if proto.Unmarshal(b, typed) != nil {
		return nil
	}
	return plainJSON(typed)
}

func integral(x any) any {
	switch v := x.(type) {
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return int64(v)
		}
	case map[string]any:
		for k, item := range v {
			v[k] = integral(item)
		}
	case []any:
		for i, item := range v {
			v[i] = integral(item)
		}
	}
	return x
}

// fieldValue gives one field as Go: nil when an optional field is unset,
// []any for repeated fields, map[string]any for maps.
func fieldValue(msg protoreflect.Message, fd protoreflect.FieldDescriptor, wrap func(protoreflect.Message) any) any {
	switch {
	case fd.IsMap():
		out := map[string]any{}
		msg.Get(fd).Map().Range(func(k protoreflect.MapKey, v protoreflect.Value) bool {
			out[k.String()] = goValue(fd.MapValue(), v, wrap)
			return true
		})
		return out
	case fd.IsList():
		list := msg.Get(fd).List()
		out := make([]any, list.Len())
		for i := range out {
			out[i] = goValue(fd, list.Get(i), wrap)
		}
		return out
	}
	if fd.HasPresence() && !msg.Has(fd) {
		return nil
	}
	return goValue(fd, msg.Get(fd), wrap)
}

// toMap gives a message as a map keyed by Files.com names (set fields only).
func toMap(msg protoreflect.Message) map[string]any {
	out := map[string]any{}
	msg.Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
		out[jsonKey(fd)] = fieldValue(msg, fd, func(m protoreflect.Message) any { return toMap(m) })
		return true
	})
	return out
}
