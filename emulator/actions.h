// What each RPC does, decided by its (files.v1.sdk) action and response type
// alone: create / find / update / delete / list on the resource's collection,
// and a well-formed answer of the declared type for every other action. A
// registry lets later modules (the file system in files_api.h: begin_upload,
// parts, download URLs) replace single RPCs:
//
//   actions.Override("files.v1.FileService.BeginUploadFile",
//                    [&](const ActionRequest& r) { return MyBeginUpload(r); });
#ifndef FILESGW_EMULATOR_ACTIONS_H_
#define FILESGW_EMULATOR_ACTIONS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "emulator/json.h"
#include "emulator/reply.h"
#include "emulator/router.h"
#include "emulator/sessions.h"
#include "emulator/store.h"

namespace filesgw::emulator {

struct ActionRequest {
  const Route* route = nullptr;
  // Every param (query, form or JSON body) plus the path params, coerced to
  // the request message's field types.
  JsonValue params{rapidjson::kObjectType};
  std::vector<std::pair<std::string, std::string>> path_params;
  std::string http_method;
  std::string path;  // after /api/rest/v1, as received
  std::string body;  // the raw body
  std::string host;  // the Host header ("127.0.0.1:8080"): base of URLs the emulator serves
  // X-Files-Workspace-Id: records created carry it as workspace_id, lists
  // show only that workspace's records (models with a workspace_id field).
  std::optional<int64_t> workspace_id;
  std::string language;  // Accept-Language as sent (echoed as Content-Language)
  std::optional<int64_t> session_user;  // set when authenticated by a session
  std::string session_id;               // secret: never log
};

using ActionHandler = std::function<HttpReply(const ActionRequest&)>;

class Actions {
 public:
  Actions(const Router* router, Store* store, Sessions* sessions,
          std::function<absl::Time()> clock);

  // The override for the route's RPC if any, else Default().
  HttpReply Handle(const ActionRequest& request) const;
  // The generic behaviour (overrides may call it to fall back).
  HttpReply Default(const ActionRequest& request) const;

  // Replaces the behaviour of one RPC ("files.v1.UserService.FindUser";
  // a leading "/" and "Service/Method" spelling are accepted too).
  void Override(std::string full_method_name, ActionHandler handler);

  // Demo data: a record with id 1 for every resource, users 1..5 ("admin",
  // "alice", ...; password "password") and groups. Files and folders are the
  // file system's (files_api.h), not records here.
  void SeedDemoSite();

  // True when POST /sessions may log in `username` with `password`; sets *user_id.
  bool CheckPassword(const std::string& username, const std::string& password,
                     int64_t* user_id) const;

  // The model stored for an SDK resource (e.g. "User" -> files.v1.User).
  const google::protobuf::Descriptor* ResourceModel(const std::string& resource) const;
  Collection& CollectionOf(const std::string& resource) const;
  Store& store() const { return *store_; }

 private:
  HttpReply Create(const ActionRequest& r, Collection& c) const;
  HttpReply Find(const ActionRequest& r, Collection& c) const;
  HttpReply Update(const ActionRequest& r, Collection& c) const;
  HttpReply Delete(const ActionRequest& r, Collection& c) const;
  HttpReply List(const ActionRequest& r, Collection& c, bool paginated) const;
  HttpReply Other(const ActionRequest& r, Collection* c) const;
  HttpReply Login(const ActionRequest& r) const;
  HttpReply Logout(const ActionRequest& r) const;

  // The id of the record the request addresses (path id, path key or the
  // singleton), or a not-found error of the resource's type.
  absl::StatusOr<int64_t> Locate(const ActionRequest& r, Collection& c, bool create_singleton) const;
  // The params that are fields of `model`, converted to the model's types.
  JsonValue ModelFields(const JsonValue& params, const google::protobuf::Descriptor* model) const;
  void RememberSecrets(const std::string& resource, int64_t id, const JsonValue& params) const;
  absl::Status NotFound(const std::string& resource) const;
  std::string Now() const;

  const Router* router_;
  Store* store_;
  Sessions* sessions_;
  std::function<absl::Time()> clock_;
  std::map<std::string, const google::protobuf::Descriptor*> models_;

  mutable absl::Mutex mu_;
  std::map<std::string, ActionHandler> overrides_ ABSL_GUARDED_BY(mu_);
  // Passwords given on create/update, by user id; demo users use "password".
  mutable std::map<int64_t, std::string> passwords_ ABSL_GUARDED_BY(mu_);
};

}  // namespace filesgw::emulator

#endif  // FILESGW_EMULATOR_ACTIONS_H_
