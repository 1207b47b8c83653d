"""Python client for files-gateway: the Files.com API over gRPC, in the shape
of the Files.com Python SDK.

    import files_gateway
    from files_gateway.errors import NotFoundError

    client = files_gateway.connect("127.0.0.1:50051")
    for user in client.users.list({"per_page": 1000}).auto_paging_iter():
        print(user.id, user.username)
    try:
        client.users.find(987654321)
    except NotFoundError as e:
        print(e.type)  # "not-found/user-not-found"
    client.upload_file("report.csv", "reports/report.csv", mkdir_parents=True)

Everything per resource (actions, request fields, error classes) is read from
the generated protobuf descriptors; see README.md.
"""
__version__ = "0.2.0"

from files_gateway import errors, path_util  # noqa: E402
from files_gateway.client import DEFAULT_TARGET, Client, connect  # noqa: E402
from files_gateway.errors import APIError, Error  # noqa: E402
from files_gateway.models import Model  # noqa: E402
from files_gateway.resources import CallOptions, ListObj, Params, Resource  # noqa: E402
from files_gateway.transfer import ResumableUpload, UploadStatus  # noqa: E402

__all__ = ["connect", "Client", "DEFAULT_TARGET", "ListObj", "Resource", "Model", "Error",
           "APIError", "errors", "path_util", "ResumableUpload", "UploadStatus", "CallOptions",
           "Params", "__version__"]
