#include "emulator/actions.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "emulator/params.h"
#include "emulator/query.h"
#include "emulator/sample.h"
#include "proto/api_pool.h"

namespace filesgw::emulator {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

// "ApiKey" -> "api-key".
std::string Kebab(absl::string_view camel) {
  std::string out;
  for (char c : camel) {
    if (absl::ascii_isupper(c)) {
      if (!out.empty()) out += '-';
      out += absl::ascii_tolower(c);
    } else {
      out += c;
    }
  }
  return out;
}

std::string NormalizeKey(absl::string_view path) {
  return std::string(absl::StripSuffix(absl::StripPrefix(path, "/"), "/"));
}

// Params that steer listing rather than name model fields.
bool IsListControl(absl::string_view key) {
  return key == "cursor" || key == "per_page" || key == "sort_by" ||
         absl::StartsWith(key, "filter") || key == "action" || key == "search";
}

// The keys Files.com's `search` param looks in (users: partial matches of
// username, name, email or company), those the model has.
std::vector<std::string> SearchKeys(const Descriptor* model) {
  std::vector<std::string> keys;
  for (const char* key : {"username", "name", "email", "company"}) {
    if (model != nullptr && model->FindFieldByName(key) != nullptr) keys.emplace_back(key);
  }
  return keys;
}

std::string CanonicalMethodName(absl::string_view name) {
  absl::ConsumePrefix(&name, "/");
  std::string out(name);
  std::replace(out.begin(), out.end(), '/', '.');
  return out;
}

HttpReply ModelReply(int status, const JsonValue& record) {
  return HttpReply::Json(status, ToJson(record));
}

}  // namespace

Actions::Actions(const Router* router, Store* store, Sessions* sessions,
                 std::function<absl::Time()> clock)
    : router_(router), store_(store), sessions_(sessions), clock_(std::move(clock)) {
  // A resource stores the model named like it; failing that, the first model
  // its routes answer (e.g. Folder routes answer File records).
  std::map<std::string, const Descriptor*> fallback;
  for (const auto& route : router_->routes()) {
    if (route.model == nullptr) continue;
    const std::string& resource = route.sdk.resource();
    if (route.model->name() == resource) models_[resource] = route.model;
    fallback.emplace(resource, route.model);
  }
  for (const auto& [resource, model] : fallback) models_.emplace(resource, model);
  for (const auto& route : router_->routes()) {
    if (route.sdk.resource() != "Session") continue;
    if (route.sdk.action() == "create") {
      Override(route.method->full_name(), [this](const ActionRequest& r) { return Login(r); });
    } else if (route.sdk.action() == "delete") {
      Override(route.method->full_name(), [this](const ActionRequest& r) { return Logout(r); });
    }
  }
}

void Actions::Override(std::string full_method_name, ActionHandler handler) {
  absl::MutexLock lock(&mu_);
  overrides_[CanonicalMethodName(full_method_name)] = std::move(handler);
}

HttpReply Actions::Handle(const ActionRequest& request) const {
  ActionHandler handler;
  {
    absl::MutexLock lock(&mu_);
    auto it = overrides_.find(request.route->method->full_name());
    if (it != overrides_.end()) handler = it->second;
  }
  return handler ? handler(request) : Default(request);
}

const Descriptor* Actions::ResourceModel(const std::string& resource) const {
  auto it = models_.find(resource);
  return it == models_.end() ? nullptr : it->second;
}

Collection& Actions::CollectionOf(const std::string& resource) const {
  return store_->Get(resource, ResourceModel(resource));
}

std::string Actions::Now() const { return Rfc3339(absl::ToUnixSeconds(clock_())); }

absl::Status Actions::NotFound(const std::string& resource) const {
  std::string type = absl::StrCat("not-found/", Kebab(resource), "-not-found");
  ErrorFacts facts;
  if (!LookupErrorType(type, &facts)) type = "not-found";
  return ApiError(type, absl::StrCat(resource, " Not Found"));
}

