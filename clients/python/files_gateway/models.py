"""Results as objects with attribute access, like the Files.com SDK's models.

A Model wraps one response message: user.username, user.to_dict(). Fields
read as the generated message reads them (an unset field is its type's
default: "", 0, False, an empty model), so a type checker can promise
`user.username` is a str; get(key) and has(key) tell an unset field apart.
Nested messages are Models, repeated fields lists, maps and
google.protobuf.Struct fields dicts. unmapped_fields holds the keys Files.com
sent that the gateway's protos do not know yet (a dict, empty when none). The class of each model
is made once per message type (type(user).__name__ == "User"), and a model
whose message is an SDK resource has that resource's per-object actions:
user.update({...}), user.delete(), user.unlock() fill in the id (or path)
from the object itself.
"""
import threading

from typing import TYPE_CHECKING, Any, Dict

from files_gateway import _api, _convert

__all__ = ["Model", "model_class", "wrap", "class_by_name"]


class Model:
    """One Files.com object; to_proto() gives the underlying protobuf message.

    Every attribute that is not a method below is a field (or a per-object
    action), so Files.com fields named "message" or "name" read as such."""

    __slots__ = ("_message", "_client")
    DESCRIPTOR = None  # set on each generated subclass

    def __init__(self, message, client=None):
        object.__setattr__(self, "_message", message)
        object.__setattr__(self, "_client", client)

    def to_proto(self) -> Any:
        """The protobuf message this object wraps (its generated class)."""
        return self._message

    @property
    def unmapped_fields(self) -> Dict[str, Any]:
        """The keys Files.com sent that the gateway's protos do not know yet (or
        whose value did not fit the field's type), as a dict; {} when none."""
        fd = self._message.DESCRIPTOR.fields_by_name.get("unmapped_fields")
        if fd is None:
            return {}
        return _convert.field_value(self._message, fd) or {}

    if not TYPE_CHECKING:  # type checkers see the generated classes' fields instead
        def __getattr__(self, name):
            if name.startswith("__"):
                raise AttributeError(name)
            fd = _convert.field_for_key(self._message.DESCRIPTOR, name)
            if fd is not None:
                return _convert.field_value(self._message, fd, self._wrap, defaults=True)
            action = self._action(name)
            if action is not None:
                return action
            raise AttributeError("%s has no attribute %r" % (type(self).__name__, name))

    def __setattr__(self, name, value):
        raise AttributeError("%s objects are read-only; use update()" % type(self).__name__)

    def _wrap(self, message):
        return wrap(message, self._client)

    def _action(self, name):
        """A per-object action: the resource's action with its path params taken from self."""
        if self._client is None:
            return None
        methods = _api.resources().get(self._message.DESCRIPTOR.name, {})
        method = methods.get(name)
        if method is None or not method.path_params:
            return None
        values = []
        for p in method.path_params:
            fd = _convert.field_for_key(self._message.DESCRIPTOR, p)
            if fd is None:
                return None
            values.append(_convert.field_value(self._message, fd))
        resource = self._client.resource(method.resource)

        def bound(params=None, options=None, **kw_params):
            return getattr(resource, name)(*values, params=params, options=options, **kw_params)
        bound.__name__ = name
        bound.__doc__ = "%s.%s for this object (%s %s)" % (method.resource, name,
                                                           method.http_method, method.http_path)
        return bound

    def has(self, key: str) -> bool:
        """True when Files.com sent this field (a set optional field, a non-empty
        list or map)."""
        fd = _convert.field_for_key(self._message.DESCRIPTOR, key)
        if fd is None:
            return False
        return _convert.field_value(self._message, fd) not in (None, [], {})

    def get(self, key: str, default: Any = None) -> Any:
        """A field by its Files.com key, or default when unset."""
        fd = _convert.field_for_key(self._message.DESCRIPTOR, key)
        if fd is None:
            return default
        value = _convert.field_value(self._message, fd, self._wrap)
        return default if value is None else value

    def to_dict(self) -> Dict[str, Any]:
        """The object as a plain dict keyed by Files.com names (set fields only)."""
        return _convert.to_python(self._message)

    def __dir__(self):
        return sorted(set(object.__dir__(self)) |
                      {fd.name for fd in self._message.DESCRIPTOR.fields})

    def __eq__(self, other):
        return isinstance(other, Model) and self._message == other._message

    def __hash__(self):
        return hash(self._message.SerializeToString(deterministic=True))

    def __repr__(self):
        d = self.to_dict()
        keys = [k for k in ("id", "path", "username", "name") if k in d] or list(d)[:3]
        return "<%s %s>" % (type(self).__name__, " ".join("%s=%r" % (k, d[k]) for k in keys))


_classes: dict = {}
_lock = threading.Lock()


def model_class(descriptor, is_async=False):
    """The Model subclass for a message type, named like it (files_gateway.types
    names the asyncio client's AsyncUser beside User)."""
    key = (descriptor.full_name, bool(is_async))
    cls = _classes.get(key)
    if cls is None:
        with _lock:
            cls = _classes.get(key)
            if cls is None:
                name = descriptor.full_name[len(descriptor.file.package) + 1:].replace(".", "_")
                cls = type(name, (Model,), {
                    "__slots__": (), "__module__": "files_gateway.types",
                    "__qualname__": ("Async" if is_async else "") + name,
                    "DESCRIPTOR": descriptor,
                    "__doc__": "Files.com %s (%s)." % (descriptor.name, descriptor.full_name)})
                _classes[key] = cls
    return cls


def class_by_name(name):
    """files_gateway.types.<name>: "User" or "AsyncUser" -> its Model class, or None."""
    is_async = name.startswith("Async") and name[5:6].isupper()
    base = name[5:] if is_async else name
    desc = _api.model_descriptor(base)
    return None if desc is None else model_class(desc, is_async)


def wrap(message, client=None):
    """A message as its Model."""
    return model_class(message.DESCRIPTOR, getattr(client, "is_async", False))(message, client)
