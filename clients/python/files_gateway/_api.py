"""The API surface, read from the generated descriptors at run time.

Every files.v1 service method that carries a (files.v1.sdk) option becomes an
SDK action: resource "User", action "list", with its request and response
classes, the request fields its REST path names ("/users/{id}" -> id) and
whether it pages. Nothing here is written per resource; a new resource in the
protos is a new attribute on the client.
"""
import importlib
import pkgutil
import re
import threading

try:
    from files_gateway._gen.files import v1 as _v1
    from files_gateway._gen.files.v1 import (error_catalog_pb2, options_pb2, transfer_pb2,
                                             transfer_pb2_grpc)
    from files_gateway._gen.google.rpc import error_details_pb2, status_pb2
except ImportError as _e:  # pragma: no cover - a source checkout without generated stubs
    raise ImportError(
        "files_gateway: the generated protobuf modules (files_gateway._gen) are missing. "
        "Install the package (pip install --no-build-isolation clients/python) or run "
        "clients/python/stubgen.py --out clients/python/files_gateway/_gen") from _e

__all__ = ["Method", "resources", "resource_for_attribute", "attribute_names", "message_class",
           "error_catalog_pb2", "options_pb2", "transfer_pb2", "transfer_pb2_grpc",
           "status_pb2", "error_details_pb2"]

_GEN = "files_gateway._gen"
_PATH_PARAM = re.compile(r"\{(\w+)\}")


class Method:
    """One RPC as an SDK action."""

    __slots__ = ("resource", "action", "service", "name", "rpc_path", "input_class",
                 "output_class", "path_params", "paginated", "http_method", "http_path",
                 "stub_class")

    def __init__(self, service, method, sdk, rest, stub_class):
        self.resource = sdk.resource
        self.action = sdk.action
        self.service = service.full_name
        self.name = method.name
        self.rpc_path = "/%s/%s" % (service.full_name, method.name)
        self.input_class = message_class(method.input_type)
        self.output_class = message_class(method.output_type)
        self.path_params = tuple(_PATH_PARAM.findall(rest.path))
        self.paginated = sdk.paginated
        self.http_method = rest.method
        self.http_path = rest.path
        self.stub_class = stub_class

    def __repr__(self):
        return "<Method %s.%s -> %s %s>" % (self.resource, self.action, self.http_method,
                                           self.http_path)


def _module_for_file(file_name):
    """'files/v1/user.proto' -> files_gateway._gen.files.v1.user_pb2 (imported)."""
    stem = file_name[:-len(".proto")].replace("/", ".") + "_pb2"
    if file_name.startswith("google/protobuf/"):
        return importlib.import_module(stem)
    return importlib.import_module(_GEN + "." + stem)


def message_class(descriptor):
    """The generated class of a message descriptor (nested ones included)."""
    obj = _module_for_file(descriptor.file.name)
    package = descriptor.file.package
    name = descriptor.full_name[len(package) + 1:] if package else descriptor.full_name
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def snake_case(name):
    """'As2Partner' -> 'as2_partner', 'InboundS3Log' -> 'inbound_s3_log'."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def plural(word):
    """English plural of a snake_case noun, enough for the Files.com resources."""
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    if re.search(r"(s|x|z|ch|sh)$", word):
        return word + "es"
    return word + "s"


class _Index:
    def __init__(self):
        self.resources = {}   # "User" -> {"list": Method, ...}
        self.attributes = {}  # "users" / "user" -> "User"
        for info in pkgutil.iter_modules(_v1.__path__):
            if not info.name.endswith("_pb2"):
                continue
            module = importlib.import_module("%s.files.v1.%s" % (_GEN, info.name))
            grpc_module = None
            for service in module.DESCRIPTOR.services_by_name.values():
                for method in service.methods:
                    opts = method.GetOptions()
                    if not opts.HasExtension(options_pb2.sdk):
                        continue  # hand-written services (TransferService) have their own API
                    if grpc_module is None:
                        grpc_module = importlib.import_module(module.__name__ + "_grpc")
                    m = Method(service, method, opts.Extensions[options_pb2.sdk],
                               opts.Extensions[options_pb2.rest],
                               getattr(grpc_module, service.name + "Stub"))
                    self.resources.setdefault(m.resource, {})[m.action] = m
        taken = {}
        for resource in self.resources:
            single = snake_case(resource)
            for attr in (plural(single), single):
                taken.setdefault(attr, set()).add(resource)
        # A name two resources could claim belongs to neither.
        self.attributes = {a: r.pop() for a, r in taken.items() if len(r) == 1}


_index = None
_lock = threading.Lock()


def _get():
    global _index
    if _index is None:
        with _lock:
            if _index is None:
                _index = _Index()
    return _index


def resources():
    """{"User": {"list": Method, "find": Method, ...}, ...} for every SDK resource."""
    return _get().resources


def resource_for_attribute(name):
    """The SDK resource name behind a client attribute ("users", "user" or "User"), or None."""
    index = _get()
    if name in index.resources:
        return name
    return index.attributes.get(name)


def attribute_names():
    """Every client attribute that names a resource, plural form first."""
    return sorted(index_attr for index_attr in _get().attributes)
