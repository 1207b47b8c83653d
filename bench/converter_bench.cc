// How fast the answer path turns Files.com JSON into protobuf bytes: a page of
// 1,000 users (every User field set to a realistic value) -> ListUsersResponse
// wire format, with the codec's SAX converter and with protobuf's own JSON
// parsers. Run: build/bench/converter_bench   (prints MB/s and the ratios)
#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "benchmark/benchmark.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/protobuf/util/type_resolver.h"
#include "google/protobuf/util/type_resolver_util.h"
#include "proto/api_pool.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "server/codec.h"
#include "server/codec_internal.h"
#include "server/route.h"

namespace {

using filesgw::server::codec_internal::FilesKey;
using google::protobuf::FieldDescriptor;

const google::protobuf::Descriptor* ListUsersResponse() {
  return filesgw::proto::Api().pool->FindMessageTypeByName("files.v1.ListUsersResponse");
}

// A realistic value per field: ids and counts, RFC 3339 times, emails, names.
void WriteUser(int n, rapidjson::Writer<rapidjson::StringBuffer>* w) {
  const auto* user = filesgw::proto::Api().pool->FindMessageTypeByName("files.v1.User");
  w->StartObject();
  for (int i = 0; i < user->field_count(); ++i) {
    const FieldDescriptor* field = user->field(i);
    if (field->type() == FieldDescriptor::TYPE_BYTES) continue;  // never in answers
    if (filesgw::proto::IsUnmappedFields(field)) continue;      // the gateway's own field
    const std::string& name = field->name();
    w->Key(FilesKey(field).c_str());
    if (field->is_repeated()) {
      w->StartArray();
      for (int k = 0; k < 3; ++k) w->Int64(1000 + 17 * n + k);
      w->EndArray();
      continue;
    }
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT64:
        w->Int64(name == "id" ? 1000000 + n : (name.find("count") != std::string::npos ? n % 7 : 50000 + n));
        break;
      case FieldDescriptor::CPPTYPE_BOOL:
        w->Bool((n + i) % 3 == 0);
        break;
      default: {
        std::string value;
        if (name.size() > 3 && (name.rfind("_at") == name.size() - 3 || name == "lockout_expires" ||
                                name == "authenticate_until")) {
          char buf[40];
          std::snprintf(buf, sizeof(buf), "2024-%02d-%02dT%02d:%02d:17.000-05:00", 1 + n % 12,
                        1 + n % 28, n % 24, i % 60);
          value = buf;
        } else if (name == "email") {
          value = "user" + std::to_string(n) + "@example-corp.com";
        } else if (name == "username") {
          value = "user" + std::to_string(n);
        } else if (name == "name") {
          value = "Jos\xC3\xA9 Garc\xC3\xAD" "a " + std::to_string(n);
        } else if (name.find("url") != std::string::npos) {
          value = "https://app.files.com/avatars/" + std::to_string(n) + ".png";
        } else if (name == "notes" || name == "header_text") {
          value = "Imported from LDAP; owns the \"Q3 reports\" folder.";
        } else if (name == "time_zone") {
          value = "Eastern Time (US & Canada)";
        } else {
          value = name.substr(0, 6) + "-" + std::to_string(n % 5);
        }
        w->String(value.c_str());
      }
    }
  }
  w->EndObject();
}

const std::string& Document() {
  static const std::string* doc = [] {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
    w.StartObject();
    w.Key("items");
    w.StartArray();
    for (int n = 0; n < 1000; ++n) WriteUser(n, &w);
    w.EndArray();
    w.EndObject();
    return new std::string(buffer.GetString(), buffer.GetSize());
  }();
  return *doc;
}

// The array alone: what Files.com actually sends for GET /users.
const std::string& ArrayBody() {
  static const std::string* body = [] {
    const std::string& doc = Document();
    const size_t open = doc.find('[');
    return new std::string(doc.substr(open, doc.rfind(']') - open + 1));
  }();
  return *body;
}

void BM_Codec_JsonToBinary(benchmark::State& state) {
  std::string out;
  for (auto _ : state) {
    absl::Status status = filesgw::server::JsonToBinary(ListUsersResponse(), Document(), &out);
    if (!status.ok()) state.SkipWithError(std::string(status.message()).c_str());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * Document().size()));
}
BENCHMARK(BM_Codec_JsonToBinary)->Unit(benchmark::kMillisecond);

void BM_Codec_DecodeResponse(benchmark::State& state) {
  auto route = filesgw::server::BuildRoute(
      filesgw::proto::Api().pool->FindMethodByName("files.v1.UserService.ListUsers"));
  std::string out;
  for (auto _ : state) {
    absl::Status status = filesgw::server::DecodeResponse(*route, ArrayBody(), "cursor", &out);
    if (!status.ok()) state.SkipWithError(std::string(status.message()).c_str());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * ArrayBody().size()));
}
BENCHMARK(BM_Codec_DecodeResponse)->Unit(benchmark::kMillisecond);

