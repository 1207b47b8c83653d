"""SDK-shaped resource access: client.users.list(...), client.files.begin_upload(path, ...).

Each Resource is one (files.v1.sdk) resource and each attribute of it one
action, both read from the descriptors (see _api). An action takes the
request fields its REST path names positionally (id, path, user_id, ...),
then an optional params dict, an optional options dict (timeout, metadata,
wait_for_ready) and keyword params:

    client.users.update(42, {"name": "Alice"})
    client.users.update(42, name="Alice", options={"timeout": 5})

It returns a ListObj for paginated actions, a list of Models for actions that
answer a bare list, None for actions that answer nothing, else a Model.
"""
from collections.abc import Mapping

from files_gateway import _convert, models
from files_gateway.errors import InvalidParameterError

__all__ = ["Resource", "Action", "ListObj"]


class Resource:
    """One Files.com resource (an SDK class such as User)."""

    def __init__(self, client, name, methods):
        self._client = client
        self.name = name
        self._methods = methods
        self._actions = {}

    @property
    def actions(self):
        """The SDK action names, e.g. ['create', 'delete', 'find', 'list', ...]."""
        return sorted(self._methods)

    def __getattr__(self, action):
        if action.startswith("_"):
            raise AttributeError(action)
        bound = self._actions.get(action)
        if bound is None:
            method = self._methods.get(action)
            if method is None:
                raise AttributeError("%s has no action %r (it has: %s)" % (
                    self.name, action, ", ".join(self.actions)))
            bound = self._actions.setdefault(action, Action(self._client, method))
        return bound

    def __dir__(self):
        return sorted(set(object.__dir__(self)) | set(self._methods))

    def __repr__(self):
        return "<Resource %s: %s>" % (self.name, ", ".join(self.actions))


class Action:
    """One SDK action, callable."""

    def __init__(self, client, method):
        self._client = client
        self.method = method
        self.__name__ = method.action
        args = "".join("%s, " % p for p in method.path_params)
        self.__doc__ = "%s.%s(%sparams=None, options=None, **params): %s %s -> %s" % (
            method.resource, method.action, args, method.http_method, method.http_path,
            "ListObj" if method.paginated else method.output_class.DESCRIPTOR.name)

    def __call__(self, *args, params=None, options=None, **kw_params):
        request = self.build_request(args, params, kw_params)
        if self.method.paginated:
            return ListObj(self._client, self.method, request, options)
        response = self._client._unary(self.method, request, options)
        return _result(self._client, response)

    def build_request(self, args, params=None, kw_params=None):
        """The request message for these arguments (without sending it)."""
        m = self.method
        where = "%s.%s" % (m.resource, m.action)
        args = list(args)
        n = len(m.path_params)
        if len(args) == n + 1 or (args and len(args) <= n and isinstance(args[-1], Mapping)):
            if params is not None:
                raise TypeError("%s: params given twice" % where)
            params = args.pop()
        if len(args) > n:
            raise TypeError("%s takes %d positional argument%s (%s) and a params dict" % (
                where, n, "" if n == 1 else "s", ", ".join(m.path_params) or "none"))
        if params is not None and not isinstance(params, Mapping):
            raise InvalidParameterError("%s: params must be a dict, got %r" % (where, params))
        values = dict(params or {})
        values.update(kw_params or {})
        values.update(zip(m.path_params, args))
        return _convert.fill(m.input_class(), values, where)

    def __repr__(self):
        return "<Action %s>" % self.__doc__


def _result(client, response):
    desc = response.DESCRIPTOR
    if desc.full_name == "google.protobuf.Empty":
        return None
    names = set(desc.fields_by_name)
    if "items" in names and names <= {"items", "next_cursor"}:
        return [models.wrap(item, client) for item in response.items]
    return models.wrap(response, client)


class ListObj:
    """One page of a list action, with the SDK's paging interface.

    Iterating a ListObj (or len()) covers the current page only;
    auto_paging_iter() walks every page, loading the next one as it goes.
    """

    def __init__(self, client, method, request, options=None):
        self._client = client
        self.method = method
        self.request = request
        self.options = options
        self.data = []
        self.cursor = None
        self.load_next_page()

    @property
    def has_next_page(self):
        return self.cursor is not None

    def load_next_page(self):
        """Replaces data with the next page (the first one on the first call)."""
        request = self.request
        if self.cursor is not None:
            request = type(self.request)()
            request.CopyFrom(self.request)
            request.cursor = self.cursor
        response = self._client._unary(self.method, request, self.options)
        self.data = [models.wrap(item, self._client) for item in response.items]
        self.cursor = response.next_cursor or None
        return self

    def auto_paging_iter(self):
        """Every item of every page, from the current page on."""
        while True:
            for item in self.data:
                yield item
            if not self.has_next_page:
                return
            self.load_next_page()

    def __iter__(self):
        return iter(self.data)

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        return self.data[i]

    def __repr__(self):
        return "<ListObj %s.%s: %d on this page%s>" % (
            self.method.resource, self.method.action, len(self.data),
            ", more" if self.has_next_page else "")
