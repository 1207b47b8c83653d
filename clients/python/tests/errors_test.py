#!/usr/bin/python3
"""The error class tree (built from error_catalog.proto) and the translation
of rich gRPC statuses into it, with hand-made statuses: no server needed.

    /usr/bin/python3 clients/python/tests/errors_test.py --package build/clients/python/lib
"""
import argparse
import pickle
import sys
import unittest

import harness

ARGS = None


class FakeRpcError(Exception):
    """What grpc raises: an RpcError that is also a Call (mixed in with
    grpc.RpcError by FromRpcError.rpc_error once grpc is importable)."""

    def __init__(self, code, details, status=None):
        super().__init__(details)
        self._code, self._details = code, details
        self._trailers = (("grpc-status-details-bin", status.SerializeToString()),) \
            if status is not None else ()

    def code(self):
        return self._code

    def details(self):
        return self._details

    def trailing_metadata(self):
        return self._trailers


def rich_status(code, message, reason, domain, metadata=None, retry_seconds=None,
                files_error=None):
    from files_gateway import _api
    status = _api.status_pb2.Status(code=code.value[0], message=message)
    info = _api.error_details_pb2.ErrorInfo(reason=reason, domain=domain, metadata=metadata or {})
    status.details.add().Pack(info)
    if retry_seconds is not None:
        retry = _api.error_details_pb2.RetryInfo()
        retry.retry_delay.FromNanoseconds(int(retry_seconds * 1e9))
        status.details.add().Pack(retry)
    if files_error is not None:
        status.details.add().Pack(files_error)
    return status


class ClassTree(unittest.TestCase):
    def setUp(self):
        from files_gateway import _api, errors
        self.errors, self.api = errors, _api

    def test_the_sdk_example_chain(self):
        e = self.errors
        mro = e.FolderAdminPermissionRequiredError.__mro__
        self.assertEqual([c.__name__ for c in mro[:4]],
                         ["FolderAdminPermissionRequiredError", "NotAuthorizedError", "APIError",
                          "Error"])
        self.assertTrue(issubclass(e.Error, Exception))

    def test_every_catalogue_entry_has_its_class_under_its_group(self):
        catalog = self.api.error_catalog_pb2
        opt = self.api.options_pb2.error
        seen = 0
        for enum, prefix in ((catalog.ErrorGroup, "ERROR_GROUP_"),
                             (catalog.ErrorType, "ERROR_TYPE_")):
            for value in enum.DESCRIPTOR.values:
                if not value.GetOptions().HasExtension(opt):
                    continue
                info = value.GetOptions().Extensions[opt]
                with self.subTest(type=info.type):
                    cls = getattr(self.errors, info.class_name)
                    self.assertIs(self.errors.class_for_type(info.type), cls)
                    parent = (getattr(self.errors, info.group) if info.group
                              else self.errors.APIError)
                    self.assertIs(cls.__bases__[0], parent)
                    self.assertEqual(cls.files_type, info.type)
                    self.assertEqual(cls.catalog_reason, value.name[len(prefix):])
                    self.assertEqual(cls.__module__, "files_gateway.errors")
                    self.assertIn(info.class_name, self.errors.__all__)
                    seen += 1
        self.assertGreater(seen, 200)

    def test_groups_and_non_files_com_classes(self):
        e = self.errors
        for group in ("BadRequestError", "NotAuthenticatedError", "NotAuthorizedError",
                      "NotFoundError", "ProcessingFailureError", "RateLimitedError",
                      "ServiceUnavailableError", "SiteConfigurationError"):
            self.assertIs(getattr(e, group).__bases__[0], e.APIError, group)
        self.assertTrue(issubclass(e.DeadlineExceededError, e.APIConnectionError))
        self.assertTrue(issubclass(e.DataLossError, e.GatewayError))
        self.assertTrue(issubclass(e.InvalidParameterError, e.InvalidRequestError))
        self.assertFalse(issubclass(e.APIConnectionError, e.APIError))

    def test_unknown_leaf_falls_back_to_its_group(self):
        e = self.errors
        self.assertIs(e.class_for_type("not-found/brand-new-thing"), e.NotFoundError)
        self.assertIs(e.class_for_type("whatever/else", "NotAuthorizedError"), e.NotAuthorizedError)
        self.assertIs(e.class_for_type("whatever/else"), e.APIError)

    def test_errors_pickle(self):
        err = self.errors.UserNotFoundError("User Not Found", http_status=404)
        back = pickle.loads(pickle.dumps(err))
        self.assertIsInstance(back, self.errors.UserNotFoundError)
        self.assertEqual(back.message, "User Not Found")


