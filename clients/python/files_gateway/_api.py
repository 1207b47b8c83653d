"""The API surface: every SDK action, found through the generated index.

Every files.v1 service method that carries a (files.v1.sdk) option is an SDK
action: resource "User", action "list", with its request and response
classes, the request fields its REST path names ("/users/{id}" -> id) and
whether it pages. typegen.py writes that list to files_gateway._gen.index at
build time, so finding client.users costs a dict lookup; a resource's
generated modules are imported the first time one of its actions is used
(importing all 150 at once cost 0.25 s of CPU). Nothing here is written per
resource; a new resource in the protos is a new attribute on the client.
"""
import importlib
import threading

try:
    from files_gateway._gen import index as _index
except ImportError as _e:  # pragma: no cover - a source checkout without generated stubs
    raise ImportError(
        "files_gateway: the generated protobuf modules (files_gateway._gen) are missing. "
        "Install the package (pip install --no-build-isolation clients/python) or run "
        "clients/python/stubgen.py --out clients/python/files_gateway/_gen") from _e

__all__ = ["Method", "resources", "resource_for_attribute", "attribute_names", "message_class",
           "gen_module"]

_GEN = "files_gateway._gen"


def gen_module(name):
    """A generated module by its name under files_gateway._gen, e.g.
    "files.v1.transfer_pb2" (imported on first use)."""
    return importlib.import_module(_GEN + "." + name)


class Method:
    """One RPC as an SDK action. The generated classes load on first use."""

    __slots__ = ("resource", "action", "service", "name", "rpc_path", "path_params",
                 "paginated", "http_method", "http_path", "_module", "_loaded")

    def __init__(self, resource, action, record):
        self.resource = resource
        self.action = action
        self._module = record["module"]
        self.service = "files.v1." + record["service"]
        self.name = record["method"]
        self.rpc_path = "/%s/%s" % (self.service, self.name)
        self.path_params = tuple(record["path_params"])
        self.paginated = record["paginated"]
        self.http_method = record["http_method"]
        self.http_path = record["http_path"]
        self._loaded = None

    def _load(self):
        loaded = self._loaded
        if loaded is None:
            module = gen_module("files.v1." + self._module)
            method = module.DESCRIPTOR.services_by_name[self.service.rsplit(".", 1)[1]] \
                .methods_by_name[self.name]
            grpc_module = gen_module("files.v1." + self._module + "_grpc")
            loaded = (message_class(method.input_type), message_class(method.output_type),
                      getattr(grpc_module, method.containing_service.name + "Stub"))
            self._loaded = loaded
        return loaded

    @property
    def input_class(self):
        return self._load()[0]

    @property
    def output_class(self):
        return self._load()[1]

    @property
    def stub_class(self):
        return self._load()[2]

    def __repr__(self):
        return "<Method %s.%s -> %s %s>" % (self.resource, self.action, self.http_method,
                                           self.http_path)


def _module_for_file(file_name):
    """'files/v1/user.proto' -> files_gateway._gen.files.v1.user_pb2 (imported)."""
    stem = file_name[:-len(".proto")].replace("/", ".") + "_pb2"
    if file_name.startswith("google/protobuf/"):
        return importlib.import_module(stem)
    return gen_module(stem)


def message_class(descriptor):
    """The generated class of a message descriptor (nested ones included)."""
    obj = _module_for_file(descriptor.file.name)
    package = descriptor.file.package
    name = descriptor.full_name[len(package) + 1:] if package else descriptor.full_name
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def model_descriptor(name):
    """The message descriptor of a model by its files_gateway.types name
    ("User", "Outer_Inner"), or None."""
    where = _index.MODELS.get(name)
    if where is None:
        return None
    obj = gen_module("files.v1." + where[0]).DESCRIPTOR
    for part in where[1].split(".")[2:]:
        obj = (obj.message_types_by_name if hasattr(obj, "message_types_by_name")
               else obj.nested_types_by_name)[part]
    return obj


_methods: dict = {}
_lock = threading.Lock()


def _resource(name):
    methods = _methods.get(name)
    if methods is None:
        record = _index.RESOURCES.get(name)
        if record is None:
            return None
        with _lock:
            methods = _methods.get(name)
            if methods is None:
                methods = {a: Method(name, a, r) for a, r in record.items()}
                _methods[name] = methods
    return methods


class _Resources:
    """{"User": {"list": Method, ...}, ...}, built per resource as it is asked for."""

    def get(self, name, default=None):
        methods = _resource(name)
        return default if methods is None else methods

    def __getitem__(self, name):
        methods = _resource(name)
        if methods is None:
            raise KeyError(name)
        return methods

    def __contains__(self, name):
        return name in _index.RESOURCES

    def __iter__(self):
        return iter(_index.RESOURCES)

    def __len__(self):
        return len(_index.RESOURCES)

    def keys(self):
        return _index.RESOURCES.keys()

    def items(self):
        return ((name, self[name]) for name in _index.RESOURCES)

    def values(self):
        return (self[name] for name in _index.RESOURCES)


_RESOURCES = _Resources()


def resources():
    """{"User": {"list": Method, "find": Method, ...}, ...} for every SDK resource."""
    return _RESOURCES


def resource_for_attribute(name):
    """The SDK resource name behind a client attribute ("users", "user" or "User"), or None."""
    if name in _index.RESOURCES:
        return name
    return _index.ATTRIBUTES.get(name)


def attribute_names():
    """Every client attribute that names a resource."""
    return sorted(_index.ATTRIBUTES)


# The few hand-written modules other parts of the package need, loaded lazily.
def __getattr__(name):
    mapping = {"error_catalog_pb2": "files.v1.error_catalog_pb2",
               "options_pb2": "files.v1.options_pb2", "transfer_pb2": "files.v1.transfer_pb2",
               "transfer_pb2_grpc": "files.v1.transfer_pb2_grpc",
               "status_pb2": "google.rpc.status_pb2",
               "error_details_pb2": "google.rpc.error_details_pb2"}
    if name in mapping:
        return gen_module(mapping[name])
    raise AttributeError(name)
