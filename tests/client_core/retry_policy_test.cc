#include "client_core/retry_policy.h"

#include <string>

#include "gtest/gtest.h"

namespace filesgw::client_core {
namespace {

HttpResult Answer(int status, std::string body = "") {
  HttpResult r;
  r.transport = absl::OkStatus();
  r.request_sent = true;
  r.response.status = status;
  r.response.body = std::move(body);
  return r;
}

HttpResult Failure(absl::Status status, bool sent) {
  HttpResult r;
  r.transport = std::move(status);
  r.request_sent = sent;
  return r;
}

struct Case {
  const char* name;
  HttpResult result;
  bool idempotent_retries;
  bool non_idempotent_retries;
};

TEST(RetryPolicy, MethodByOutcomeTable) {
  const Case cases[] = {
      {"200", Answer(200), false, false},
      {"400", Answer(400), false, false},
      {"404", Answer(404), false, false},
      {"422", Answer(422), false, false},
      {"429", Answer(429), true, true},
      {"500", Answer(500), true, false},
      {"501", Answer(501), false, false},
      {"502", Answer(502), true, false},
      {"503", Answer(503), true, true},
      {"504", Answer(504), true, false},
      {"S3 RequestTimeout 400", Answer(400, "<Error><Code>RequestTimeout</Code></Error>"), true,
       false},
      {"connect refused", Failure(absl::UnavailableError("refused"), false), true, true},
      {"connect timeout", Failure(absl::DeadlineExceededError("connect"), false), true, true},
      {"reset after send", Failure(absl::UnavailableError("reset"), true), true, false},
      {"read timeout", Failure(absl::DeadlineExceededError("read"), true), true, false},
      {"cancelled", Failure(absl::CancelledError("x"), false), false, false},
      {"bad url", Failure(absl::InvalidArgumentError("x"), false), false, false},
      {"bad certificate", Failure(absl::FailedPreconditionError("x"), false), false, false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(IsRetryable(c.result, Idempotency::kIdempotent), c.idempotent_retries) << c.name;
    EXPECT_EQ(IsRetryable(c.result, Idempotency::kNonIdempotent), c.non_idempotent_retries)
        << c.name;
  }
}

}  // namespace
}  // namespace filesgw::client_core
