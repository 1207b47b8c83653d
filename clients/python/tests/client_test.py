#!/usr/bin/python3
"""The client layer without a server: every generated method walked through
client.<resource>.<action> over a fake channel, parameter mapping, models,
paging and call options.

    /usr/bin/python3 clients/python/tests/client_test.py --package build/clients/python/lib
"""
import argparse
import collections
import datetime
import sys
import unittest

import harness

ARGS = None


class FakeChannel:
    """Records unary calls; answers each from a queue of canned responses
    (default: the empty response), through the real (de)serializers."""

    def __init__(self):
        self.calls = []
        self.responses = collections.defaultdict(collections.deque)

    def unary_unary(self, path, request_serializer=None, response_deserializer=None, **_):
        def call(request, timeout=None, metadata=None, **kwargs):
            request_serializer(request)
            self.calls.append({"path": path, "request": request, "timeout": timeout,
                               "metadata": metadata, **kwargs})
            queued = self.responses[path]
            return response_deserializer(queued.popleft().SerializeToString() if queued else b"")
        return call

    def _unused(self, path, *args, **kwargs):
        return lambda *a, **k: None

    unary_stream = stream_unary = stream_stream = _unused

    def close(self):
        pass


def _sample(fd):
    """A value for a path parameter of this field's type."""
    from google.protobuf.descriptor import FieldDescriptor
    return 7 if fd.type == FieldDescriptor.TYPE_INT64 else "folder/name.txt"


class Base(unittest.TestCase):
    def setUp(self):
        import files_gateway
        from files_gateway import _api, errors
        self.fg, self.api, self.errors = files_gateway, _api, errors
        self.channel = FakeChannel()
        self.client = files_gateway.Client(self.channel, timeout=12.5, metadata=[("x-test", "1")])


class EveryMethod(Base):
    def test_every_sdk_method_is_an_action_that_reaches_its_rpc(self):
        from files_gateway.resources import ListObj
        from files_gateway.models import Model
        resources = self.api.resources()
        self.assertGreater(sum(len(a) for a in resources.values()), 400)
        for resource, actions in sorted(resources.items()):
            for action, method in sorted(actions.items()):
                with self.subTest(rpc=method.rpc_path):
                    args = [_sample(method.input_class.DESCRIPTOR.fields_by_name[p])
                            for p in method.path_params]
                    result = getattr(self.client.resource(resource), action)(*args)
                    call = self.channel.calls[-1]
                    self.assertEqual(call["path"], method.rpc_path)
                    self.assertEqual(call["timeout"], 12.5)
                    for p, v in zip(method.path_params, args):
                        self.assertEqual(getattr(call["request"], p), v)
                    out = method.output_class.DESCRIPTOR
                    if method.paginated:
                        self.assertIsInstance(result, ListObj)
                    elif out.full_name == "google.protobuf.Empty":
                        self.assertIsNone(result)
                    elif "items" in out.fields_by_name:
                        self.assertEqual(result, [])
                    else:
                        self.assertIsInstance(result, Model)
                        self.assertEqual(type(result).__name__, out.name)

    def test_every_resource_has_plural_and_singular_attributes(self):
        names = self.api.attribute_names()
        self.assertEqual(len(names), 2 * len(self.api.resources()), "two resources share a name")
        self.assertIs(self.client.users, self.client.user)
        self.assertEqual(self.client.api_keys.name, "ApiKey")
        self.assertEqual(self.client.histories.name, "History")
        self.assertEqual(self.client.sso_strategies.name, "SsoStrategy")
        self.assertEqual(self.client.ip_addresses.name, "IpAddress")
        self.assertEqual(self.client.resource("As2Partner").name, "As2Partner")
        self.assertIn("users", dir(self.client))
        with self.assertRaises(AttributeError):
            self.client.no_such_things
        with self.assertRaises(AttributeError):
            self.client.users.no_such_action

    def test_action_names_follow_the_sdk(self):
        self.assertIn("unlock", self.client.users.actions)
        self.assertIn("begin_upload", self.client.files.actions)
        self.assertIn("list_for", self.client.folders.actions)
        self.assertIn("find_current", self.client.api_keys.actions)


