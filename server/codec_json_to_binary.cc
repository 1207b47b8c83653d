// JSON -> protobuf wire format without building messages. Every answer from
// Files.com runs through here, so it is a RapidJSON SAX handler that walks
// per-type tables (computed once) and writes tags and values straight into the
// output: no DOM, no Message objects, no reflection on the hot path.
//
// - Numbers arrive as raw text (kParseNumbersAsStringsFlag): int64 stays exact
//   beyond 2^53 and decimals sent as numbers keep their text for string fields.
// - Nested lengths are backpatched: one byte is reserved, and the body is moved
//   only when it turns out to need a longer varint, so each child is written
//   once (plus one memmove per child of 128+ bytes) instead of being built in a
//   scratch buffer and copied. 1,000 users: ~215 MB/s (bench/converter_bench.cc).
// - Repeated scalars are written unpacked; every parser accepts both forms and
//   the element count is not known up front.
// - Nothing Files.com sends is lost. A key the message lacks, or whose JSON
//   shape does not fit its field, goes to the message's `unmapped_fields`
//   Struct (field 500000) as one occurrence of that field per key: parsers
//   merge repeated occurrences of a message field, and the map entries with
//   it, so no Struct is built or buffered. A misfit element of a repeated
//   field is found after earlier elements are written: those are cut off
//   again and the whole array is re-read from the input text into
//   `unmapped_fields` once it ends. Known keys cost nothing more.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "client_core/utf8.h"
#include "proto/api_pool.h"
#include "rapidjson/error/en.h"
#include "rapidjson/reader.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "server/codec.h"
#include "server/codec_internal.h"

namespace filesgw::server {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumDescriptor;
using google::protobuf::FieldDescriptor;

// Debian's Abseil keeps its own string_view type, distinct from std's.
absl::string_view AsAbsl(std::string_view text) { return {text.data(), text.size()}; }

enum class Kind : uint8_t {
  kInt32, kInt64, kUInt32, kUInt64, kSInt32, kSInt64, kFixed32, kFixed64, kSFixed32,
  kSFixed64, kFloat, kDouble, kBool, kEnum, kString, kBytes,
  kMessage, kStruct, kValue, kListValue, kMap,
  kAuto,  // files.v1.Auto {Struct dynamic = 1; Value value = 2}: any JSON value
};

constexpr uint32_t kWireVarint = 0;
constexpr uint32_t kWireFixed64 = 1;
constexpr uint32_t kWireLen = 2;
constexpr uint32_t kWireFixed32 = 5;

// google.protobuf.Struct / Value / ListValue field numbers (struct.proto).
constexpr char kStructFieldsTag = (1 << 3) | kWireLen;   // Struct.fields (map entry)
constexpr char kEntryKeyTag = (1 << 3) | kWireLen;       // map entry key
constexpr char kEntryValueTag = (2 << 3) | kWireLen;     // map entry value
constexpr char kValueNullTag = (1 << 3) | kWireVarint;
constexpr char kValueNumberTag = (2 << 3) | kWireFixed64;
constexpr char kValueStringTag = (3 << 3) | kWireLen;
constexpr char kValueBoolTag = (4 << 3) | kWireVarint;
constexpr char kValueStructTag = (5 << 3) | kWireLen;
constexpr char kValueListTag = (6 << 3) | kWireLen;
constexpr char kListValuesTag = (1 << 3) | kWireLen;
// files.v1.Auto fields (proto/generate.py).
constexpr char kAutoDynamicTag = (1 << 3) | kWireLen;
constexpr char kAutoValueTag = (2 << 3) | kWireLen;

struct Table;

struct FieldInfo {
  const FieldDescriptor* field = nullptr;
  std::string_view key;  // the Files.com key; points into the descriptor
  Kind kind = Kind::kString;
  bool repeated = false;  // repeated and not a map
  uint8_t tag_len = 0;
  char tag[5] = {};
  const Table* table = nullptr;  // kMessage: its type; kMap: the entry type
  const EnumDescriptor* enum_type = nullptr;
};

struct Table {
  const Descriptor* descriptor = nullptr;
  std::vector<FieldInfo> fields;
  absl::flat_hash_map<std::string_view, const FieldInfo*> by_key;
  // `unmapped_fields` (in `fields`, never in `by_key`), or null.
  const FieldInfo* unmapped = nullptr;
};

bool IsAuto(const Descriptor* type) {
  if (type->full_name() != "files.v1.Auto") return false;
  const FieldDescriptor* dynamic = type->FindFieldByNumber(1);
  const FieldDescriptor* value = type->FindFieldByNumber(2);
  return dynamic != nullptr && value != nullptr && dynamic->message_type() != nullptr &&
         value->message_type() != nullptr && !dynamic->is_repeated() && !value->is_repeated() &&
         dynamic->message_type()->full_name() == "google.protobuf.Struct" &&
         value->message_type()->full_name() == "google.protobuf.Value";
}

Kind KindOf(const FieldDescriptor* field) {
  if (field->is_map()) return Kind::kMap;
  switch (field->type()) {
    case FieldDescriptor::TYPE_INT32: return Kind::kInt32;
    case FieldDescriptor::TYPE_INT64: return Kind::kInt64;
    case FieldDescriptor::TYPE_UINT32: return Kind::kUInt32;
    case FieldDescriptor::TYPE_UINT64: return Kind::kUInt64;
    case FieldDescriptor::TYPE_SINT32: return Kind::kSInt32;
    case FieldDescriptor::TYPE_SINT64: return Kind::kSInt64;
    case FieldDescriptor::TYPE_FIXED32: return Kind::kFixed32;
    case FieldDescriptor::TYPE_FIXED64: return Kind::kFixed64;
    case FieldDescriptor::TYPE_SFIXED32: return Kind::kSFixed32;
    case FieldDescriptor::TYPE_SFIXED64: return Kind::kSFixed64;
    case FieldDescriptor::TYPE_FLOAT: return Kind::kFloat;
    case FieldDescriptor::TYPE_DOUBLE: return Kind::kDouble;
    case FieldDescriptor::TYPE_BOOL: return Kind::kBool;
    case FieldDescriptor::TYPE_ENUM: return Kind::kEnum;
    case FieldDescriptor::TYPE_STRING: return Kind::kString;
    case FieldDescriptor::TYPE_BYTES: return Kind::kBytes;
    case FieldDescriptor::TYPE_MESSAGE:
    case FieldDescriptor::TYPE_GROUP: {
      const std::string& name = field->message_type()->full_name();
      if (name == "google.protobuf.Struct") return Kind::kStruct;
      if (name == "google.protobuf.Value") return Kind::kValue;
      if (name == "google.protobuf.ListValue") return Kind::kListValue;
      if (IsAuto(field->message_type())) return Kind::kAuto;
      return Kind::kMessage;
    }
  }
  return Kind::kString;
}

uint32_t WireTypeOf(Kind kind) {
  switch (kind) {
    case Kind::kFixed64: case Kind::kSFixed64: case Kind::kDouble: return kWireFixed64;
    case Kind::kFixed32: case Kind::kSFixed32: case Kind::kFloat: return kWireFixed32;
    case Kind::kString: case Kind::kBytes: case Kind::kMessage: case Kind::kStruct:
    case Kind::kValue: case Kind::kListValue: case Kind::kMap: case Kind::kAuto: return kWireLen;
    default: return kWireVarint;
  }
}

// Tables for every type reachable from the one asked for, built once under the
// lock; afterwards readers only take a shared lock to find the root table.
// Descriptors must live as long as the process (Api()'s pool and the generated
// pool do), since tables are keyed by their address.
class Registry {
 public:
  const Table* Get(const Descriptor* type) {
    {
      absl::ReaderMutexLock lock(&mu_);
      auto it = tables_.find(type);
      if (it != tables_.end()) return it->second.get();
    }
    absl::MutexLock lock(&mu_);
    return BuildLocked(type);
  }