HttpReply Actions::Default(const ActionRequest& r) const {
  const Route& route = *r.route;
  const std::string& resource = route.sdk.resource();
  const std::string& action = route.sdk.action();
  const Descriptor* model = ResourceModel(resource);
  bool own_model = model != nullptr && route.model == model;
  Collection* collection = model == nullptr ? nullptr : &CollectionOf(resource);
  if (own_model && collection != nullptr) {
    if (action == "create" && route.shape == ResponseShape::kModel) return Create(r, *collection);
    if (action == "find" && route.shape == ResponseShape::kModel) return Find(r, *collection);
    if (action == "update" && route.shape == ResponseShape::kModel) return Update(r, *collection);
    if (route.shape == ResponseShape::kList) return List(r, *collection, route.sdk.paginated());
  }
  if (action == "delete" && route.shape == ResponseShape::kEmpty && collection != nullptr) {
    return Delete(r, *collection);
  }
  return Other(r, collection);
}

JsonValue Actions::ModelFields(const JsonValue& params, const Descriptor* model) const {
  JsonValue out(rapidjson::kObjectType);
  if (!params.IsObject() || model == nullptr) return out;
  for (const auto& m : params.GetObject()) {
    absl::string_view key(m.name.GetString(), m.name.GetStringLength());
    if (key == "id" || IsSecretField(key) || m.value.IsNull()) continue;
    const FieldDescriptor* field = ParamField(model, key);
    if (field == nullptr || field->type() == FieldDescriptor::TYPE_BYTES) continue;
    JsonValue value(m.value, Alloc());
    if (!field->is_repeated() && !field->is_map() && !CoerceScalar(field, &value)) continue;
    SetMember(out, WireKey(field), std::move(value));
  }
  return out;
}

void Actions::RememberSecrets(const std::string& resource, int64_t id, const JsonValue& params) const {
  if (resource != "User") return;
  const JsonValue* password = Member(params, "password");
  if (password == nullptr || !password->IsString()) return;
  absl::MutexLock lock(&mu_);
  passwords_[id] = password->GetString();
}

bool Actions::CheckPassword(const std::string& username, const std::string& password,
                            int64_t* user_id) const {
  Collection* users = store_->Find("User");
  if (users == nullptr || username.empty()) return false;
  auto id = users->FindBy("username", username);
  if (!id) return false;
  std::string expected = "password";
  {
    absl::MutexLock lock(&mu_);
    auto it = passwords_.find(*id);
    if (it != passwords_.end()) expected = it->second;
  }
  if (password != expected) return false;
  *user_id = *id;
  return true;
}

absl::StatusOr<int64_t> Actions::Locate(const ActionRequest& r, Collection& c,
                                        bool create_singleton) const {
  const Route& route = *r.route;
  const std::string& resource = route.sdk.resource();
  const std::string& key = route.path_param;
  if (key.empty() || key == "id") {
    const JsonValue* id_param = Member(r.params, "id");
    if (id_param != nullptr && !id_param->IsNull()) {
      auto id = AsInt64(*id_param);
      if (id && c.Get(*id)) return *id;
      return NotFound(resource);
    }
    if (!key.empty()) return NotFound(resource);
    // A singleton (GET /site, PATCH /api_key): the one record, made on demand.
    if (auto first = c.First()) return *first;
    if (!create_singleton || c.model() == nullptr) return NotFound(resource);
    c.Put(1, SampleRecord(c.model(), 1));
    return 1;
  }
  const FieldDescriptor* field = c.model() == nullptr ? nullptr : ParamField(c.model(), key);
  const JsonValue* value = Member(r.params, key);
  if (field == nullptr || value == nullptr) return NotFound(resource);
  auto text = AsText(*value);
  if (!text) return NotFound(resource);
  std::string wanted = key == "path" ? NormalizeKey(*text) : *text;
  if (auto id = c.FindBy(WireKey(field), wanted)) return *id;
  if (key == "path") {
    // Stored paths may carry slashes the caller left out (or the reverse).
    if (auto id = c.FindBy(WireKey(field), absl::StrCat("/", wanted))) return *id;
  }
  return NotFound(resource);
}