class Params(Base):
    def request(self, resource, action, *args, **kwargs):
        getattr(self.client.resource(resource), action)(*args, **kwargs)
        return self.channel.calls[-1]["request"]

    def test_list_params_maps_and_coercions(self):
        r = self.request("User", "list", {"sort_by": {"username": "asc"}, "per_page": "1000",
                                          "filter": {"disabled": True, "id": 5},
                                          "filter_prefix": {"username": "ab"}, "search": None})
        self.assertEqual(dict(r.sort_by), {"username": "asc"})
        self.assertEqual(r.per_page, 1000)
        self.assertEqual(dict(r.filter), {"disabled": "true", "id": "5"})
        self.assertEqual(dict(r.filter_prefix), {"username": "ab"})
        self.assertFalse(r.HasField("search"))

    def test_positional_path_params_and_params_dict(self):
        r = self.request("User", "update", 42, {"name": "A", "site_admin": "true"})
        self.assertEqual((r.id, r.name, r.site_admin), (42, "A", True))
        r = self.request("User", "update", 43, name="B")
        self.assertEqual((r.id, r.name), (43, "B"))
        r = self.request("User", "find", {"id": 44})
        self.assertEqual(r.id, 44)
        r = self.request("File", "begin_upload", "a/b.txt", {"mkdir_parents": True, "parts": 3})
        self.assertEqual((r.path, r.mkdir_parents, r.parts), ("a/b.txt", True, 3))
        with self.assertRaises(TypeError):
            self.client.users.find(1, {}, {})

    def test_struct_and_repeated_message_fields(self):
        r = self.request("File", "update", "a.txt",
                         {"custom_metadata": {"team": "ops", "n": 2, "tags": ["x", 1.5],
                                              "when": datetime.date(2026, 11, 29)}})
        from files_gateway import _convert
        self.assertEqual(_convert.to_python(r)["custom_metadata"],
                         {"team": "ops", "n": 2, "tags": ["x", 1.5], "when": "2026-11-29"})
        r = self.request("File", "create", "a.txt", {"etags": [{"etag": "e1", "part": 1},
                                                               {"etag": "e2", "part": "2"}]})
        self.assertEqual([(e.etag, e.part) for e in r.etags], [("e1", 1), ("e2", 2)])

    def test_bad_params_raise_invalid_parameter(self):
        e = self.errors
        with self.assertRaisesRegex(e.InvalidParameterError, "unknown parameter 'nope'"):
            self.client.users.list({"nope": 1})
        with self.assertRaisesRegex(e.InvalidParameterError, "per_page"):
            self.client.users.list({"per_page": "many"})
        with self.assertRaisesRegex(e.InvalidParameterError, "sort_by"):
            self.client.users.list({"sort_by": "username"})
        with self.assertRaises(e.InvalidParameterError):
            self.client.users.create({"site_admin": "maybe"})
        with self.assertRaises(e.InvalidParameterError):
            self.client.users.list({}, options={"deadline": 3})
        self.assertEqual(self.channel.calls, [])