 private:
  Table* BuildLocked(const Descriptor* type) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto& slot = tables_[type];
    if (slot != nullptr) return slot.get();
    slot = std::make_unique<Table>();
    // Registered before its fields are filled, so recursive types terminate.
    Table* table = slot.get();
    table->descriptor = type;
    table->fields.resize(type->field_count());
    for (int i = 0; i < type->field_count(); ++i) {
      const FieldDescriptor* field = type->field(i);
      FieldInfo& info = table->fields[i];
      info.field = field;
      info.key = codec_internal::FilesKey(field);
      info.kind = KindOf(field);
      info.repeated = field->is_repeated() && !field->is_map();
      uint64_t tag = (static_cast<uint64_t>(field->number()) << 3) | WireTypeOf(info.kind);
      while (tag >= 0x80) {
        info.tag[info.tag_len++] = static_cast<char>(tag | 0x80);
        tag >>= 7;
      }
      info.tag[info.tag_len++] = static_cast<char>(tag);
      if (info.kind == Kind::kMessage || info.kind == Kind::kMap) {
        info.table = BuildLocked(field->message_type());
      }
      if (info.kind == Kind::kEnum) info.enum_type = field->enum_type();
    }
    for (const FieldInfo& info : table->fields) {
      if (proto::IsUnmappedFields(info.field)) {
        table->unmapped = &info;
        continue;
      }
      table->by_key.emplace(info.key, &info);
      // The proto name too, for keys whose Files.com spelling differs ("x?").
      table->by_key.emplace(info.field->name(), &info);
    }
    return table;
  }

  absl::Mutex mu_;
  absl::flat_hash_map<const Descriptor*, std::unique_ptr<Table>> tables_ ABSL_GUARDED_BY(mu_);
};

Registry& Tables() {
  static Registry* registry = new Registry;
  return *registry;
}

enum class Json : uint8_t { kNull, kBool, kNumber, kString, kObject, kArray };

const char* Describe(Json json) {
  switch (json) {
    case Json::kNull: return "null";
    case Json::kBool: return "a boolean";
    case Json::kNumber: return "a number";
    case Json::kString: return "a string";
    case Json::kObject: return "an object";
    case Json::kArray: return "an array";
  }
  return "a value";
}

const char* Expected(Kind kind) {
  switch (kind) {
    case Kind::kInt32: case Kind::kSInt32: case Kind::kSFixed32: return "an int32";
    case Kind::kInt64: case Kind::kSInt64: case Kind::kSFixed64: return "an int64";
    case Kind::kUInt32: case Kind::kFixed32: return "a uint32";
    case Kind::kUInt64: case Kind::kFixed64: return "a uint64";
    case Kind::kFloat: case Kind::kDouble: return "a number";
    case Kind::kBool: return "a boolean";
    case Kind::kEnum: return "an enum name or number";
    case Kind::kString: return "a string";
    case Kind::kBytes: return "a base64 string";
    case Kind::kMessage: case Kind::kStruct: case Kind::kMap: return "an object";
    case Kind::kValue: case Kind::kAuto: return "a JSON value";
    case Kind::kListValue: return "an array";
  }
  return "a value";
}

bool ParseDouble(std::string_view text, double* out) {
  if (text.empty()) return false;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  if (ec == std::errc() && ptr == end) return true;
  if (text == "NaN") *out = std::nan("");
  else if (text == "Infinity") *out = HUGE_VAL;
  else if (text == "-Infinity") *out = -HUGE_VAL;
  else return false;
  return true;
}

// Integers come as "42", but also as "42.0" or "4.2e1" from some producers;
// those are accepted when they are exact integers in range.
template <typename Int>
bool ParseInteger(std::string_view text, Int* out) {
  if (text.empty()) return false;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  if (ec == std::errc() && ptr == end) return true;
  if (ec == std::errc::result_out_of_range) return false;
  double value = 0;
  if (!ParseDouble(text, &value) || !std::isfinite(value) || value != std::trunc(value)) {
    return false;
  }
  // 2^63 and 2^64 are exact doubles; the bounds below keep the cast defined.
  if (std::is_signed_v<Int>) {
    if (value < -9223372036854775808.0 || value >= 9223372036854775808.0) return false;
    const auto wide = static_cast<int64_t>(value);
    if (wide < static_cast<int64_t>(std::numeric_limits<Int>::min()) ||
        wide > static_cast<int64_t>(std::numeric_limits<Int>::max())) {
      return false;
    }
    *out = static_cast<Int>(wide);
  } else {
    if (value < 0 || value >= 18446744073709551616.0) return false;
    const auto wide = static_cast<uint64_t>(value);
    if (wide > static_cast<uint64_t>(std::numeric_limits<Int>::max())) return false;
    *out = static_cast<Int>(wide);
  }
  return true;
}

constexpr int kMaxNesting = 100;

enum class FrameType : uint8_t { kMessage, kArray, kMap, kStruct, kList, kSkip, kStringify };

size_t VarintSize(uint64_t value) {
  size_t n = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++n;
  }
  return n;
}