HttpReply Actions::Create(const ActionRequest& r, Collection& c) const {
  const Descriptor* model = c.model();
  std::string hint;
  for (const char* key : {"username", "name"}) {
    if (const JsonValue* v = Member(r.params, key); v != nullptr && v->IsString()) {
      hint = v->GetString();
      break;
    }
  }
  JsonValue record = SampleRecord(model, 0, hint);
  std::string now = Now();
  for (const char* stamp : {"created_at", "updated_at"}) {
    if (model->FindFieldByName(stamp) != nullptr) SetMember(record, stamp, JsonString(now));
  }
  // Made outside any workspace: the default one (0), else the caller's.
  if (model->FindFieldByName("workspace_id") != nullptr) {
    SetMember(record, "workspace_id", JsonValue(r.workspace_id.value_or(0)));
  }
  JsonValue fields = ModelFields(r.params, model);
  for (auto& m : fields.GetObject()) {
    SetMember(record, absl::string_view(m.name.GetString(), m.name.GetStringLength()),
              JsonValue(m.value, Alloc()));
  }
  if (r.route->path_param == "path") {
    if (const JsonValue* p = Member(record, "path"); p != nullptr && p->IsString()) {
      SetMember(record, "path", JsonString(NormalizeKey(p->GetString())));
    }
  }
  int64_t id = c.Insert(std::move(record));
  RememberSecrets(r.route->sdk.resource(), id, r.params);
  auto stored = c.Get(id);
  if (!stored) return ErrorReply(NotFound(r.route->sdk.resource()));
  return ModelReply(r.route->sdk.success_status(), *stored);
}

HttpReply Actions::Find(const ActionRequest& r, Collection& c) const {
  auto id = Locate(r, c, /*create_singleton=*/true);
  if (!id.ok()) return ErrorReply(id.status());
  auto record = c.Get(*id);
  if (!record) return ErrorReply(NotFound(r.route->sdk.resource()));
  return ModelReply(r.route->sdk.success_status(), *record);
}

HttpReply Actions::Update(const ActionRequest& r, Collection& c) const {
  auto id = Locate(r, c, /*create_singleton=*/true);
  if (!id.ok()) return ErrorReply(id.status());
  JsonValue changes = ModelFields(r.params, c.model());
  if (c.model()->FindFieldByName("updated_at") != nullptr) {
    SetMember(changes, "updated_at", JsonString(Now()));
  }
  auto record = c.Merge(*id, changes);
  if (!record) return ErrorReply(NotFound(r.route->sdk.resource()));
  RememberSecrets(r.route->sdk.resource(), *id, r.params);
  return ModelReply(r.route->sdk.success_status(), *record);
}

HttpReply Actions::Delete(const ActionRequest& r, Collection& c) const {
  auto id = Locate(r, c, /*create_singleton=*/false);
  if (!id.ok()) return ErrorReply(id.status());
  if (!c.Erase(*id)) return ErrorReply(NotFound(r.route->sdk.resource()));
  return HttpReply::NoBody(r.route->sdk.success_status());
}

HttpReply Actions::List(const ActionRequest& r, Collection& c, bool paginated) const {
  auto query =
      ParseListQuery(r.params, c.model(), paginated, DocumentedListFields(r.route->method));
  if (!query.ok()) return ErrorReply(query.status());
  // Nested routes (/groups/{group_id}/users) and plain scalar params that
  // name model fields narrow the list by equality.
  if (r.params.IsObject()) {
    for (const auto& m : r.params.GetObject()) {
      absl::string_view key(m.name.GetString(), m.name.GetStringLength());
      if (IsListControl(key) || m.value.IsNull() || m.value.IsObject() || m.value.IsArray()) continue;
      const FieldDescriptor* field = ParamField(c.model(), key);
      if (field == nullptr || field->is_repeated() ||
          field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        continue;
      }
      JsonValue value(m.value, Alloc());
      if (key == "path") {
        auto text = AsText(value);
        if (!text || NormalizeKey(*text).empty()) continue;  // the root: everything
        value = JsonString(NormalizeKey(*text));
      }
      auto filter = MakeFilter(Filter::Op::kEq, field, value);
      if (filter.ok()) query->filters.push_back(std::move(*filter));
    }
  }
  if (const FieldDescriptor* workspace = c.model()->FindFieldByName("workspace_id");
      workspace != nullptr && r.workspace_id.has_value()) {
    auto filter = MakeFilter(Filter::Op::kEq, workspace, JsonValue(*r.workspace_id));
    if (filter.ok()) query->filters.push_back(std::move(*filter));
  }
  if (const JsonValue* search = Member(r.params, "search");
      search != nullptr && search->IsString() && search->GetStringLength() > 0) {
    std::vector<std::string> keys = SearchKeys(c.model());
    if (!keys.empty()) {
      Filter filter;
      filter.op = Filter::Op::kSearch;
      filter.key = keys.front();
      filter.also_keys.assign(keys.begin() + 1, keys.end());
      filter.value = JsonString(search->GetString());
      query->filters.push_back(std::move(filter));
    }
  }
  Collection::ListResult page = c.List(*query);
  HttpReply reply = HttpReply::Json(r.route->sdk.success_status(), std::move(page.items_json));
  if (!page.next_cursor.empty()) {
    reply.headers.emplace_back("X-Files-Cursor", page.next_cursor);
    reply.headers.emplace_back("X-Files-Cursor-Next", page.next_cursor);
  }
  return reply;
}