class ModelsAndPaging(Base):
    def test_model_attributes_dicts_and_json_names(self):
        from files_gateway import _api
        file_pb2 = __import__(_api._GEN + ".files.v1.file_pb2", fromlist=["File"])
        msg = file_pb2.File(path="a/b.txt", size=3, subfolders_locked=False)
        msg.custom_metadata.update({"k": "v"})
        self.channel.responses["/files.v1.FileService/FindFile"].append(msg)
        f = self.client.files.find("a/b.txt")
        self.assertEqual(type(f).__name__, "File")
        self.assertEqual((f.path, f.size, f.subfolders_locked), ("a/b.txt", 3, False))
        # Unset fields read as the generated message reads them (typed: str);
        # get() and has() tell them apart.
        self.assertEqual(f.md5, "")
        self.assertIsNone(f.get("md5"))
        self.assertFalse(f.has("md5"))
        self.assertTrue(f.has("path"))
        self.assertEqual(f.custom_metadata, {"k": "v"})
        self.assertEqual(f.unmapped_fields, {})
        self.assertIs(f.to_proto().__class__, file_pb2.File)
        d = f.to_dict()
        self.assertIn("subfolders_locked?", d)  # the Files.com key
        self.assertEqual(f.get("subfolders_locked?"), False)
        self.assertNotIn("md5", d)
        with self.assertRaises(AttributeError):
            f.size = 4
        with self.assertRaises(AttributeError):
            f.no_such_field

    def test_model_classes_by_name_in_files_gateway_types(self):
        import files_gateway.types as types
        user_pb2 = __import__(self.api._GEN + ".files.v1.user_pb2", fromlist=["User"])
        self.channel.responses["/files.v1.UserService/FindUser"].append(
            user_pb2.User(id=3, username="t"))
        user = self.client.users.find(3)
        self.assertIsInstance(user, types.User)
        self.assertIs(type(user), types.User)
        self.assertIsNot(types.AsyncUser, types.User)
        self.assertEqual(types.File.DESCRIPTOR.full_name, "files.v1.File")
        with self.assertRaises(AttributeError):
            types.NoSuchModel

    def test_only_the_used_resources_modules_are_imported(self):
        # The action index finds client.users without importing every module.
        code = ("import sys; sys.path.insert(0, %r); import files_gateway; "
                "c = files_gateway.Client(None); c.users.find.build_request((1,)); "
                "c.files.find.build_request(('a',)); "
                "print(sorted(m.rsplit('.', 1)[1] for m in sys.modules "
                "if m.startswith('files_gateway._gen.files.v1.') and m.endswith('_pb2')))"
                % ARGS.package)
        import subprocess
        out = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                             check=True).stdout
        loaded = eval(out)  # a printed list of module names
        self.assertIn("user_pb2", loaded)
        self.assertIn("file_pb2", loaded)
        self.assertLess(len(loaded), 10, loaded)  # of 150

    def test_fields_named_like_python_attributes_stay_fields(self):
        mod = __import__(self.api._GEN + ".files.v1.agent_push_update_pb2", fromlist=["x"])
        model = self.fg.models.wrap(mod.AgentPushUpdate(message="hi"))
        self.assertEqual(model.message, "hi")

    def test_per_object_actions(self):
        user_pb2 = __import__(self.api._GEN + ".files.v1.user_pb2", fromlist=["User"])
        self.channel.responses["/files.v1.UserService/FindUser"].append(
            user_pb2.User(id=9, username="u"))
        user = self.client.users.find(9)
        self.assertIsNone(user.delete())
        self.assertEqual(self.channel.calls[-1]["path"], "/files.v1.UserService/DeleteUser")
        self.assertEqual(self.channel.calls[-1]["request"].id, 9)
        user.update({"name": "N"})
        request = self.channel.calls[-1]["request"]
        self.assertEqual((request.id, request.name), (9, "N"))

    def test_list_obj_pages_with_the_cursor(self):
        user_pb2 = __import__(self.api._GEN + ".files.v1.user_pb2", fromlist=["User"])
        path = "/files.v1.UserService/ListUsers"
        self.channel.responses[path].extend([
            user_pb2.ListUsersResponse(items=[user_pb2.User(id=1), user_pb2.User(id=2)],
                                       next_cursor="c1"),
            user_pb2.ListUsersResponse(items=[user_pb2.User(id=3)], next_cursor="c2"),
            user_pb2.ListUsersResponse(items=[user_pb2.User(id=4)])])
        page = self.client.users.list({"per_page": 2, "sort_by": {"id": "asc"}})
        self.assertEqual([u.id for u in page], [1, 2])
        self.assertEqual(len(page), 2)
        self.assertTrue(page.has_next_page)
        self.assertEqual([u.id for u in page.auto_paging_iter()], [1, 2, 3, 4])
        self.assertFalse(page.has_next_page)
        requests = [c["request"] for c in self.channel.calls]
        self.assertEqual([r.cursor for r in requests], ["", "c1", "c2"])
        self.assertTrue(all(r.per_page == 2 and dict(r.sort_by) == {"id": "asc"} for r in requests))

    def test_manual_paging(self):
        user_pb2 = __import__(self.api._GEN + ".files.v1.user_pb2", fromlist=["User"])
        path = "/files.v1.UserService/ListUsers"
        self.channel.responses[path].extend([
            user_pb2.ListUsersResponse(items=[user_pb2.User(id=1)], next_cursor="c1"),
            user_pb2.ListUsersResponse(items=[user_pb2.User(id=2)])])
        page = self.client.users.list()
        self.assertIs(page.load_next_page(), page)
        self.assertEqual([u.id for u in page], [2])
        self.assertFalse(page.has_next_page)