struct Frame {
  FrameType type = FrameType::kMessage;
  uint8_t open_count = 0;
  bool auto_object = false;  // kStruct: an Auto's `dynamic`, copied to its `value` at the end
  int32_t depth = 0;     // kSkip / kStringify: container nesting
  int32_t index = -1;    // kArray / kList: the element being read
  uint32_t hint = 0;     // kMessage: the field expected next (keys usually come in order)
  const Table* table = nullptr;        // kMessage: its type; kMap: the entry type
  const FieldInfo* field = nullptr;    // kArray: element field; kMap: the map; kStringify: target
  const FieldInfo* pending = nullptr;  // kMessage: field of the last key, null when unknown
  std::string_view key;                // kMessage / kMap / kStruct: the last key;
                                       // kArray / kSkip with `owner`: the array's key
  size_t opens[4] = {};                // length prefixes to close, innermost last
  // kArray of a message that has unmapped_fields (and the kSkip it turns into
  // when an element misfits): that field, where the array starts in the
  // input ('[') and how long the output was before its first element.
  // kStruct / kList with `unmapped_root`: the value of an unmapped_fields
  // entry (same `owner`, `key`, `in_start`; `out_start` before the entry's
  // tag), kept as its JSON text if it nests too deep for protobuf.
  const FieldInfo* owner = nullptr;
  size_t in_start = 0;
  size_t out_start = 0;
  int32_t nesting_at = 0;      // unmapped_root: output nesting before the entry
  bool unmapped_root = false;
  bool as_text = false;        // kSkip with `owner`: keep the value as a JSON string
};

enum class Put : uint8_t { kOk, kMisfit, kError };

class Encoder : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, Encoder> {
 public:
  // `list_field` set: the document must be an array of its elements. `json`
  // is the caller's text (not the in-situ copy `stream` reads), from which a
  // misfit array is re-read. `report` may be null.
  Encoder(const Table* root, const FieldInfo* list_field, std::string* out,
          std::string_view json, rapidjson::InsituStringStream* stream,
          UnmappedReport* report)
      : root_(root), list_field_(list_field), out_(out), json_(json), stream_(stream),
        report_(report) {
    stack_.reserve(16);
  }

  const absl::Status& status() const { return status_; }
  bool done() const { return stack_.empty(); }

  // ---- RapidJSON SAX events ----
  bool Null() { return Scalar(Json::kNull, {}) && DepthOk(); }
  bool Bool(bool b) {
    return Scalar(Json::kBool, b ? std::string_view("true") : "false") && DepthOk();
  }
  bool RawNumber(const char* str, rapidjson::SizeType length, bool /*copy*/) {
    return Scalar(Json::kNumber, std::string_view(str, length)) && DepthOk();
  }
  bool String(const char* str, rapidjson::SizeType length, bool /*copy*/) {
    RepairSurrogates(str, length);
    return Scalar(Json::kString, std::string_view(str, length)) && DepthOk();
  }
  bool Key(const char* str, rapidjson::SizeType length, bool /*copy*/) {
    RepairSurrogates(str, length);
    Frame& frame = stack_.back();
    const std::string_view key(str, length);
    switch (frame.type) {
      case FrameType::kMessage: {
        frame.key = key;
        const auto& fields = frame.table->fields;
        if (frame.hint < fields.size() && fields[frame.hint].key == key &&
            &fields[frame.hint] != frame.table->unmapped) {
          frame.pending = &fields[frame.hint++];
          return true;
        }
        auto it = frame.table->by_key.find(key);
        if (it == frame.table->by_key.end()) {
          frame.pending = nullptr;  // to unmapped_fields, or skipped when the message has none
          return true;
        }
        frame.pending = it->second;
        frame.hint = static_cast<uint32_t>(it->second - fields.data()) + 1;
        return true;
      }
      case FrameType::kMap:
      case FrameType::kStruct:
        frame.key = key;
        return true;
      case FrameType::kStringify:
        return stringify_.Key(str, length);
      default:
        return true;
    }
  }

  bool StartObject() { return StartContainer(Json::kObject) && DepthOk(); }
  bool StartArray() { return StartContainer(Json::kArray) && DepthOk(); }
  bool EndObject(rapidjson::SizeType) { return EndContainer(Json::kObject); }
  bool EndArray(rapidjson::SizeType) { return EndContainer(Json::kArray); }

 private:
  // ---- output ----
  void PutVarint(uint64_t value) {
    char buf[10];
    int n = 0;
    while (value >= 0x80) {
      buf[n++] = static_cast<char>(value | 0x80);
      value >>= 7;
    }
    buf[n++] = static_cast<char>(value);
    out_->append(buf, n);
  }
  void PutTag(const FieldInfo& field) { out_->append(field.tag, field.tag_len); }
  void PutFixed64(uint64_t value) {
    char buf[8];
    for (int i = 0; i < 8; ++i) buf[i] = static_cast<char>(value >> (8 * i));
    out_->append(buf, 8);
  }
  void PutFixed32(uint32_t value) {
    char buf[4];
    for (int i = 0; i < 4; ++i) buf[i] = static_cast<char>(value >> (8 * i));
    out_->append(buf, 4);
  }
  void PutBytes(std::string_view bytes) {
    PutVarint(bytes.size());
    out_->append(bytes.data(), bytes.size());
  }
  // Reserves one byte for a length prefix; Close() fills it in.
  size_t Open() {
    deepest_ = std::max(deepest_, ++nesting_);
    out_->push_back('\0');
    return out_->size() - 1;
  }
  void Close(size_t at) {
    --nesting_;
    uint64_t length = out_->size() - at - 1;
    if (length < 0x80) {
      (*out_)[at] = static_cast<char>(length);
      return;
    }
    char buf[10];
    int n = 0;
    while (length >= 0x80) {
      buf[n++] = static_cast<char>(length | 0x80);
      length >>= 7;
    }
    buf[n++] = static_cast<char>(length);
    out_->insert(at + 1, n - 1, '\0');
    std::memcpy(&(*out_)[at], buf, n);
  }
  void CloseAll(const Frame& frame) {
    for (int i = frame.open_count - 1; i >= 0; --i) Close(frame.opens[i]);
  }

