// JSON -> protobuf wire conversion (server/codec*.cc), the gateway's hot path
// for every Files.com answer. Input: a selector line naming a files.v1 message
// ("files.v1.User") or a list RPC ("files.v1.UserService.ListUsers"; the body
// is then a JSON array), then the JSON.
//
// Checked on every input that converts: the bytes parse as the target message
// (so a caller's stub can read them), MessageToJson accepts that message, and
// its JSON converts back to an equal message.
#include <memory>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "proto/api_pool.h"
#include "server/codec.h"
#include "server/route.h"

namespace {

using google::protobuf::Descriptor;
using google::protobuf::Message;

struct Target {
  std::string name;
  const Descriptor* type = nullptr;  // message target
  filesgw::server::Route route;      // list target (route.method set)
};

void AddMessages(const Descriptor* type, std::vector<Target>* out) {
  if (type->options().map_entry()) return;
  out->push_back(Target{type->full_name(), type, {}});
  for (int i = 0; i < type->nested_type_count(); ++i) AddMessages(type->nested_type(i), out);
}

const std::vector<Target>& Targets() {
  static const auto* targets = [] {
    auto* out = new std::vector<Target>;
    const auto& api = filesgw::proto::Api();
    for (const auto* file : api.files) {
      if (file->package() != "files.v1") continue;
      for (int i = 0; i < file->message_type_count(); ++i) AddMessages(file->message_type(i), out);
    }
    for (const auto* service : api.services) {
      for (int i = 0; i < service->method_count(); ++i) {
        auto route = filesgw::server::BuildRoute(service->method(i));
        if (!route.ok() ||
            (route->response_kind != filesgw::server::ResponseKind::kList &&
             route->response_kind != filesgw::server::ResponseKind::kPaginatedList)) {
          continue;
        }
        out->push_back(Target{service->method(i)->full_name(), nullptr, std::move(*route)});
      }
    }
    return out;
  }();
  return *targets;
}

std::unique_ptr<Message> New(const Descriptor* type) {
  return std::unique_ptr<Message>(filesgw::proto::Prototype(type)->New());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using filesgw::fuzz::Printable;
  const auto input = filesgw::fuzz::Split(data, size);
  const auto& targets = Targets();
  const Target& target =
      targets[filesgw::fuzz::Pick(input.selector, targets.size(),
                                  [&](size_t i) -> const std::string& { return targets[i].name; })];

  std::string wire;
  const Descriptor* type = target.type;
  if (type != nullptr) {
    if (!filesgw::server::JsonToBinary(type, input.payload, &wire).ok()) return 0;
  } else {
    type = target.route.response_type;
    if (!filesgw::server::DecodeResponse(target.route, input.payload, "cursor-1", &wire).ok()) {
      return 0;
    }
  }

  auto message = New(type);
  FUZZ_CHECK(message->ParseFromString(wire),
             target.name + ": converted bytes do not parse; JSON: " + Printable(input.payload));
  std::string json;
  const auto status = filesgw::server::MessageToJson(*message, &json);
  FUZZ_CHECK(status.ok(), target.name + ": " + status.ToString());
  std::string again;
  const auto back = filesgw::server::JsonToBinary(type, json, &again);
  FUZZ_CHECK(back.ok(),
             target.name + ": own JSON refused: " + back.ToString() + "; JSON: " + Printable(json));
  auto reparsed = New(type);
  FUZZ_CHECK(reparsed->ParseFromString(again), target.name + ": round trip does not parse");
  FUZZ_CHECK(google::protobuf::util::MessageDifferencer::Equals(*message, *reparsed),
             target.name + ": round trip differs:\n  " + message->ShortDebugString() + "\n  " +
                 reparsed->ShortDebugString());
  return 0;
}
