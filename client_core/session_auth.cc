#include "client_core/session_auth.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace filesgw::client_core {

std::shared_ptr<SessionAuth> SessionAuth::Create(std::shared_ptr<HttpTransport> transport,
                                                 std::string base_url,
                                                 std::shared_ptr<SecretSource> username,
                                                 std::shared_ptr<SecretSource> password,
                                                 SessionAuthOptions options) {
  return std::make_shared<SessionAuth>(std::move(transport), std::move(base_url), std::move(username),
                                       std::move(password), std::move(options));
}

SessionAuth::SessionAuth(std::shared_ptr<HttpTransport> transport, std::string base_url,
                         std::shared_ptr<SecretSource> username,
                         std::shared_ptr<SecretSource> password, SessionAuthOptions options)
    : transport_(std::move(transport)),
      base_url_(std::move(base_url)),
      username_(std::move(username)),
      password_(std::move(password)),
      options_(std::move(options)) {}

void SessionAuth::Get(absl::Time deadline, std::function<void(SessionResult)> done) {
  std::string current;
  {
    absl::MutexLock lock(&mu_);
    current = session_;
    if (current.empty()) waiting_.push_back(std::move(done));
  }
  if (!current.empty()) {
    SessionResult r;
    r.session_id = std::move(current);
    return done(std::move(r));
  }
  {
    absl::MutexLock lock(&mu_);
    if (logging_in_) return;  // one login serves every waiter
    logging_in_ = true;
    ++logins_;
  }
  rapidjson::StringBuffer body;
  rapidjson::Writer<rapidjson::StringBuffer> w(body);
  w.StartObject();
  w.Key("username");
  const std::string user = username_->Get();
  w.String(user.c_str(), static_cast<rapidjson::SizeType>(user.size()));
  w.Key("password");
  const std::string pass = password_->Get();
  w.String(pass.c_str(), static_cast<rapidjson::SizeType>(pass.size()));
  w.EndObject();
  HttpRequest http;
  http.method = "POST";
  http.url = absl::StrCat(base_url_, "/api/rest/v1/sessions");
  http.body = body.GetString();
  http.headers = {{"Content-Type", "application/json"},
                  {"Accept", "application/json"},
                  {"User-Agent", options_.user_agent}};
  http.connect_timeout = options_.open_timeout;
  http.read_timeout = options_.read_timeout;
  http.deadline = deadline;
  std::weak_ptr<SessionAuth> weak = weak_from_this();
  transport_->Start(std::move(http), [weak](HttpResult r) {
    if (auto self = weak.lock()) self->OnLogin(std::move(r));
  });
}

void SessionAuth::OnLogin(HttpResult http) {
  SessionResult result;
  if (!http.transport.ok()) {
    result.status = absl::UnavailableError(
        absl::StrCat("could not log in to Files.com: ", http.transport.message()));
  } else if (http.response.status < 200 || http.response.status >= 300) {
    FilesError error = ParseFilesError(http.response.status, http.response.body);
    if (absl::StrContains(error.type, "two-factor")) {
      result.status = absl::FailedPreconditionError(
          "the profile's Files.com user must answer a two-factor challenge, which a gateway "
          "cannot do: give this profile an API key instead");
    } else {
      result.status = absl::UnauthenticatedError(absl::StrCat(
          "Files.com refused the profile's username/password: ", error.message));
    }
    result.error = std::move(error);
  } else {
    rapidjson::Document doc;
    doc.Parse(http.response.body.c_str(), http.response.body.size());
    if (doc.IsObject() && doc.HasMember("id") && doc["id"].IsString() && doc["id"].GetStringLength() > 0) {
      result.session_id = doc["id"].GetString();
    } else {
      result.status = absl::InternalError("POST /sessions answered no session id");
    }
  }
  std::vector<std::function<void(SessionResult)>> waiting;
  {
    absl::MutexLock lock(&mu_);
    logging_in_ = false;
    if (result.status.ok()) session_ = result.session_id;
    waiting.swap(waiting_);
  }
  for (auto& done : waiting) done(result);
}

void SessionAuth::Invalidate(const std::string& session_id) {
  absl::MutexLock lock(&mu_);
  if (session_ == session_id) session_.clear();
}

int64_t SessionAuth::logins() const {
  absl::MutexLock lock(&mu_);
  return logins_;
}

}  // namespace filesgw::client_core