  // ---- checks ----
  // Strict parsers (C++, Java, Python's upb) refuse a message nested more
  // than 100 levels deep, and each JSON level inside a Struct costs two or
  // three (map entry, Value, Struct or ListValue): an answer that deep would
  // reach the caller as bytes its stub cannot parse, so it is refused here.
  bool DepthOk() {
    if (ABSL_PREDICT_TRUE(deepest_ <= kMaxNesting)) return true;
    return DepthExceeded();
  }
  ABSL_ATTRIBUTE_NOINLINE bool DepthExceeded() {
    // A value bound for unmapped_fields that nests too deep is kept as its
    // JSON text instead: what was written of it goes, the rest is skipped.
    for (size_t i = 0; i < stack_.size(); ++i) {
      Frame& frame = stack_[i];
      if (!frame.unmapped_root) continue;
      const auto levels = static_cast<int32_t>(stack_.size() - i);
      out_->resize(frame.out_start);
      nesting_ = deepest_ = frame.nesting_at;
      frame.type = FrameType::kSkip;
      frame.depth = levels;
      frame.as_text = true;
      frame.unmapped_root = false;
      stack_.resize(i + 1);
      return true;
    }
    deepest_ = 0;  // report once
    return FailText(absl::StrCat("nested more than ", kMaxNesting,
                                 " messages deep (the limit of protobuf parsers)"));
  }

  // RapidJSON validates the raw bytes, but decodes a "\udc00" escape (a
  // lone low surrogate, which JSON's grammar allows) to ED B0 80: not UTF-8,
  // and a proto string must be. Such a character becomes U+FFFD, also three
  // bytes, in place (the document is parsed in situ, so `str` points into the
  // gateway's own copy of it).
  static void RepairSurrogates(const char* str, size_t length) {
    char* text = const_cast<char*>(str);
    const void* found;
    size_t at = 0;
    while (at + 2 < length &&
           (found = std::memchr(text + at, '\xED', length - at - 2)) != nullptr) {
      at = static_cast<size_t>(static_cast<char*>(const_cast<void*>(found)) - text);
      if ((static_cast<unsigned char>(text[at + 1]) & 0xE0) == 0xA0) {
        text[at] = '\xEF';
        text[at + 1] = '\xBF';
        text[at + 2] = '\xBD';
        at += 3;
      } else {
        ++at;
      }
    }
  }

  // ---- errors ----
  bool Fail(const char* expected, Json got) {
    status_ = absl::InvalidArgumentError(
        absl::StrCat(Path(), ": expected ", expected, ", got ", Describe(got)));
    return false;
  }
  bool FailText(std::string_view what) {
    status_ = absl::InvalidArgumentError(absl::StrCat(Path(), ": ", AsAbsl(what)));
    return false;
  }
  // The error for the misfit PutScalar last reported, where nothing can hold it.
  ABSL_ATTRIBUTE_NOINLINE bool FailMisfit(Json got) {
    if (!misfit_text_.empty()) return FailText(misfit_text_);
    return Fail(misfit_expected_, got);
  }
  Put Misfit(const char* expected) {
    misfit_expected_ = expected;
    misfit_text_.clear();
    return Put::kMisfit;
  }
  Put MisfitText(std::string text) {
    misfit_text_ = std::move(text);
    return Put::kMisfit;
  }

  // ---- unmapped_fields ----
  // Out of line: the rare paths of Scalar().
  ABSL_ATTRIBUTE_NOINLINE bool UnknownScalar(const Frame& frame, Json json, std::string_view text) {
    if (frame.table->unmapped == nullptr) return true;  // skipped
    Note(/*misfit=*/false, frame.key);
    PutUnmappedScalar(*frame.table->unmapped, frame.key, json, text);
    return true;
  }
  ABSL_ATTRIBUTE_NOINLINE bool MisfitScalar(const Frame& frame, Json json, std::string_view text) {
    if (frame.table->unmapped == nullptr) return FailMisfit(json);
    Note(/*misfit=*/true, frame.key);
    PutUnmappedScalar(*frame.table->unmapped, frame.key, json, text);
    return true;
  }
  ABSL_ATTRIBUTE_NOINLINE bool MisfitElement(Frame& frame, Json json) {
    if (frame.owner == nullptr) return FailMisfit(json);
    AbandonArray(&frame, /*at_container=*/false);
    return true;
  }
  // Out of line: the rare paths of StartContainer() in a message.
  ABSL_ATTRIBUTE_NOINLINE bool UnknownContainer(const Frame& frame, Json json) {
    const FieldInfo* unmapped = frame.table->unmapped;
    if (unmapped == nullptr) {
      Push(FrameType::kSkip).depth = 1;
      return true;
    }
    Note(/*misfit=*/false, frame.key);
    StartUnmappedContainer(*unmapped, frame.key, json);
    return true;
  }
  ABSL_ATTRIBUTE_NOINLINE bool MisfitContainer(const Frame& frame, Json json) {
    const FieldInfo* unmapped = frame.table->unmapped;
    if (unmapped == nullptr) return StartFor(*frame.pending, json, false, {});  // fails, naming it
    Note(/*misfit=*/true, frame.key);
    StartUnmappedContainer(*unmapped, frame.key, json);
    return true;
  }
  // A repeated field's array in a message with unmapped_fields: remembered so
  // that a misfit element can send the whole array there.
  bool StartOwnedArray(const Frame& frame, const FieldInfo& field) {
    const FieldInfo* unmapped = frame.table->unmapped;
    const std::string_view key = frame.key;
    const size_t out_start = out_->size();
    if (!StartFor(field, Json::kArray, false, {})) return false;
    Frame& array = stack_.back();
    array.owner = unmapped;
    array.key = key;
    array.in_start = stream_ != nullptr ? stream_->Tell() : 0;  // at the '['
    array.out_start = out_start;
    return true;
  }