class FromRpcError(unittest.TestCase):
    def setUp(self):
        import grpc
        from files_gateway import _api, errors
        self.grpc, self.errors, self.api = grpc, errors, _api

    def rpc_error(self, code, details, status=None):
        class RpcError(FakeRpcError, self.grpc.RpcError):
            pass
        return RpcError(code, details, status)

    def test_files_com_error_carries_the_body(self):
        code = self.grpc.StatusCode.PERMISSION_DENIED
        files_error = self.api.error_catalog_pb2.FilesError(
            type="not-authorized/folder-admin-permission-required",
            title="Folder Admin Permission Required", message="You need folder admin permission.",
            http_code=403, http_status=403, instance="abc")
        files_error.data.update({"path": "a/b", "n": 2})
        status = rich_status(code, "You need folder admin permission.",
                             "FOLDER_ADMIN_PERMISSION_REQUIRED", "files.com",
                             {"type": "not-authorized/folder-admin-permission-required",
                              "group": "NotAuthorizedError", "http_status": "403"},
                             files_error=files_error)
        err = self.errors.from_rpc_error(self.rpc_error(code, status.message, status))
        self.assertIs(type(err), self.errors.FolderAdminPermissionRequiredError)
        self.assertEqual(err.type, "not-authorized/folder-admin-permission-required")
        self.assertEqual(err.error_type, err.type)
        self.assertEqual(err.code, code)
        self.assertEqual(err.http_status, 403)
        self.assertEqual(err.http_code, 403)
        self.assertEqual(err.title, "Folder Admin Permission Required")
        self.assertEqual(err.instance, "abc")
        self.assertEqual(err.data, {"path": "a/b", "n": 2})
        self.assertEqual(err.reason, "FOLDER_ADMIN_PERMISSION_REQUIRED")
        self.assertEqual(err.domain, "files.com")
        self.assertIsNone(err.retry_delay)
        self.assertEqual(str(err), "HTTP 403 You need folder admin permission.")

    def test_retry_info_becomes_retry_delay(self):
        code = self.grpc.StatusCode.RESOURCE_EXHAUSTED
        status = rich_status(code, "Too many requests", "RATE_LIMITED", "files.com",
                             {"type": "rate-limited", "group": "RateLimitedError",
                              "http_status": "429"},
                             retry_seconds=2.5)
        err = self.errors.from_rpc_error(self.rpc_error(code, status.message, status))
        self.assertIs(type(err), self.errors.RateLimitedError)
        self.assertAlmostEqual(err.retry_delay, 2.5)

    def test_gateway_statuses_map_by_code(self):
        g = self.grpc.StatusCode
        e = self.errors
        cases = [(g.INVALID_ARGUMENT, e.BadRequestError), (g.NOT_FOUND, e.NotFoundError),
                 (g.ALREADY_EXISTS, e.DestinationExistsError),
                 (g.UNAVAILABLE, e.APIConnectionError),
                 (g.DEADLINE_EXCEEDED, e.DeadlineExceededError), (g.CANCELLED, e.CancelledError),
                 (g.DATA_LOSS, e.DataLossError), (g.INTERNAL, e.GatewayError),
                 (g.RESOURCE_EXHAUSTED, e.RateLimitedError)]
        for code, cls in cases:
            with self.subTest(code=code):
                status = rich_status(code, "gateway says no", "SOMETHING", "files-gateway")
                err = e.from_rpc_error(self.rpc_error(code, "gateway says no", status))
                self.assertIs(type(err), cls)
                self.assertEqual(err.domain, "files-gateway")
                self.assertEqual(err.message, "gateway says no")

    def test_bare_statuses_without_details(self):
        g = self.grpc.StatusCode
        e = self.errors
        cases = [(g.UNAVAILABLE, e.APIConnectionError),
                 (g.DEADLINE_EXCEEDED, e.DeadlineExceededError),
                 (g.CANCELLED, e.CancelledError), (g.UNAUTHENTICATED, e.NotAuthenticatedError),
                 (g.NOT_FOUND, e.NotFoundError), (g.RESOURCE_EXHAUSTED, e.GatewayError),
                 (g.UNIMPLEMENTED, e.GatewayError), (g.INTERNAL, e.GatewayError)]
        for code, cls in cases:
            with self.subTest(code=code):
                self.assertIs(type(e.from_rpc_error(self.rpc_error(code, "x"))), cls)

    def test_future_cancelled(self):
        err = self.errors.from_rpc_error(self.grpc.FutureCancelledError())
        self.assertIsInstance(err, self.errors.CancelledError)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--package", required=True)
    ARGS, rest = parser.parse_known_args()
    harness.add_package_path(ARGS.package)
    unittest.main(argv=[sys.argv[0]] + rest)