HttpReply Actions::Other(const ActionRequest& r, Collection* c) const {
  const Route& route = *r.route;
  int status = route.sdk.success_status();
  switch (route.shape) {
    case ResponseShape::kEmpty:
      return HttpReply::NoBody(status);
    case ResponseShape::kModel: {
      // The addressed record when the answer is of the resource's own type.
      if (c != nullptr && c->model() == route.model) {
        auto id = Locate(r, *c, /*create_singleton=*/false);
        if (id.ok()) {
          if (auto record = c->Get(*id)) return ModelReply(status, *record);
        }
      }
      int64_t id = 1;
      if (const JsonValue* v = Member(r.params, "id"); v != nullptr) id = AsInt64(*v).value_or(1);
      JsonValue record = SampleRecord(route.model, id);
      JsonValue fields = ModelFields(r.params, route.model);
      for (auto& m : fields.GetObject()) {
        SetMember(record, absl::string_view(m.name.GetString(), m.name.GetStringLength()),
                  JsonValue(m.value, Alloc()));
      }
      return ModelReply(status, record);
    }
    case ResponseShape::kList: {
      JsonValue list(rapidjson::kArrayType);
      list.PushBack(SampleRecord(route.model, 1), Alloc());
      return HttpReply::Json(status, ToJson(list));
    }
  }
  return HttpReply::NoBody(status);
}

HttpReply Actions::Login(const ActionRequest& r) const {
  std::string username, password;
  if (const JsonValue* u = Member(r.params, "username"); u != nullptr && u->IsString()) {
    username = u->GetString();
  }
  if (const JsonValue* p = Member(r.params, "password"); p != nullptr && p->IsString()) {
    password = p->GetString();
  }
  int64_t user_id = 0;
  if (!CheckPassword(username, password, &user_id)) {
    return ErrorReply("not-authenticated/invalid-username-or-password",
                      "Invalid username or password.");
  }
  std::string session_id = sessions_->Create(user_id);
  JsonValue session(rapidjson::kObjectType);
  const Descriptor* model = r.route->model;
  auto set = [&](const char* key, JsonValue value) {
    if (model != nullptr && ParamField(model, key) != nullptr) SetMember(session, key, std::move(value));
  };
  set("id", JsonString(session_id));
  set("username", JsonString(username));
  set("language", JsonString("en"));
  set("read_only", JsonValue(false));
  set("sftp_insecure_ciphers", JsonValue(false));
  return ModelReply(r.route->sdk.success_status(), session);
}

HttpReply Actions::Logout(const ActionRequest& r) const {
  if (!r.session_id.empty()) sessions_->End(r.session_id);
  return HttpReply::NoBody(r.route->sdk.success_status());
}

void Actions::SeedDemoSite() {
  for (const auto& [resource, model] : models_) {
    if (resource == "Session") continue;  // sessions are made by logging in
    if (resource == "File" || resource == "Folder") continue;  // the file system's
    CollectionOf(resource).Put(1, SampleRecord(model, 1));
  }
  if (const Descriptor* user = ResourceModel("User")) {
    Collection& users = CollectionOf("User");
    const char* names[] = {"admin", "alice", "bob", "carol", "dave"};
    for (int i = 0; i < 5; ++i) {
      JsonValue record = SampleRecord(user, i + 1, names[i]);
      if (Member(record, "site_admin") != nullptr) SetMember(record, "site_admin", JsonValue(i == 0));
      users.Put(i + 1, std::move(record));
    }
  }
  if (const Descriptor* group = ResourceModel("Group")) {
    Collection& groups = CollectionOf("Group");
    const char* names[] = {"Administrators", "Engineering", "Sales"};
    for (int i = 0; i < 3; ++i) groups.Put(i + 1, SampleRecord(group, i + 1, names[i]));
  }
}

}  // namespace filesgw::emulator