  // Counts one key and keeps the first few paths for the log line: message
  // and field names only ("files.v1.ListUsersResponse.items[].new_key"),
  // never a value or an index.
  ABSL_ATTRIBUTE_NOINLINE void Note(bool misfit, std::string_view key) {
    if (report_ == nullptr) return;
    ++(misfit ? report_->misfit : report_->unknown);
    if (report_->paths.size() >= UnmappedReport::kMaxPaths) return;
    std::string path(root_ != nullptr ? root_->descriptor->full_name() : "");
    if (list_field_ != nullptr) absl::StrAppend(&path, ".", AsAbsl(list_field_->key));
    for (const Frame& frame : stack_) {
      if (frame.type == FrameType::kMessage && frame.pending != nullptr) {
        absl::StrAppend(&path, ".", AsAbsl(frame.key));
      } else if (frame.type == FrameType::kArray || frame.type == FrameType::kSkip) {
        path += "[]";
      }
    }
    const Frame& top = stack_.back();
    if (top.type == FrameType::kMessage && top.pending == nullptr) {
      absl::StrAppend(&path, ".", AsAbsl(key));
    }
    if (std::find(report_->paths.begin(), report_->paths.end(), path) == report_->paths.end()) {
      report_->paths.push_back(std::move(path));
    }
  }
  // unmapped_fields {fields {key: <scalar>}}, as its own occurrence.
  ABSL_ATTRIBUTE_NOINLINE void PutUnmappedScalar(const FieldInfo& unmapped, std::string_view key, Json json,
                         std::string_view text) {
    PutTag(unmapped);
    const size_t wrapper = Open();
    size_t value;
    const size_t entry = OpenStructEntry(key, &value);
    PutValueScalar(json, text);
    Close(value);
    Close(entry);
    Close(wrapper);
  }
  // unmapped_fields {fields {key: <object or array>}}: the frame that reads
  // the container closes all four.
  ABSL_ATTRIBUTE_NOINLINE void StartUnmappedContainer(const FieldInfo& unmapped, std::string_view key, Json json) {
    const size_t out_start = out_->size();
    const int32_t nesting_at = nesting_;
    PutTag(unmapped);
    const size_t wrapper = Open();
    size_t value;
    const size_t entry = OpenStructEntry(key, &value);
    out_->push_back(json == Json::kObject ? kValueStructTag : kValueListTag);
    const size_t inner = Open();
    Frame& child = Push(json == Json::kObject ? FrameType::kStruct : FrameType::kList);
    child.opens[0] = wrapper;
    child.opens[1] = entry;
    child.opens[2] = value;
    child.opens[3] = inner;
    child.open_count = 4;
    child.unmapped_root = true;
    child.owner = &unmapped;
    child.key = key;
    child.in_start = stream_ != nullptr ? stream_->Tell() : 0;  // at the '{' or '['
    child.out_start = out_start;
    child.nesting_at = nesting_at;
  }
  // An element of the array in `frame` (a kArray with an owner) does not fit:
  // what the array wrote so far is cut off, the rest of it is skipped, and
  // when it ends the whole array is re-read into unmapped_fields.
  ABSL_ATTRIBUTE_NOINLINE void AbandonArray(Frame* frame, bool at_container) {
    Note(/*misfit=*/true, frame->key);
    out_->resize(frame->out_start);
    frame->type = FrameType::kSkip;
    frame->depth = at_container ? 2 : 1;
  }
  // `raw` (one JSON value, from the caller's text) as unmapped_fields[key].
  ABSL_ATTRIBUTE_NOINLINE bool PutUnmappedRaw(const FieldInfo& unmapped, std::string_view key, std::string_view raw) {
    const size_t before = out_->size();
    std::string copy;
    copy.reserve(raw.size() + 4);
    copy.append(raw.data(), raw.size());
    copy.append(4, '\0');
    PutTag(unmapped);
    const size_t wrapper = Open();
    Encoder sub(nullptr, nullptr, out_, raw, nullptr, nullptr);
    sub.nesting_at_start_ = nesting_ - 1;  // before `wrapper`
    sub.nesting_ = nesting_;
    sub.deepest_ = deepest_;
    Frame& seed = sub.Push(FrameType::kStruct);
    seed.key = key;
    rapidjson::Reader reader;
    rapidjson::InsituStringStream stream(copy.data());
    reader.Parse<rapidjson::kParseInsituFlag | rapidjson::kParseNumbersAsStringsFlag |
                 rapidjson::kParseIterativeFlag | rapidjson::kParseStopWhenDoneFlag>(stream, sub);
    if (!sub.status_.ok()) {
      // Too deep for protobuf: its JSON text instead.
      out_->resize(before);
      nesting_ = deepest_ = sub.nesting_at_start_;
      PutUnmappedScalar(unmapped, key, Json::kString, raw);
      return true;
    }
    Close(wrapper);
    return true;
  }
  std::string Path() const {
    std::string path(root_ != nullptr ? root_->descriptor->full_name() : "");
    if (list_field_ != nullptr) absl::StrAppend(&path, ".", AsAbsl(list_field_->key));
    for (const Frame& frame : stack_) {
      switch (frame.type) {
        case FrameType::kMessage:
          if (frame.pending != nullptr) absl::StrAppend(&path, ".", AsAbsl(frame.key));
          break;
        case FrameType::kArray:
        case FrameType::kList:
          absl::StrAppend(&path, "[", frame.index, "]");
          break;
        case FrameType::kMap:
        case FrameType::kStruct:
          absl::StrAppend(&path, "[\"", AsAbsl(frame.key), "\"]");
          break;
        default:
          break;
      }
    }
    return path;
  }

