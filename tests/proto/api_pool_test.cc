#include "proto/api_pool.h"

#include <set>
#include <string>

#include "gtest/gtest.h"

namespace filesgw::proto {
namespace {

TEST(ApiPool, LoadsEveryServiceAndRpc) {
  const auto& api = Api();
  int rpcs = 0;
  for (const auto* service : api.services) rpcs += service->method_count();
  EXPECT_EQ(api.services.size(), 122u);
  EXPECT_EQ(rpcs, 419);
}

TEST(ApiPool, EveryBindingNamesOnlyFieldsOfItsRequest) {
  for (const auto* service : Api().services) {
    for (int i = 0; i < service->method_count(); ++i) {
      const auto* method = service->method(i);
      const auto* rest = RestBindingOf(method);
      ASSERT_NE(rest, nullptr) << method->full_name();
      EXPECT_TRUE(rest->method() == "GET" || rest->method() == "POST" ||
                  rest->method() == "PATCH" || rest->method() == "PUT" ||
                  rest->method() == "DELETE")
          << method->full_name();
      const std::string& path = rest->path();
      ASSERT_FALSE(path.empty()) << method->full_name();
      EXPECT_EQ(path[0], '/');
      for (size_t open = path.find('{'); open != std::string::npos; open = path.find('{', open + 1)) {
        size_t close = path.find('}', open);
        ASSERT_NE(close, std::string::npos) << path;
        std::string name = path.substr(open + 1, close - open - 1);
        const auto* field = method->input_type()->FindFieldByName(name);
        ASSERT_NE(field, nullptr) << method->full_name() << " binds {" << name << "}";
        EXPECT_FALSE(field->is_repeated()) << method->full_name();
        EXPECT_EQ(field->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE, false);
      }
      ASSERT_NE(SdkMethodOf(method), nullptr) << method->full_name();
    }
  }
}

TEST(ApiPool, KeepsFilesComJsonKeys) {
  const auto* file = Api().pool->FindMessageTypeByName("files.v1.File");
  ASSERT_NE(file, nullptr);
  const auto* locked = file->FindFieldByName("subfolders_locked");
  ASSERT_NE(locked, nullptr);
  EXPECT_EQ(FilesJsonKey(locked), "subfolders_locked?");
  EXPECT_EQ(FilesJsonKey(file->FindFieldByName("path")), "path");
  // Multi-word snake_case keys stay snake_case (not protoc's lowerCamel default)...
  const auto* user = Api().pool->FindMessageTypeByName("files.v1.User");
  ASSERT_NE(user, nullptr);
  EXPECT_EQ(FilesJsonKey(user->FindFieldByName("workspace_id")), "workspace_id");
  EXPECT_FALSE(user->FindFieldByName("workspace_id")->has_json_name());
  // ...while a key Files.com spells in camelCase keeps its spelling.
  const auto* log = Api().pool->FindMessageTypeByName("files.v1.FtpActionLog");
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(FilesJsonKey(log->FindFieldByName("response_code")), "responseCode");
}

TEST(ApiPool, RequiredParamsAreMarked) {
  const auto* req = Api().pool->FindMessageTypeByName("files.v1.FindUserRequest");
  ASSERT_NE(req, nullptr);
  EXPECT_TRUE(IsRequired(req->FindFieldByName("id")));
  const auto* list = Api().pool->FindMessageTypeByName("files.v1.ListUsersRequest");
  EXPECT_FALSE(IsRequired(list->FindFieldByName("cursor")));
}

}  // namespace
}  // namespace filesgw::proto
