"""Python values <-> protobuf messages, driven by the descriptors.

fill() maps SDK-style parameters onto a request message: plain values onto
scalars (with the coercions the SDK's callers rely on: "42" for an int64,
datetime for a date-time string, True for a "true" filter value), dicts onto
maps (sort_by, filter, filter_gt, ...), nested messages and
google.protobuf.Struct fields, lists onto repeated fields. Keys are the
Files.com names: the proto field names, or a field's json_name
("subfolders_locked?").

to_python() is the way back: a message as a dict keyed by Files.com names,
with Struct fields as plain dicts and unset optional fields left out.
"""
import datetime
import math
from collections.abc import Iterable, Mapping

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor

from files_gateway.errors import InvalidParameterError

__all__ = ["fill", "to_python", "field_value", "json_key", "field_for_key"]

_INTS = {FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_UINT64,
         FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_SINT64, FieldDescriptor.TYPE_SINT32,
         FieldDescriptor.TYPE_FIXED64, FieldDescriptor.TYPE_FIXED32,
         FieldDescriptor.TYPE_SFIXED64, FieldDescriptor.TYPE_SFIXED32}
_FLOATS = {FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT}
_STRUCT = "google.protobuf.Struct"
_LIST_VALUE = "google.protobuf.ListValue"
_VALUE = "google.protobuf.Value"
_WELL_KNOWN_JSON = {_STRUCT, _LIST_VALUE, _VALUE}


def _default_json_name(name):
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def json_key(fd):
    """The Files.com key of a field: its json_name when the proto sets one
    explicitly ("subfolders_locked?"), else the field name."""
    if fd.json_name and fd.json_name != _default_json_name(fd.name):
        return fd.json_name
    return fd.name


def _key_index(descriptor):
    cache = _KEYS.get(descriptor.full_name)
    if cache is None:
        cache = dict(descriptor.fields_by_name)
        for fd in descriptor.fields:
            cache.setdefault(json_key(fd), fd)
            cache.setdefault(fd.json_name, fd)
        _KEYS[descriptor.full_name] = cache
    return cache


_KEYS: dict = {}


def field_for_key(descriptor, key):
    """The field a Files.com key names, or None."""
    return _key_index(descriptor).get(key)


def _is_map(fd):
    return (fd.type == FieldDescriptor.TYPE_MESSAGE and
            fd.message_type.GetOptions().map_entry)


def _is_repeated(fd):
    return fd.label == FieldDescriptor.LABEL_REPEATED


def _bad(where, message):
    return InvalidParameterError("%s: %s" % (where, message))


def _scalar(fd, value, where):
    t = fd.type
    if t == FieldDescriptor.TYPE_STRING:
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (datetime.datetime, datetime.date)):
            return value.isoformat()
        if isinstance(value, (int, float)):
            return str(value)
    elif t in _INTS:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.strip(), 10)
            except ValueError:
                pass
    elif t == FieldDescriptor.TYPE_BOOL:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
            return value.lower() in ("true", "1")
    elif t in _FLOATS:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif t == FieldDescriptor.TYPE_BYTES:
        if isinstance(value, (bytes, bytearray, memoryview)):
            return bytes(value)
        if isinstance(value, str):
            return value.encode("utf-8")
    elif t == FieldDescriptor.TYPE_ENUM:
        if isinstance(value, str) and value in fd.enum_type.values_by_name:
            return fd.enum_type.values_by_name[value].number
        if isinstance(value, int) and value in fd.enum_type.values_by_number:
            return value
    raise _bad(where, "%r is not a valid %s" % (value, _type_name(fd)))


def _type_name(fd):
    if fd.type == FieldDescriptor.TYPE_MESSAGE:
        return fd.message_type.full_name
    if fd.type == FieldDescriptor.TYPE_ENUM:
        return fd.enum_type.full_name
    return {FieldDescriptor.TYPE_STRING: "string", FieldDescriptor.TYPE_BOOL: "boolean",
            FieldDescriptor.TYPE_BYTES: "bytes"}.get(
                fd.type, "integer" if fd.type in _INTS else "number")


