#include "emulator/store.h"

#include "absl/strings/str_cat.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace filesgw::emulator {

using google::protobuf::FieldDescriptor;

void Collection::SetId(JsonValue* record, int64_t id) const {
  const FieldDescriptor* field = model_ == nullptr ? nullptr : model_->FindFieldByName("id");
  if (field != nullptr && field->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
    SetMember(*record, "id", JsonString(absl::StrCat(id)));
  } else {
    SetMember(*record, "id", JsonValue(static_cast<int64_t>(id)));
  }
}

int64_t Collection::Insert(JsonValue record) {
  if (!record.IsObject()) record.SetObject();
  absl::MutexLock lock(&mu_);
  int64_t id = next_id_++;
  SetId(&record, id);
  records_[id] = std::move(record);
  return id;
}

void Collection::Put(int64_t id, JsonValue record) {
  if (!record.IsObject()) record.SetObject();
  SetId(&record, id);
  absl::MutexLock lock(&mu_);
  records_[id] = std::move(record);
  if (id >= next_id_) next_id_ = id + 1;
}

std::unique_ptr<JsonValue> Collection::Get(int64_t id) const {
  absl::MutexLock lock(&mu_);
  auto it = records_.find(id);
  if (it == records_.end()) return nullptr;
  return std::make_unique<JsonValue>(it->second, Alloc());
}

std::optional<int64_t> Collection::FindBy(absl::string_view key, absl::string_view value) const {
  absl::MutexLock lock(&mu_);
  for (const auto& [id, record] : records_) {
    const JsonValue* v = Member(record, key);
    if (v == nullptr) continue;
    auto text = AsText(*v);
    if (text && *text == value) return id;
  }
  return std::nullopt;
}

std::optional<int64_t> Collection::First() const {
  absl::MutexLock lock(&mu_);
  if (records_.empty()) return std::nullopt;
  return records_.begin()->first;
}

std::unique_ptr<JsonValue> Collection::Merge(int64_t id, const JsonValue& changes) {
  absl::MutexLock lock(&mu_);
  auto it = records_.find(id);
  if (it == records_.end()) return nullptr;
  if (changes.IsObject()) {
    for (const auto& m : changes.GetObject()) {
      absl::string_view key(m.name.GetString(), m.name.GetStringLength());
      if (key == "id") continue;  // ids never change
      SetMember(it->second, key, JsonValue(m.value, Alloc()));
    }
  }
  return std::make_unique<JsonValue>(it->second, Alloc());
}

bool Collection::Erase(int64_t id) {
  absl::MutexLock lock(&mu_);
  return records_.erase(id) > 0;
}

size_t Collection::size() const {
  absl::MutexLock lock(&mu_);
  return records_.size();
}

void Collection::Clear() {
  absl::MutexLock lock(&mu_);
  records_.clear();
  next_id_ = 1;
}

Collection::ListResult Collection::List(const ListQuery& query) const {
  absl::MutexLock lock(&mu_);
  std::vector<const JsonValue*> all;
  all.reserve(records_.size());
  for (const auto& entry : records_) all.push_back(&entry.second);
  PageResult page = RunQuery(query, all);
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartArray();
  for (const JsonValue* item : page.items) item->Accept(writer);
  writer.EndArray();
  ListResult result;
  result.items_json.assign(buffer.GetString(), buffer.GetSize());
  result.next_cursor = std::move(page.next_cursor);
  result.count = page.items.size();
  return result;
}

Collection& Store::Get(const std::string& resource, const google::protobuf::Descriptor* model) {
  absl::MutexLock lock(&mu_);
  auto& slot = collections_[resource];
  if (slot == nullptr) slot = std::make_unique<Collection>(model);
  return *slot;
}

Collection* Store::Find(const std::string& resource) {
  absl::MutexLock lock(&mu_);
  auto it = collections_.find(resource);
  return it == collections_.end() ? nullptr : it->second.get();
}

void Store::Clear() {
  absl::MutexLock lock(&mu_);
  for (auto& entry : collections_) entry.second->Clear();
}

}  // namespace filesgw::emulator
