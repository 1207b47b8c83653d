// In-memory state: one ordered collection of JSON records per Files.com
// resource (the SDK class name from (files.v1.sdk)), keyed by int64 id, each
// guarded by its own mutex. Knows nothing about HTTP or routes.
//
//   Collection& users = store.Get("User", user_descriptor);
//   int64_t id = users.Insert(std::move(record));        // assigns "id"
//   auto page = users.List(query);                        // JSON array text + cursor
#ifndef FILESGW_EMULATOR_STORE_H_
#define FILESGW_EMULATOR_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "emulator/json.h"
#include "emulator/query.h"
#include "google/protobuf/descriptor.h"

namespace filesgw::emulator {

class Collection {
 public:
  explicit Collection(const google::protobuf::Descriptor* model) : model_(model) {}

  const google::protobuf::Descriptor* model() const { return model_; }

  // Stores `record` under a new id (written into its "id", as a number or a
  // string per the model) and returns the id.
  int64_t Insert(JsonValue record);
  // Stores `record` under `id`, replacing any record there.
  void Put(int64_t id, JsonValue record);

  // A copy of the record, or null. (Not std::optional: clang rejects
  // optional<GenericValue>, whose copy assignment takes a non-const reference.)
  std::unique_ptr<JsonValue> Get(int64_t id) const;
  // The id of the first record whose `key` equals `value` (as text), or nullopt.
  std::optional<int64_t> FindBy(absl::string_view key, absl::string_view value) const;
  // The lowest id, or nullopt when empty.
  std::optional<int64_t> First() const;

  // Merges `changes` into the record (top-level keys); returns the new record, or null.
  std::unique_ptr<JsonValue> Merge(int64_t id, const JsonValue& changes);
  bool Erase(int64_t id);
  size_t size() const;
  void Clear();

  struct ListResult {
    std::string items_json;  // a JSON array
    std::string next_cursor;
    size_t count = 0;
  };
  ListResult List(const ListQuery& query) const;

 private:
  void SetId(JsonValue* record, int64_t id) const;

  const google::protobuf::Descriptor* model_;
  mutable absl::Mutex mu_;
  std::map<int64_t, JsonValue> records_ ABSL_GUARDED_BY(mu_);
  int64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
};

class Store {
 public:
  // The collection of `resource`, created on first use with `model`.
  Collection& Get(const std::string& resource, const google::protobuf::Descriptor* model);
  // Null when the resource has no collection yet.
  Collection* Find(const std::string& resource);
  void Clear();

 private:
  absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<Collection>> collections_ ABSL_GUARDED_BY(mu_);
};

}  // namespace filesgw::emulator

#endif  // FILESGW_EMULATOR_STORE_H_
