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
from collections.abc import Mapping as _MappingABC
from typing import (Any, AsyncIterator, Generic, Iterator, List, Mapping, Optional, Sequence,
                    Tuple, TypeVar, Union)

from files_gateway import _convert, models
from files_gateway.errors import InvalidParameterError

__all__ = ["Resource", "Action", "ListObj", "AsyncResource", "AsyncAction", "AsyncListObj",
           "Params", "CallOptions"]

try:  # Python 3.8+
    from typing import TypedDict
except ImportError:  # pragma: no cover
    TypedDict = dict  # type: ignore


class CallOptionsDict(TypedDict, total=False):
    """Per-call options (every action, transfer and resumable-upload call).

    timeout: deadline in seconds (None: none); metadata: extra (key, value)
    gRPC metadata; wait_for_ready: wait for the gateway within the deadline;
    workspace_id: the Files.com workspace to act in (sent as
    x-files-workspace-id, forwarded as X-Files-Workspace-Id); language: the
    language of Files.com's messages (x-files-language, forwarded as
    Accept-Language); api_key / session_id: a Files.com credential of the
    caller's own for this call (x-files-api-key / x-files-session-id; the
    gateway uses it only where its profile allows caller credentials)."""
    timeout: Optional[float]
    metadata: Sequence[Tuple[str, str]]
    wait_for_ready: bool
    workspace_id: int
    language: str
    api_key: str
    session_id: Union[str, int]


Params = Optional[Union[Mapping[str, Any], Any]]
"""An action's params: a dict of Files.com keys, or the request message itself."""
CallOptions = Optional[CallOptionsDict]

T = TypeVar("T")


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
        if len(args) == n + 1 or (args and len(args) <= n and _is_params(args[-1], m)):
            if params is not None:
                raise TypeError("%s: params given twice" % where)
            params = args.pop()
        if len(args) > n:
            raise TypeError("%s takes %d positional argument%s (%s) and a params dict" % (
                where, n, "" if n == 1 else "s", ", ".join(m.path_params) or "none"))
        if params is not None and _is_request(params, m):
            request = m.input_class()
            request.CopyFrom(params)
            if kw_params or args:
                _convert.fill(request, dict(kw_params or {}, **dict(zip(m.path_params, args))),
                              where)
            return request
        if params is not None and not isinstance(params, _MappingABC):
            raise InvalidParameterError("%s: params must be a dict or a %s, got %r" % (
                where, m.input_class.DESCRIPTOR.name, params))
        values = dict(params or {})
        values.update(kw_params or {})
        values.update(zip(m.path_params, args))
        return _convert.fill(m.input_class(), values, where)

    def __repr__(self):
        return "<Action %s>" % self.__doc__


def _is_request(value, method):
    desc = getattr(value, "DESCRIPTOR", None)
    return desc is not None and desc.full_name == method.input_class.DESCRIPTOR.full_name


def _is_params(value, method):
    return isinstance(value, _MappingABC) or _is_request(value, method)


_RESULT_KIND = {}  # response descriptor -> "empty", "items" or "model"


def _result_kind(desc):
    if desc.full_name == "google.protobuf.Empty":
        return "empty"
    names = set(desc.fields_by_name)
    if "items" in names and names <= {"items", "next_cursor"}:
        return "items"
    return "model"


def _result(client, response):
    desc = response.DESCRIPTOR
    kind = _RESULT_KIND.get(desc)
    if kind is None:
        kind = _RESULT_KIND.setdefault(desc, _result_kind(desc))
    if kind == "empty":
        return None
    if kind == "items":
        return [models.wrap(item, client) for item in response.items]
    return models.wrap(response, client)


class ListObj(Generic[T]):
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

    data: List[T]

    @property
    def has_next_page(self) -> bool:
        return self.cursor is not None

    def load_next_page(self) -> "ListObj[T]":
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

    def auto_paging_iter(self) -> Iterator[T]:
        """Every item of every page, from the current page on."""
        while True:
            for item in self.data:
                yield item
            if not self.has_next_page:
                return
            self.load_next_page()

    def __iter__(self) -> Iterator[T]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int) -> T:
        return self.data[i]

    def __repr__(self):
        return "<ListObj %s.%s: %d on this page%s>" % (
            self.method.resource, self.method.action, len(self.data),
            ", more" if self.has_next_page else "")


class AsyncResource(Resource):
    """One Files.com resource of the asyncio client: every action is a coroutine
    (list actions answer an AsyncListObj once the first page is in)."""

    def __getattr__(self, action):
        if action.startswith("_"):
            raise AttributeError(action)
        bound = self._actions.get(action)
        if bound is None:
            method = self._methods.get(action)
            if method is None:
                raise AttributeError("%s has no action %r (it has: %s)" % (
                    self.name, action, ", ".join(self.actions)))
            bound = self._actions.setdefault(action, AsyncAction(self._client, method))
        return bound


class AsyncAction(Action):
    """One SDK action of the asyncio client: calling it returns a coroutine."""

    async def __call__(self, *args, params=None, options=None, **kw_params):
        request = self.build_request(args, params, kw_params)
        if self.method.paginated:
            page = AsyncListObj(self._client, self.method, request, options)
            return await page.load_next_page()
        response = await self._client._unary(self.method, request, options)
        return _result(self._client, response)


class AsyncListObj(Generic[T]):
    """One page of a list action of the asyncio client:

        page = await client.users.list({"per_page": 100})
        async for user in page.auto_paging_iter():
            ...
    """

    def __init__(self, client, method, request, options=None):
        self._client = client
        self.method = method
        self.request = request
        self.options = options
        self.data: List[T] = []
        self.cursor = None
        self._started = False

    @property
    def has_next_page(self) -> bool:
        return self.cursor is not None

    async def load_next_page(self) -> "AsyncListObj[T]":
        """Replaces data with the next page (the first one on the first call)."""
        request = self.request
        if self._started:
            if self.cursor is None:
                self.data = []
                return self
            request = type(self.request)()
            request.CopyFrom(self.request)
            request.cursor = self.cursor
        self._started = True
        response = await self._client._unary(self.method, request, self.options)
        self.data = [models.wrap(item, self._client) for item in response.items]
        self.cursor = response.next_cursor or None
        return self

    async def auto_paging_iter(self) -> AsyncIterator[T]:
        """Every item of every page, from the current page on."""
        while True:
            for item in self.data:
                yield item
            if not self.has_next_page:
                return
            await self.load_next_page()

    def __aiter__(self) -> AsyncIterator[T]:
        return self.auto_paging_iter()

    def __iter__(self) -> Iterator[T]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int) -> T:
        return self.data[i]

    def __repr__(self):
        return "<AsyncListObj %s.%s: %d on this page%s>" % (
            self.method.resource, self.method.action, len(self.data),
            ", more" if self.has_next_page else "")
