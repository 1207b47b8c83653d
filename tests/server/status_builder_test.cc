#include "server/status_builder.h"

#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "client_core/status_reason.h"

namespace filesgw::server {
namespace {

google::rpc::Status Rich(const grpc::Status& s) {
  google::rpc::Status rich;
  EXPECT_TRUE(rich.ParseFromString(s.error_details()));
  return rich;
}

template <typename T>
bool Detail(const grpc::Status& s, T* out) {
  const google::rpc::Status rich = Rich(s);
  for (const auto& any : rich.details()) {
    if (any.type_url() == "type.googleapis.com/" + T::descriptor()->full_name()) {
      return out->ParseFromString(any.value());
    }
  }
  return false;
}

TEST(ClassifyFilesError, GroupDecidesTheCodeWhateverTheHttpStatus) {
  struct Case {
    const char* type;
    int http;
    grpc::StatusCode code;
    const char* reason;
  } cases[] = {
      {"bad-request/agent-upgrade-required", 422, grpc::StatusCode::INVALID_ARGUMENT, "AGENT_UPGRADE_REQUIRED"},
      {"not-authenticated/invalid-session", 401, grpc::StatusCode::UNAUTHENTICATED, "INVALID_SESSION"},
      {"not-authorized/folder-admin-permission-required", 403, grpc::StatusCode::PERMISSION_DENIED,
       "FOLDER_ADMIN_PERMISSION_REQUIRED"},
      {"not-found/user-not-found", 404, grpc::StatusCode::NOT_FOUND, "USER_NOT_FOUND"},
      {"processing-failure/destination-exists", 422, grpc::StatusCode::FAILED_PRECONDITION, "DESTINATION_EXISTS"},
      {"processing-failure/file-locked", 422, grpc::StatusCode::ABORTED, "FILE_LOCKED"},
      {"rate-limited/too-many-requests", 429, grpc::StatusCode::RESOURCE_EXHAUSTED, "TOO_MANY_REQUESTS"},
      {"service-unavailable/site-disabled", 422, grpc::StatusCode::UNAVAILABLE, "SITE_DISABLED"},
      {"site-configuration/account-already-exists", 403, grpc::StatusCode::FAILED_PRECONDITION, nullptr},
      // The wire status disagrees with the type: the type wins.
      {"not-found/user-not-found", 422, grpc::StatusCode::NOT_FOUND, "USER_NOT_FOUND"},
      // Unknown leaf: its group.
      {"not-found/brand-new-leaf", 404, grpc::StatusCode::NOT_FOUND, "NOT_FOUND"},
      {"not-authorized", 403, grpc::StatusCode::PERMISSION_DENIED, "NOT_AUTHORIZED"},
      // Unknown group or no type: the HTTP status, then a generic API error.
      {"", 503, grpc::StatusCode::UNAVAILABLE, "API_ERROR"},
      {"", 500, grpc::StatusCode::INTERNAL, "API_ERROR"},
      {"mystery/thing", 418, grpc::StatusCode::UNKNOWN, "API_ERROR"},
      // Too large for the server (a proxy's page, no Files.com type): resending
      // unchanged cannot work, so it is the caller's argument.
      {"", 413, grpc::StatusCode::INVALID_ARGUMENT, "API_ERROR"},
      {"", 414, grpc::StatusCode::INVALID_ARGUMENT, "API_ERROR"},
      {"", 431, grpc::StatusCode::INVALID_ARGUMENT, "API_ERROR"},
      // ...but a type still decides.
      {"not-authorized", 414, grpc::StatusCode::PERMISSION_DENIED, "NOT_AUTHORIZED"},
  };
  for (const auto& c : cases) {
    ErrorClass cls = ClassifyFilesError(c.type, c.http);
    EXPECT_EQ(cls.code, c.code) << c.type << " " << c.http;
    if (c.reason != nullptr) {
      EXPECT_EQ(cls.reason, c.reason) << c.type;
    }
  }
}

TEST(FromFilesError, CarriesErrorInfoRetryInfoAndTheBody) {
  client_core::FilesError e;
  e.http_status = 429;
  e.type = "rate-limited/too-many-requests";
  e.title = "Too Many Requests";
  e.message = "Slow down";
  e.http_code = 429;
  e.instance = "abc-123";
  e.errors_json = R"(["one", {"field": "x"}])";
  e.data_json = R"({"limit": 10})";
  grpc::Status s = FromFilesError(e, absl::Milliseconds(2500));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(s.error_message(), "Slow down");
  EXPECT_EQ(Rich(s).code(), static_cast<int>(grpc::StatusCode::RESOURCE_EXHAUSTED));

  google::rpc::ErrorInfo info;
  ASSERT_TRUE(Detail(s, &info));
  EXPECT_EQ(info.reason(), "TOO_MANY_REQUESTS");
  EXPECT_EQ(info.domain(), "files.com");
  EXPECT_EQ(info.metadata().at("type"), "rate-limited/too-many-requests");
  EXPECT_EQ(info.metadata().at("group"), "RateLimitedError");

  google::rpc::RetryInfo retry;
  ASSERT_TRUE(Detail(s, &retry));
  EXPECT_EQ(retry.retry_delay().seconds(), 2);
  EXPECT_EQ(retry.retry_delay().nanos(), 500000000);

  files::v1::FilesError body;
  ASSERT_TRUE(Detail(s, &body));
  EXPECT_EQ(body.error_type(), files::v1::ERROR_TYPE_TOO_MANY_REQUESTS);
  EXPECT_EQ(body.error_group(), files::v1::ERROR_GROUP_RATE_LIMITED);
  EXPECT_EQ(body.instance(), "abc-123");
  ASSERT_EQ(body.errors().values_size(), 2);
  EXPECT_EQ(body.errors().values(0).string_value(), "one");
  EXPECT_EQ(body.data().fields().at("limit").number_value(), 10);
}

TEST(FromFilesError, NoRetryInfoWithoutADelay) {
  client_core::FilesError e;
  e.http_status = 404;
  e.type = "not-found";
  grpc::Status s = FromFilesError(e, std::nullopt);
  google::rpc::RetryInfo retry;
  EXPECT_FALSE(Detail(s, &retry));
  EXPECT_FALSE(s.error_message().empty());
}

// gRPC clients refuse trailers over 8 KiB: a huge upstream error must still
// arrive as a status with its code and type, cut to fit.
TEST(FromFilesError, HugeMessagesAndDetailsAreCutToFitTrailers) {
  client_core::FilesError e;
  e.http_status = 422;
  e.type = "bad-request/invalid-body";
  e.title = "Invalid body";
  e.message = std::string(30000, 'm') + "\xC3\xA9";
  std::string errors = "[";
  for (int i = 0; i < 2000; ++i) errors += "\"field_" + std::to_string(i) + " is invalid\",";
  errors.back() = ']';
  e.errors_json = errors;
  e.data_json = R"({"small": true})";
  grpc::Status s = FromFilesError(e, std::nullopt);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_LE(s.error_message().size(), 512u);
  EXPECT_THAT(s.error_message(), ::testing::EndsWith("mmm..."));
  EXPECT_LE(s.error_details().size(), 4096u);
  EXPECT_EQ(Rich(s).message(), s.error_message());

  google::rpc::ErrorInfo info;
  ASSERT_TRUE(Detail(s, &info));
  EXPECT_EQ(info.metadata().at("type"), "bad-request/invalid-body");
  EXPECT_EQ(info.metadata().at("details_truncated"), "true");
  files::v1::FilesError body;
  ASSERT_TRUE(Detail(s, &body));
  EXPECT_EQ(body.title(), "Invalid body");
  EXPECT_LE(body.message().size(), 1024u);
  // The largest part went; the small one stayed.
  EXPECT_EQ(body.errors().values_size(), 0);
  EXPECT_TRUE(body.data().fields().at("small").bool_value());
}

TEST(FromFilesError, CutsNeverSplitACharacter) {
  client_core::FilesError e;
  e.http_status = 500;
  for (int i = 0; i < 1000; ++i) e.message += "\xE2\x82\xAC";  // euro signs
  grpc::Status s = FromFilesError(e, std::nullopt);
  ASSERT_LE(s.error_message().size(), 512u);
  const std::string body = s.error_message().substr(0, s.error_message().size() - 3);
  EXPECT_EQ(body.size() % 3, 0u) << "a euro sign was split";
}

TEST(FromLocalStatus, LongMessagesAreCut) {
  grpc::Status s = FromLocalStatus(absl::InternalError(std::string(10000, 'x')), "INTERNAL");
  EXPECT_LE(s.error_message().size(), 512u);
  EXPECT_EQ(Rich(s).message(), s.error_message());
}

TEST(FromLocalStatus, UsesTheGatewayDomain) {
  grpc::Status s = FromLocalStatus(absl::UnavailableError("connect refused"), "UPSTREAM_UNAVAILABLE");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(Detail(s, &info));
  EXPECT_EQ(info.domain(), "files-gateway");
  EXPECT_EQ(info.reason(), "UPSTREAM_UNAVAILABLE");
}

TEST(FromLocalStatus, AReasonCarriedByTheStatusWins) {
  grpc::Status s = FromLocalStatus(
      client_core::WithReason(absl::InvalidArgumentError("URL too long"), "REQUEST_TOO_LARGE"),
      "BAD_REQUEST_MESSAGE");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(Detail(s, &info));
  EXPECT_EQ(info.reason(), "REQUEST_TOO_LARGE");
  EXPECT_EQ(info.domain(), "files-gateway");
}

TEST(FromFilesError, UntypedUriTooLongIsInvalidArgument) {
  client_core::FilesError error =
      client_core::ParseFilesError(414, "<html>414 Request-URI Too Large</html>");
  grpc::Status s = FromFilesError(error, std::nullopt);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace filesgw::server