// The same page with one key per user that files.v1.User lacks (an object,
// as a new Files.com field might be): kept in each item's unmapped_fields.
const std::string& ArrayBodyWithUnknownKey() {
  static const std::string* body = [] {
    std::string text = ArrayBody();
    std::string out;
    out.reserve(text.size() + 64 * 1000);
    int n = 0;
    for (size_t at = 0; at < text.size(); ++at) {
      out.push_back(text[at]);
      // Each user object opens right after '[' or "},".
      if (text[at] == '{' && (at == 1 || text[at - 1] == ',' ) && (at == 1 || text[at - 2] == '}')) {
        out += "\"future_key\":{\"since\":" + std::to_string(n++) + ",\"on\":true},";
      }
    }
    return new std::string(std::move(out));
  }();
  return *body;
}

void BM_Codec_DecodeResponse_UnknownKey(benchmark::State& state) {
  auto route = filesgw::server::BuildRoute(
      filesgw::proto::Api().pool->FindMethodByName("files.v1.UserService.ListUsers"));
  std::string out;
  for (auto _ : state) {
    filesgw::server::UnmappedReport report;
    absl::Status status =
        filesgw::server::DecodeResponse(*route, ArrayBodyWithUnknownKey(), "cursor", &out, &report);
    if (!status.ok()) state.SkipWithError(std::string(status.message()).c_str());
    if (report.unknown != 1000) state.SkipWithError("expected 1000 unknown keys");
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(
      static_cast<int64_t>(state.iterations() * ArrayBodyWithUnknownKey().size()));
}
BENCHMARK(BM_Codec_DecodeResponse_UnknownKey)->Unit(benchmark::kMillisecond);

void BM_Protobuf_JsonStringToMessage(benchmark::State& state) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  std::string out;
  for (auto _ : state) {
    std::unique_ptr<google::protobuf::Message> message(
        filesgw::proto::Prototype(ListUsersResponse())->New());
    auto status = google::protobuf::util::JsonStringToMessage(Document(), message.get(), options);
    if (!status.ok()) state.SkipWithError(status.ToString().c_str());
    message->SerializeToString(&out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * Document().size()));
}
BENCHMARK(BM_Protobuf_JsonStringToMessage)->Unit(benchmark::kMillisecond);

void BM_Protobuf_JsonToBinaryString(benchmark::State& state) {
  std::unique_ptr<google::protobuf::util::TypeResolver> resolver(
      google::protobuf::util::NewTypeResolverForDescriptorPool("type.googleapis.com",
                                                               filesgw::proto::Api().pool.get()));
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  std::string out;
  for (auto _ : state) {
    out.clear();
    auto status = google::protobuf::util::JsonToBinaryString(
        resolver.get(), "type.googleapis.com/files.v1.ListUsersResponse", Document(), &out,
        options);
    if (!status.ok()) state.SkipWithError(status.ToString().c_str());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * Document().size()));
}
BENCHMARK(BM_Protobuf_JsonToBinaryString)->Unit(benchmark::kMillisecond);

// Keeps each run's MB/s so main() can print the ratios.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      auto it = run.counters.find("bytes_per_second");
      if (it != run.counters.end()) mb_per_s_[run.benchmark_name()] = it->second.value / 1e6;
    }
    ConsoleReporter::ReportRuns(runs);
  }
  const std::map<std::string, double>& mb_per_s() const { return mb_per_s_; }

 private:
  std::map<std::string, double> mb_per_s_;
};

// Both sides must produce the same message, or the comparison means nothing.
bool SameResult() {
  std::string ours;
  if (!filesgw::server::JsonToBinary(ListUsersResponse(), Document(), &ours).ok()) return false;
  std::unique_ptr<google::protobuf::Message> a(filesgw::proto::Prototype(ListUsersResponse())->New());
  std::unique_ptr<google::protobuf::Message> b(filesgw::proto::Prototype(ListUsersResponse())->New());
  if (!a->ParseFromString(ours)) return false;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  if (!google::protobuf::util::JsonStringToMessage(Document(), b.get(), options).ok()) return false;
  return google::protobuf::util::MessageDifferencer::Equals(*a, *b);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  std::printf("document: %zu bytes, 1000 users; results identical: %s\n", Document().size(),
              SameResult() ? "yes" : "NO");
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  const auto& r = reporter.mb_per_s();
  auto get = [&r](const char* name) {
    auto it = r.find(name);
    return it == r.end() ? 0.0 : it->second;
  };
  const double ours = get("BM_Codec_JsonToBinary");
  const double message = get("BM_Protobuf_JsonStringToMessage");
  const double binary = get("BM_Protobuf_JsonToBinaryString");
  if (ours > 0 && message > 0) {
    std::printf("codec %.0f MB/s; %.1fx JsonStringToMessage (%.0f MB/s)", ours, ours / message,
                message);
    if (binary > 0) std::printf("; %.1fx JsonToBinaryString (%.0f MB/s)", ours / binary, binary);
    std::printf("\n");
  }
  benchmark::Shutdown();
  return 0;
}