  // ---- values ----
  // One scalar JSON value for `field` (an element when the field is repeated).
  // kMisfit: nothing written, the value does not fit the field.
  Put PutScalar(const FieldInfo& field, Json json, std::string_view text) {
    switch (field.kind) {
      case Kind::kString:
        // Decimals sent as numbers keep their exact text; bools their name.
        if (json == Json::kObject || json == Json::kArray) break;
        PutTag(field);
        PutBytes(text);
        return Put::kOk;
      case Kind::kBool:
        if (json == Json::kBool || (json == Json::kString && (text == "true" || text == "false"))) {
          PutTag(field);
          out_->push_back(text == "true" ? 1 : 0);
          return Put::kOk;
        }
        break;
      case Kind::kBytes: {
        if (json != Json::kString) break;
        std::string decoded;
        if (!absl::Base64Unescape(AsAbsl(text), &decoded) &&
            !absl::WebSafeBase64Unescape(AsAbsl(text), &decoded)) {
          return MisfitText("invalid base64");
        }
        PutTag(field);
        PutBytes(decoded);
        return Put::kOk;
      }
      case Kind::kDouble:
      case Kind::kFloat: {
        double value = 0;
        if ((json != Json::kNumber && json != Json::kString) || !ParseDouble(text, &value)) break;
        PutTag(field);
        if (field.kind == Kind::kDouble) {
          uint64_t bits;
          std::memcpy(&bits, &value, 8);
          PutFixed64(bits);
        } else {
          const float narrow = static_cast<float>(value);
          uint32_t bits;
          std::memcpy(&bits, &narrow, 4);
          PutFixed32(bits);
        }
        return Put::kOk;
      }
      case Kind::kEnum: {
        int32_t number = 0;
        if (json == Json::kString) {
          const auto* value = field.enum_type->FindValueByName(std::string(text));
          if (value != nullptr) number = value->number();
          else if (!ParseInteger(text, &number)) {
            return MisfitText(absl::StrCat("unknown enum value \"", AsAbsl(text), "\""));
          }
        } else if (json != Json::kNumber || !ParseInteger(text, &number)) {
          break;
        }
        PutTag(field);
        PutVarint(static_cast<uint64_t>(static_cast<int64_t>(number)));
        return Put::kOk;
      }
      case Kind::kInt32: case Kind::kSInt32: case Kind::kSFixed32: {
        int32_t value = 0;
        if ((json != Json::kNumber && json != Json::kString) || !ParseInteger(text, &value)) break;
        PutTag(field);
        if (field.kind == Kind::kInt32) PutVarint(static_cast<uint64_t>(static_cast<int64_t>(value)));
        else if (field.kind == Kind::kSInt32) PutVarint((static_cast<uint32_t>(value) << 1) ^ static_cast<uint32_t>(value >> 31));
        else PutFixed32(static_cast<uint32_t>(value));
        return Put::kOk;
      }
      case Kind::kInt64: case Kind::kSInt64: case Kind::kSFixed64: {
        int64_t value = 0;
        if ((json != Json::kNumber && json != Json::kString) || !ParseInteger(text, &value)) break;
        PutTag(field);
        if (field.kind == Kind::kInt64) PutVarint(static_cast<uint64_t>(value));
        else if (field.kind == Kind::kSInt64) PutVarint((static_cast<uint64_t>(value) << 1) ^ static_cast<uint64_t>(value >> 63));
        else PutFixed64(static_cast<uint64_t>(value));
        return Put::kOk;
      }
      case Kind::kUInt32: case Kind::kFixed32: {
        uint32_t value = 0;
        if ((json != Json::kNumber && json != Json::kString) || !ParseInteger(text, &value)) break;
        PutTag(field);
        if (field.kind == Kind::kUInt32) PutVarint(value);
        else PutFixed32(value);
        return Put::kOk;
      }
      case Kind::kUInt64: case Kind::kFixed64: {
        uint64_t value = 0;
        if ((json != Json::kNumber && json != Json::kString) || !ParseInteger(text, &value)) break;
        PutTag(field);
        if (field.kind == Kind::kUInt64) PutVarint(value);
        else PutFixed64(value);
        return Put::kOk;
      }
      case Kind::kValue: {
        PutTag(field);
        const size_t at = Open();
        PutValueScalar(json, text);
        Close(at);
        return Put::kOk;
      }
      case Kind::kAuto: {
        PutTag(field);
        const size_t at = Open();
        out_->push_back(kAutoValueTag);
        const size_t value = Open();
        PutValueScalar(json, text);
        Close(value);
        Close(at);
        return Put::kOk;
      }
      case Kind::kMessage: case Kind::kStruct: case Kind::kListValue: case Kind::kMap:
        break;
    }
    return Misfit(Expected(field.kind));
  }

  // The body of a google.protobuf.Value holding a scalar.
  void PutValueScalar(Json json, std::string_view text) {
    switch (json) {
      case Json::kNull:
        out_->push_back(kValueNullTag);
        out_->push_back('\0');  // oneof member: present even when zero
        return;
      case Json::kBool:
        out_->push_back(kValueBoolTag);
        out_->push_back(text == "true" ? 1 : 0);
        return;
      case Json::kNumber: {
        double value = 0;
        ParseDouble(text, &value);  // RapidJSON already validated the syntax
        uint64_t bits;
        std::memcpy(&bits, &value, 8);
        out_->push_back(kValueNumberTag);
        PutFixed64(bits);
        return;
      }
      default:
        out_->push_back(kValueStringTag);
        PutBytes(text);
        return;
    }
  }

  // A Struct entry's key and an open Value; returns the entry position and
  // leaves the Value's position in *value.
  size_t OpenStructEntry(std::string_view key, size_t* value) {
    out_->push_back(kStructFieldsTag);
    const size_t entry = Open();
    out_->push_back(kEntryKeyTag);
    PutBytes(key);
    out_->push_back(kEntryValueTag);
    *value = Open();
    return entry;
  }

  // A map entry with its key written; the caller writes the value.
  bool OpenMapEntry(const Frame& frame, size_t* entry) {
    PutTag(*frame.field);
    *entry = Open();
    const FieldInfo& key = frame.table->fields[0];
    if (key.kind == Kind::kString) {
      PutTag(key);
      PutBytes(frame.key);
      return true;
    }
    const Json json = key.kind == Kind::kBool ? Json::kString : Json::kNumber;
    const Put put = PutScalar(key, json, frame.key);
    return put == Put::kOk || (put == Put::kMisfit && FailMisfit(json));
  }

  bool Scalar(Json json, std::string_view text) {
    if (stack_.empty()) {
      // A list answer must be an array; a message answer of `null` is empty.
      if (list_field_ == nullptr && json == Json::kNull) return true;
      return Fail(list_field_ != nullptr ? "an array" : "an object", json);
    }
    Frame& frame = stack_.back();
    switch (frame.type) {
      case FrameType::kMessage: {
        // The common case stays small; what does not fit goes out of line.
        const FieldInfo* pending = frame.pending;
        if (ABSL_PREDICT_FALSE(pending == nullptr)) return UnknownScalar(frame, json, text);
        if (json == Json::kNull && pending->kind != Kind::kAuto) return true;
        const Put put = PutScalar(*pending, json, text);
        if (ABSL_PREDICT_TRUE(put == Put::kOk)) return true;
        return put == Put::kMisfit && MisfitScalar(frame, json, text);
      }
      case FrameType::kArray: {
        ++frame.index;
        if (json == Json::kNull) return true;
        const Put put = PutScalar(*frame.field, json, text);
        if (ABSL_PREDICT_TRUE(put == Put::kOk)) return true;
        return put == Put::kMisfit && MisfitElement(frame, json);
      }
      case FrameType::kMap: {
        if (json == Json::kNull) return true;
        size_t entry;
        if (!OpenMapEntry(frame, &entry)) return false;
        const Put put = PutScalar(frame.table->fields[1], json, text);
        if (put == Put::kMisfit) return FailMisfit(json);
        if (put == Put::kError) return false;
        Close(entry);
        return true;
      }
      case FrameType::kStruct: {
        size_t value;
        const size_t entry = OpenStructEntry(frame.key, &value);
        PutValueScalar(json, text);
        Close(value);
        Close(entry);
        return true;
      }
      case FrameType::kList: {
        ++frame.index;
        out_->push_back(kListValuesTag);
        const size_t value = Open();
        PutValueScalar(json, text);
        Close(value);
        return true;
      }
      case FrameType::kSkip:
        return true;
      case FrameType::kStringify:
        switch (json) {
          case Json::kNull: return stringify_.Null();
          case Json::kBool: return stringify_.Bool(text == "true");
          case Json::kNumber:
            return stringify_.RawValue(text.data(), text.size(), rapidjson::kNumberType);
          default:
            return stringify_.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
        }
    }
    return true;
  }

