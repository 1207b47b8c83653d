// The error classes against the catalogue in the descriptors, and the mapping
// from the gateway's rich statuses (as server/status_builder.cc builds them).
#include <type_traits>

#include "clients/cpp/errors.h"
#include "files/v1/error_catalog.pb.h"
#include "files/v1/options.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"

namespace filesgw::client {
namespace {

static_assert(std::is_base_of_v<NotAuthorizedError, FolderAdminPermissionRequiredError>);
static_assert(std::is_base_of_v<APIError, NotAuthorizedError>);
static_assert(std::is_base_of_v<Error, APIError>);
static_assert(std::is_base_of_v<std::runtime_error, Error>);
static_assert(std::is_base_of_v<NotFoundError, UserNotFoundError>);
static_assert(std::is_base_of_v<APIConnectionError, DeadlineExceededError>);
static_assert(std::is_base_of_v<GatewayError, DataLossError>);

void Pack(const google::protobuf::Message& detail, google::rpc::Status* status) {
  auto* any = status->add_details();
  any->set_type_url("type.googleapis.com/" + detail.GetDescriptor()->full_name());
  detail.SerializeToString(any->mutable_value());
}

// A status as the gateway builds it for a Files.com error body.
grpc::Status FilesStatus(grpc::StatusCode code, const std::string& type, const std::string& group,
                         int http_status, const std::string& message,
                         const std::string& title = "", int retry_seconds = -1) {
  google::rpc::Status rich;
  rich.set_code(code);
  rich.set_message(message);
  google::rpc::ErrorInfo info;
  info.set_reason("REASON");
  info.set_domain("files.com");
  (*info.mutable_metadata())["type"] = type;
  if (!group.empty()) (*info.mutable_metadata())["group"] = group;
  (*info.mutable_metadata())["http_status"] = std::to_string(http_status);
  Pack(info, &rich);
  if (retry_seconds >= 0) {
    google::rpc::RetryInfo retry;
    retry.mutable_retry_delay()->set_seconds(retry_seconds);
    retry.mutable_retry_delay()->set_nanos(250000000);
    Pack(retry, &rich);
  }
  files::v1::FilesError body;
  body.set_type(type);
  body.set_title(title);
  body.set_message(message);
  body.set_http_code(http_status);
  body.set_instance("inst-1");
  body.set_http_status(http_status);
  (*body.mutable_data()->mutable_fields())["path"].set_string_value("a/b");
  Pack(body, &rich);
  return grpc::Status(code, message, rich.SerializeAsString());
}

// Throws the status's error and gives what arrived, by its root class.
template <typename Catch>
std::string CaughtAs(const grpc::Status& status) {
  try {
    ThrowIfError(status);
  } catch (const Catch& e) {
    const auto* error = dynamic_cast<const Error*>(&e);
    return error == nullptr ? "not an Error" : error->class_name();
  } catch (const Error& e) {
    return std::string("not caught as wanted: ") + e.class_name();
  }
  return "nothing thrown";
}

TEST(Errors, EveryCatalogueEntryHasItsClassUnderItsGroup) {
  int checked = 0;
  for (const auto* e : {files::v1::ErrorGroup_descriptor(), files::v1::ErrorType_descriptor()}) {
    for (int i = 0; i < e->value_count(); ++i) {
      const auto& options = e->value(i)->options();
      if (!options.HasExtension(files::v1::error)) continue;
      const auto& info = options.GetExtension(files::v1::error);
      std::string parent = info.group().empty() ? "APIError" : info.group();
      EXPECT_EQ(ErrorParent(info.class_name()), parent) << info.class_name();
      EXPECT_EQ(ClassForType(info.type()), info.class_name());
      EXPECT_EQ(TypeOfClass(info.class_name()), info.type());
      try {
        ThrowError(info.class_name(), std::string("m"));
      } catch (const APIError& err) {
        EXPECT_STREQ(err.class_name(), info.class_name().c_str());
        EXPECT_TRUE(err.IsA(parent)) << info.class_name();
        EXPECT_TRUE(err.IsA("Error"));
        std::vector<std::string> chain = err.Ancestors();
        ASSERT_GE(chain.size(), 3u);
        EXPECT_EQ(chain[0], info.class_name());
        EXPECT_EQ(chain[chain.size() - 2], "APIError");
        EXPECT_EQ(chain.back(), "Error");
      }
      ++checked;
    }
  }
  EXPECT_GT(checked, 200);
  EXPECT_GE(ErrorClasses().size(), static_cast<std::size_t>(checked));
}

TEST(Errors, AFilesComErrorBecomesItsLeafClassWithEveryAttribute) {
  grpc::Status status = FilesStatus(
      grpc::StatusCode::PERMISSION_DENIED, "not-authorized/folder-admin-permission-required",
      "NotAuthorizedError", 403, "You need folder admin permission.", "Folder Admin Permission Required");
  try {
    ThrowIfError(status);
    FAIL() << "nothing thrown";
  } catch (const NotAuthorizedError& e) {
    EXPECT_STREQ(e.class_name(), "FolderAdminPermissionRequiredError");
    EXPECT_NE(dynamic_cast<const FolderAdminPermissionRequiredError*>(&e), nullptr);
    EXPECT_EQ(e.type(), "not-authorized/folder-admin-permission-required");
    EXPECT_EQ(e.message(), "You need folder admin permission.");
    EXPECT_EQ(e.title(), "Folder Admin Permission Required");
    EXPECT_EQ(e.http_status(), 403);
    EXPECT_EQ(e.code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_EQ(e.details().domain, "files.com");
    EXPECT_EQ(e.details().instance, "inst-1");
    EXPECT_EQ(e.details().data_json, R"({"path":"a/b"})");
    EXPECT_EQ(e.Ancestors(), (std::vector<std::string>{"FolderAdminPermissionRequiredError",
                                                       "NotAuthorizedError", "APIError", "Error"}));
    EXPECT_NE(std::string(e.what()).find("FolderAdminPermissionRequiredError: You need"),
              std::string::npos);
  }
  EXPECT_EQ(CaughtAs<APIError>(status), "FolderAdminPermissionRequiredError");
  EXPECT_THROW(ThrowIfError(status), std::runtime_error);
}

TEST(Errors, RetryInfoGivesTheRetryDelay) {
  try {
    ThrowIfError(FilesStatus(grpc::StatusCode::RESOURCE_EXHAUSTED, "rate-limited/too-many-requests",
                             "RateLimitedError", 429, "slow down", "", 2));
    FAIL() << "nothing thrown";
  } catch (const RateLimitedError& e) {
    EXPECT_EQ(e.retry_delay(), std::chrono::milliseconds(2250));
  }
}

TEST(Errors, AnUnknownLeafFallsBackToItsGroup) {
  EXPECT_EQ(CaughtAs<NotFoundError>(FilesStatus(grpc::StatusCode::NOT_FOUND,
                                                "not-found/no-such-thing-yet", "", 404, "gone")),
            "NotFoundError");
  EXPECT_EQ(CaughtAs<APIError>(FilesStatus(grpc::StatusCode::UNKNOWN, "brand-new-group/x", "", 400, "?")),
            "APIError");
}

TEST(Errors, TheFilesErrorTypeServesWithoutErrorInfo) {
  google::rpc::Status rich;
  files::v1::FilesError body;
  body.set_type("not-found/user-not-found");
  body.set_http_status(404);
  Pack(body, &rich);
  grpc::Status status(grpc::StatusCode::NOT_FOUND, "User Not Found", rich.SerializeAsString());
  EXPECT_EQ(CaughtAs<UserNotFoundError>(status), "UserNotFoundError");
  EXPECT_EQ(DetailsFromStatus(status).http_status, 404);
}

TEST(Errors, StatusesWithoutAFilesComTypeMapByCode) {
  auto bare = [](grpc::StatusCode code) {
    std::string name;
    DetailsFromStatus(grpc::Status(code, "x"), &name);
    return name;
  };
  EXPECT_EQ(bare(grpc::StatusCode::UNAVAILABLE), "APIConnectionError");
  EXPECT_EQ(bare(grpc::StatusCode::DEADLINE_EXCEEDED), "DeadlineExceededError");
  EXPECT_EQ(bare(grpc::StatusCode::CANCELLED), "CancelledError");
  EXPECT_EQ(bare(grpc::StatusCode::DATA_LOSS), "DataLossError");
  EXPECT_EQ(bare(grpc::StatusCode::INVALID_ARGUMENT), "BadRequestError");
  EXPECT_EQ(bare(grpc::StatusCode::ALREADY_EXISTS), "DestinationExistsError");
  EXPECT_EQ(bare(grpc::StatusCode::INTERNAL), "GatewayError");
  EXPECT_EQ(bare(grpc::StatusCode::UNIMPLEMENTED), "GatewayError");
  // gRPC's own "message too large" is no rate limit without the gateway's ErrorInfo.
  EXPECT_EQ(bare(grpc::StatusCode::RESOURCE_EXHAUSTED), "GatewayError");

  google::rpc::Status rich;
  google::rpc::ErrorInfo info;
  info.set_reason("GATEWAY_RATE_LIMITED");
  info.set_domain("files-gateway");
  Pack(info, &rich);
  std::string name;
  DetailsFromStatus(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "wait", rich.SerializeAsString()),
                    &name);
  EXPECT_EQ(name, "RateLimitedError");
  EXPECT_EQ(CaughtAs<APIConnectionError>(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "late")),
            "DeadlineExceededError");
}

TEST(Errors, MalformedDetailsAreIgnored) {
  grpc::Status status(grpc::StatusCode::NOT_FOUND, "missing", std::string("\xff\x01garbage", 9));
  std::string name;
  ErrorDetails d = DetailsFromStatus(status, &name);
  EXPECT_EQ(name, "NotFoundError");
  EXPECT_EQ(d.message, "missing");
  EXPECT_TRUE(d.type.empty());
}

TEST(Errors, LocalErrorsCarryTheCodeOfTheirClass) {
  try {
    ThrowError("CancelledError", std::string("stopped"));
  } catch (const Error& e) {
    EXPECT_STREQ(e.class_name(), "CancelledError");
    EXPECT_EQ(e.code(), grpc::StatusCode::CANCELLED);
  }
  try {
    ThrowError("NoSuchClassAnywhere", std::string("?"));
  } catch (const Error& e) {
    EXPECT_STREQ(e.class_name(), "Error");
  }
  EXPECT_EQ(ErrorFromStatus(grpc::Status::OK), nullptr);
}

}  // namespace
}  // namespace filesgw::client