def _message(fd, target, value, where):
    """Fills the message `target` (a field's sub-message) from value."""
    name = fd.message_type.full_name
    if hasattr(value, "DESCRIPTOR") and getattr(value.DESCRIPTOR, "full_name", None) == name:
        target.CopyFrom(value)
        return
    try:
        if name == _STRUCT and isinstance(value, Mapping):
            target.update(_jsonable(value))
            return
        if name == _LIST_VALUE and _is_list(value):
            target.extend(_jsonable(list(value)))
            return
        if name == _VALUE:
            json_format.ParseDict(_jsonable(value), target)
            return
    except (ValueError, TypeError) as e:
        raise _bad(where, "cannot store %r: %s" % (value, e)) from None
    if isinstance(value, Mapping) and name not in _WELL_KNOWN_JSON:
        fill(target, value, where)
        return
    raise _bad(where, "expected %s, got %r" % ("an object" if name != _LIST_VALUE else "a list",
                                               value))


def _jsonable(value):
    """Dates as strings inside free-form objects (Struct takes only JSON values)."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if _is_list(value):
        return [_jsonable(v) for v in value]
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    return value


def _is_list(value):
    return isinstance(value, Iterable) and not isinstance(value, (str, bytes, bytearray, Mapping))


def fill(message, params, where=None):
    """Sets message's fields from params (a mapping of Files.com keys to values).
    None values are skipped. Raises InvalidParameterError for unknown keys and
    values that do not fit."""
    where = where or message.DESCRIPTOR.name
    if not isinstance(params, Mapping):
        raise _bad(where, "parameters must be a dict, got %r" % (params,))
    for key, value in params.items():
        if value is None:
            continue
        fd = field_for_key(message.DESCRIPTOR, key)
        if fd is None:
            raise _bad(where, "unknown parameter %r" % (key,))
        _set(message, fd, value, "%s.%s" % (where, key))
    return message


def _set(message, fd, value, where):
    if _is_map(fd):
        if not isinstance(value, Mapping):
            raise _bad(where, "expected a dict, got %r" % (value,))
        container = getattr(message, fd.name)
        value_fd = fd.message_type.fields_by_name["value"]
        key_fd = fd.message_type.fields_by_name["key"]
        for k, v in value.items():
            k = _scalar(key_fd, k, where)
            if value_fd.type == FieldDescriptor.TYPE_MESSAGE:
                _message(value_fd, container[k], v, "%s[%r]" % (where, k))
            else:
                container[k] = _scalar(value_fd, v, "%s[%r]" % (where, k))
    elif _is_repeated(fd):
        if not _is_list(value):
            raise _bad(where, "expected a list, got %r" % (value,))
        container = getattr(message, fd.name)
        for i, item in enumerate(value):
            if fd.type == FieldDescriptor.TYPE_MESSAGE:
                _message(fd, container.add(), item, "%s[%d]" % (where, i))
            else:
                container.append(_scalar(fd, item, "%s[%d]" % (where, i)))
    elif fd.type == FieldDescriptor.TYPE_MESSAGE:
        _message(fd, getattr(message, fd.name), value, where)
    else:
        setattr(message, fd.name, _scalar(fd, value, where))


def _integral(x):
    """Struct numbers are doubles; give back ints where JSON had ints."""
    if isinstance(x, float) and x.is_integer() and not math.isinf(x) and abs(x) < 2 ** 53:
        return int(x)
    if isinstance(x, dict):
        return {k: _integral(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_integral(v) for v in x]
    return x


def _single(fd, value, wrap):
    if fd.type == FieldDescriptor.TYPE_MESSAGE:
        if fd.message_type.full_name in _WELL_KNOWN_JSON:
            return _integral(json_format.MessageToDict(value))
        return wrap(value) if wrap else to_python(value)
    if fd.type == FieldDescriptor.TYPE_ENUM:
        v = fd.enum_type.values_by_number.get(value)
        return v.name if v is not None else value
    return value


def field_value(message, fd, wrap=None, defaults=False):
    """One field as Python: None when an optional field is unset (its default
    with defaults=True, as the generated message reads it); lists, dicts;
    sub-messages through wrap (default: as dicts)."""
    value = getattr(message, fd.name)
    if _is_map(fd):
        value_fd = fd.message_type.fields_by_name["value"]
        return {k: _single(value_fd, v, wrap) for k, v in value.items()}
    if _is_repeated(fd):
        return [_single(fd, v, wrap) for v in value]
    if not defaults and fd.has_presence and not message.HasField(fd.name):
        return None
    return _single(fd, value, wrap)


def to_python(message):
    """A message as a plain dict keyed by Files.com names (set fields only)."""
    return {json_key(fd): field_value(message, fd) for fd, _ in message.ListFields()}