  Frame& Push(FrameType type) {
    stack_.emplace_back();
    stack_.back().type = type;
    return stack_.back();
  }

  // Whether a container of type `json` can be the value of `field` (or one
  // element of it): StartFor's cases.
  static bool Fits(const FieldInfo& field, Json json, bool element) {
    if (json == Json::kArray && field.repeated && !element) return true;
    switch (field.kind) {
      case Kind::kMap: case Kind::kMessage: case Kind::kStruct: return json == Json::kObject;
      case Kind::kListValue: return json == Json::kArray;
      case Kind::kValue: case Kind::kAuto: return true;
      default: return false;
    }
  }

  // A container that is the value of `field` (or one element of it). The
  // positions in `opens` (wrappers already written) close when it ends.
  bool StartFor(const FieldInfo& field, Json json, bool element,
                std::initializer_list<size_t> opens) {
    Frame frame;
    if (json == Json::kArray && field.repeated && !element) {
      frame.type = FrameType::kArray;
      frame.field = &field;
    } else if (json == Json::kObject && field.kind == Kind::kMap) {
      frame.type = FrameType::kMap;
      frame.field = &field;
      frame.table = field.table;
    } else if (json == Json::kObject && field.kind == Kind::kMessage) {
      PutTag(field);
      frame.type = FrameType::kMessage;
      frame.table = field.table;
      frame.opens[frame.open_count++] = Open();
    } else if (json == Json::kObject && field.kind == Kind::kStruct) {
      PutTag(field);
      frame.type = FrameType::kStruct;
      frame.opens[frame.open_count++] = Open();
    } else if (json == Json::kArray && field.kind == Kind::kListValue) {
      PutTag(field);
      frame.type = FrameType::kList;
      frame.opens[frame.open_count++] = Open();
    } else if (field.kind == Kind::kAuto) {
      // Auto {dynamic: the object; value: any JSON value}. An object is
      // written once as `dynamic` and copied into `value` when it ends.
      PutTag(field);
      frame.opens[frame.open_count++] = Open();
      if (json == Json::kObject) {
        out_->push_back(kAutoDynamicTag);
        frame.type = FrameType::kStruct;
        frame.auto_object = true;
        frame.opens[frame.open_count++] = Open();
      } else {
        out_->push_back(kAutoValueTag);
        frame.opens[frame.open_count++] = Open();
        out_->push_back(kValueListTag);
        frame.type = FrameType::kList;
        frame.opens[frame.open_count++] = Open();
      }
    } else if (field.kind == Kind::kValue) {
      PutTag(field);
      const size_t value = Open();
      out_->push_back(json == Json::kObject ? kValueStructTag : kValueListTag);
      frame.type = json == Json::kObject ? FrameType::kStruct : FrameType::kList;
      frame.opens[frame.open_count++] = value;
      frame.opens[frame.open_count++] = Open();
    } else {
      return Fail(field.repeated && json == Json::kArray ? "a single value per element"
                                                         : Expected(field.kind),
                  json);
    }
    // Wrappers opened by the caller sit before this frame's own prefixes.
    if (opens.size() > 0) {
      size_t merged[4];
      size_t n = 0;
      for (size_t at : opens) merged[n++] = at;
      for (int i = 0; i < frame.open_count; ++i) merged[n++] = frame.opens[i];
      std::copy(merged, merged + n, frame.opens);
      frame.open_count = static_cast<uint8_t>(n);
    }
    stack_.push_back(frame);
    return true;
  }

  bool StartContainer(Json json) {
    if (stack_.empty()) {
      if (list_field_ != nullptr) {
        if (json != Json::kArray) return Fail("an array", json);
        Frame& frame = Push(FrameType::kArray);
        frame.field = list_field_;
        return true;
      }
      if (json != Json::kObject) return Fail("an object", json);
      const std::string& name = root_->descriptor->full_name();
      if (name == "google.protobuf.Struct") {
        Push(FrameType::kStruct);
      } else {
        Frame& frame = Push(FrameType::kMessage);
        frame.table = root_;
      }
      return true;
    }
    Frame& frame = stack_.back();
    switch (frame.type) {
      case FrameType::kMessage: {
        if (ABSL_PREDICT_FALSE(frame.pending == nullptr)) return UnknownContainer(frame, json);
        const FieldInfo& field = *frame.pending;
        if (ABSL_PREDICT_FALSE(!Fits(field, json, false))) return MisfitContainer(frame, json);
        if (json == Json::kArray && field.repeated && frame.table->unmapped != nullptr) {
          return StartOwnedArray(frame, field);
        }
        return StartFor(field, json, false, {});
      }
      case FrameType::kArray:
        ++frame.index;
        if (ABSL_PREDICT_FALSE(frame.owner != nullptr && !Fits(*frame.field, json, true))) {
          AbandonArray(&frame, /*at_container=*/true);
          return true;
        }
        return StartFor(*frame.field, json, true, {});
      case FrameType::kMap: {
        const FieldInfo& value = frame.table->fields[1];
        size_t entry;
        if (!OpenMapEntry(frame, &entry)) return false;
        if (value.kind == Kind::kString) {
          // map<string,string> values that are objects or arrays keep their JSON text.
          Frame text;
          text.type = FrameType::kStringify;
          text.depth = 1;
          text.field = &value;
          text.opens[text.open_count++] = entry;
          buffer_.Clear();
          stringify_.Reset(buffer_);
          stack_.push_back(text);
          return json == Json::kObject ? stringify_.StartObject() : stringify_.StartArray();
        }
        return StartFor(value, json, true, {entry});
      }
      case FrameType::kStruct: {
        size_t value;
        const size_t entry = OpenStructEntry(frame.key, &value);
        out_->push_back(json == Json::kObject ? kValueStructTag : kValueListTag);
        const size_t inner = Open();
        Frame& child = Push(json == Json::kObject ? FrameType::kStruct : FrameType::kList);
        child.opens[0] = entry;
        child.opens[1] = value;
        child.opens[2] = inner;
        child.open_count = 3;
        return true;
      }
      case FrameType::kList: {
        ++frame.index;
        out_->push_back(kListValuesTag);
        const size_t value = Open();
        out_->push_back(json == Json::kObject ? kValueStructTag : kValueListTag);
        const size_t inner = Open();
        Frame& child = Push(json == Json::kObject ? FrameType::kStruct : FrameType::kList);
        child.opens[0] = value;
        child.opens[1] = inner;
        child.open_count = 2;
        return true;
      }
      case FrameType::kSkip:
        ++frame.depth;
        return true;
      case FrameType::kStringify:
        ++frame.depth;
        return json == Json::kObject ? stringify_.StartObject() : stringify_.StartArray();
    }
    return true;
  }