class CallOptions(Base):
    def test_default_deadline_metadata_and_overrides(self):
        self.client.users.find(1)
        call = self.channel.calls[-1]
        self.assertEqual(call["timeout"], 12.5)
        self.assertEqual(tuple(call["metadata"]), (("x-test", "1"),))
        self.client.users.find(1, options={"timeout": 2, "metadata": [("x-more", "2")],
                                           "wait_for_ready": True})
        call = self.channel.calls[-1]
        self.assertEqual(call["timeout"], 2)
        self.assertEqual(tuple(call["metadata"]), (("x-test", "1"), ("x-more", "2")))
        self.assertTrue(call["wait_for_ready"])

    def test_workspace_and_language_go_out_as_metadata(self):
        self.client.users.find(1, options={"workspace_id": 7, "language": "de"})
        self.assertEqual(tuple(self.channel.calls[-1]["metadata"]),
                         (("x-test", "1"), ("x-files-workspace-id", "7"),
                          ("x-files-language", "de")))
        self.client.users.find(1, options={"api_key": "k-1", "session_id": 42})
        self.assertEqual(tuple(self.channel.calls[-1]["metadata"]),
                         (("x-test", "1"), ("x-files-api-key", "k-1"),
                          ("x-files-session-id", "42")))
        calls = len(self.channel.calls)
        for bad in ({"workspace_id": "seven"}, {"workspace_id": True}, {"language": ""},
                    {"language": "de\nX-Evil: 1"}, {"api_key": ""}, {"session_id": "a\nb"}):
            with self.assertRaises(self.fg.errors.InvalidParameterError, msg=bad):
                self.client.users.find(1, options=bad)
        self.assertEqual(len(self.channel.calls), calls)  # the refused ones sent nothing
        with self.assertRaises(self.fg.errors.InvalidParameterError) as cm:
            self.client.users.find(1, options={"api_key": "secret\n"})
        self.assertNotIn("secret", str(cm.exception))

    def test_a_request_message_is_accepted_as_params(self):
        user_pb2 = __import__(self.api._GEN + ".files.v1.user_pb2", fromlist=["x"])
        self.client.users.create(user_pb2.CreateUserRequest(username="typed"))
        self.assertEqual(self.channel.calls[-1]["request"].username, "typed")
        self.client.users.update(5, user_pb2.UpdateUserRequest(name="N"))
        request = self.channel.calls[-1]["request"]
        self.assertEqual((request.id, request.name), (5, "N"))

    def test_transfer_service_stub(self):
        self.assertTrue(callable(self.client.transfer_service.StartResumableUpload))

    def test_connect_sends_the_token_as_bearer_metadata(self):
        client = self.fg.connect("127.0.0.1:1", token="s3cret", timeout=3, keepalive_time=60)
        try:
            self.assertIn(("authorization", "Bearer s3cret"), client.metadata)
            self.assertEqual(client.timeout, 3)
            self.assertIsNone(client.transfer_timeout)
        finally:
            client.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--package", required=True)
    ARGS, rest = parser.parse_known_args()
    harness.add_package_path(ARGS.package)
    unittest.main(argv=[sys.argv[0]] + rest)