  bool EndContainer(Json json) {
    Frame& frame = stack_.back();
    if (frame.type == FrameType::kSkip) {
      if (--frame.depth > 0) return true;
      const Frame done = frame;
      stack_.pop_back();
      if (done.owner == nullptr || stream_ == nullptr) return true;
      const size_t end = stream_->Tell() + 1;  // past the ']' or '}'
      const std::string_view raw = json_.substr(done.in_start, end - done.in_start);
      if (done.as_text) {
        PutUnmappedScalar(*done.owner, done.key, Json::kString, raw);
        return true;
      }
      return PutUnmappedRaw(*done.owner, done.key, raw);
    }
    if (frame.type == FrameType::kStringify) {
      if (!(json == Json::kObject ? stringify_.EndObject() : stringify_.EndArray())) {
        return FailText("cannot stringify value");
      }
      if (--frame.depth > 0) return true;
      const Frame done = frame;
      stack_.pop_back();
      PutTag(*done.field);
      PutBytes(std::string_view(buffer_.GetString(), buffer_.GetSize()));
      CloseAll(done);
      return true;
    }
    const Frame done = frame;
    stack_.pop_back();
    if (done.auto_object) {
      // opens: [Auto, dynamic]. Close `dynamic`, then copy its body as
      // value {struct_value {...}} (same Struct bytes).
      const size_t at = done.opens[1];
      const uint64_t length = out_->size() - at - 1;
      Close(at);
      const size_t body = at + VarintSize(length);
      out_->push_back(kAutoValueTag);
      const size_t value = Open();
      out_->push_back(kValueStructTag);
      const size_t inner = Open();
      out_->reserve(out_->size() + length + 16);
      out_->append(out_->data() + body, length);
      Close(inner);
      Close(value);
      Close(done.opens[0]);
      return true;
    }
    CloseAll(done);
    return true;
  }

  const Table* root_;
  const FieldInfo* list_field_;
  std::string* out_;
  std::string_view json_;
  rapidjson::InsituStringStream* stream_;
  UnmappedReport* report_;
  const char* misfit_expected_ = "a value";
  int nesting_at_start_ = 0;  // a sub-encoder: the caller's nesting before its wrapper
  std::string misfit_text_;
  std::vector<Frame> stack_;
  int nesting_ = 0;  // length-prefixed messages open in the output
  int deepest_ = 0;
  absl::Status status_;
  rapidjson::StringBuffer buffer_;
  rapidjson::Writer<rapidjson::StringBuffer> stringify_{buffer_};
};

// Iterative: RapidJSON's default parser recurses once per nesting level, so an
// answer of a few hundred KB of '[' would overflow the thread's stack.
constexpr unsigned kParseFlags = rapidjson::kParseInsituFlag |
                                 rapidjson::kParseNumbersAsStringsFlag |
                                 rapidjson::kParseIterativeFlag;
// For text that is not valid UTF-8: the parser then finds the bad string and
// says where.
constexpr unsigned kValidatingParseFlags = kParseFlags | rapidjson::kParseValidateEncodingFlag;

absl::Status Run(const Table* table, const FieldInfo* list_field, std::string_view json,
                 std::string* out, UnmappedReport* report) {
  out->clear();
  // find(), not memchr(): an empty view may have a null data() (memchr's UB).
  if (json.find('\0') != std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed JSON for ", table->descriptor->full_name(), ": NUL byte"));
  }
  // In-situ parsing decodes strings in place, so keys and values are views
  // into this copy and nothing else is allocated per string.
  // RapidJSON's UTF-8 validation reads a multi-byte sequence's continuation
  // bytes before checking them, so a lead byte at the very end would read up
  // to 3 bytes past the terminator (heap overflow, found by the codec_json
  // fuzz target under ASan): 3 more NULs keep every read inside the buffer.
  // (No RAPIDJSON_SSE2: its string scan lets raw 0x1A-0x1F through, which the
  // fuzz target found; crash-b57d05ae... in its corpus.)
  constexpr size_t kPadding = 3;
  std::string buffer;
  buffer.reserve(json.size() + kPadding + 1);
  buffer.append(json.data(), json.size());
  buffer.append(kPadding, '\0');
  out->reserve(json.size());
  rapidjson::Reader reader;
  rapidjson::InsituStringStream stream(buffer.data());
  Encoder encoder(table, list_field, out, json, &stream, report);
  // One pass over the whole text (eight ASCII bytes per step) is far cheaper
  // than RapidJSON's check of each string byte (13 % of a 1,000-user page's
  // conversion).
  rapidjson::ParseResult result =
      client_core::IsValidUtf8(json) ? reader.Parse<kParseFlags>(stream, encoder)
                                     : reader.Parse<kValidatingParseFlags>(stream, encoder);
  if (!encoder.status().ok()) {
    out->clear();
    return encoder.status();
  }
  if (result.IsError() || !encoder.done()) {
    out->clear();
    return absl::InvalidArgumentError(absl::StrCat(
        "malformed JSON for ", table->descriptor->full_name(), " at offset ", result.Offset(),
        ": ", rapidjson::GetParseError_En(result.Code())));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status JsonToBinary(const Descriptor* type, std::string_view json, std::string* out,
                          UnmappedReport* report) {
  if (type == nullptr || out == nullptr) return absl::InvalidArgumentError("JsonToBinary: null argument");
  return Run(Tables().Get(type), nullptr, json, out, report);
}

namespace codec_internal {

absl::Status JsonArrayToBinary(const Descriptor* type, const FieldDescriptor* repeated_field,
                               std::string_view json, std::string* out, UnmappedReport* report) {
  if (type == nullptr || repeated_field == nullptr || out == nullptr ||
      repeated_field->containing_type() != type || !repeated_field->is_repeated()) {
    return absl::InvalidArgumentError("JsonArrayToBinary: bad arguments");
  }
  const Table* table = Tables().Get(type);
  return Run(table, &table->fields[repeated_field->index()], json, out, report);
}

}  // namespace codec_internal
}  // namespace filesgw::server
