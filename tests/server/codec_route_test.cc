// BuildRoute over every RPC of the API surface, plus the few routes whose
// properties are special (login, list kinds).
#include <set>
#include <string>

#include "gtest/gtest.h"
#include "proto/api_pool.h"
#include "server/route.h"

namespace filesgw::server {
namespace {

const google::protobuf::MethodDescriptor* Method(const std::string& full_name) {
  return proto::Api().pool->FindMethodByName(full_name);
}

TEST(BuildRoute, SucceedsForEveryRpcAndCoversEveryField) {
  int routes = 0;
  for (const auto* service : proto::Api().services) {
    for (int i = 0; i < service->method_count(); ++i) {
      const auto* method = service->method(i);
      auto route = BuildRoute(method);
      ASSERT_TRUE(route.ok()) << method->full_name() << ": " << route.status();
      ++routes;
      EXPECT_EQ(route->full_method, "/" + service->full_name() + "/" + method->name());
      EXPECT_EQ(route->request_type, method->input_type());
      EXPECT_EQ(route->response_type, method->output_type());

      // The segments give back the template, and path fields + params +
      // unmapped_fields are exactly the request's fields, each once.
      std::string rebuilt;
      std::set<const google::protobuf::FieldDescriptor*> seen;
      for (const auto& segment : route->path) {
        rebuilt += segment.literal;
        if (segment.field != nullptr) {
          rebuilt += "{" + segment.field->name() + "}";
          EXPECT_TRUE(seen.insert(segment.field).second) << method->full_name();
        }
      }
      EXPECT_EQ(rebuilt, route->path_template) << method->full_name();
      for (const auto* field : route->params) {
        EXPECT_TRUE(seen.insert(field).second) << method->full_name() << " " << field->name();
      }
      ASSERT_NE(route->unmapped, nullptr) << method->full_name();
      EXPECT_TRUE(proto::IsUnmappedFields(route->unmapped));
      EXPECT_TRUE(seen.insert(route->unmapped).second) << method->full_name();
      EXPECT_EQ(static_cast<int>(seen.size()), method->input_type()->field_count());

      const std::string& verb = route->http_method;
      EXPECT_EQ(route->params_in_query, verb == "GET" || verb == "HEAD" || verb == "DELETE");
      EXPECT_EQ(route->idempotent, verb != "POST" && verb != "PATCH") << method->full_name();

      const auto* sdk = proto::SdkMethodOf(method);
      ASSERT_NE(sdk, nullptr);
      switch (route->response_kind) {
        case ResponseKind::kEmpty:
          EXPECT_EQ(method->output_type()->full_name(), "google.protobuf.Empty");
          EXPECT_EQ(route->item_type, nullptr);
          break;
        case ResponseKind::kMessage:
          EXPECT_EQ(route->item_type, nullptr);
          EXPECT_FALSE(sdk->paginated()) << method->full_name();
          break;
        case ResponseKind::kList:
        case ResponseKind::kPaginatedList:
          ASSERT_NE(route->item_type, nullptr) << method->full_name();
          EXPECT_EQ(route->item_type,
                    method->output_type()->FindFieldByName("items")->message_type());
          // The generator marks paging in the SDK option and in the response shape; they agree.
          EXPECT_EQ(route->response_kind == ResponseKind::kPaginatedList, sdk->paginated())
              << method->full_name();
          break;
      }
      EXPECT_EQ(route->send_auth, !(verb == "POST" && route->path_template == "/sessions"));
    }
  }
  EXPECT_EQ(routes, 419);
}

TEST(BuildRoute, FindUserHasOneIdSegment) {
  auto route = BuildRoute(Method("files.v1.UserService.FindUser"));
  ASSERT_TRUE(route.ok()) << route.status();
  EXPECT_EQ(route->http_method, "GET");
  ASSERT_EQ(route->path.size(), 1u);
  EXPECT_EQ(route->path[0].literal, "/users/");
  ASSERT_NE(route->path[0].field, nullptr);
  EXPECT_EQ(route->path[0].field->name(), "id");
  EXPECT_TRUE(route->params_in_query);
  EXPECT_TRUE(route->idempotent);
  EXPECT_EQ(route->response_kind, ResponseKind::kMessage);
}

TEST(BuildRoute, TrailingLiteralAfterPathField) {
  auto route = BuildRoute(Method("files.v1.UserService.UnlockUser"));
  ASSERT_TRUE(route.ok()) << route.status();
  ASSERT_EQ(route->path.size(), 2u);
  EXPECT_EQ(route->path[1].literal, "/unlock");
  EXPECT_EQ(route->path[1].field, nullptr);
  EXPECT_EQ(route->response_kind, ResponseKind::kEmpty);
  EXPECT_FALSE(route->idempotent);
}

TEST(BuildRoute, ListKinds) {
  auto users = BuildRoute(Method("files.v1.UserService.ListUsers"));
  ASSERT_TRUE(users.ok());
  EXPECT_EQ(users->response_kind, ResponseKind::kPaginatedList);
  EXPECT_EQ(users->item_type->full_name(), "files.v1.User");
  auto begin = BuildRoute(Method("files.v1.FileService.BeginUploadFile"));
  ASSERT_TRUE(begin.ok());
  EXPECT_EQ(begin->response_kind, ResponseKind::kList);
  EXPECT_EQ(begin->item_type->full_name(), "files.v1.FileUploadPart");
}

TEST(BuildRoute, LoginIsSentWithoutAuth) {
  int logins = 0;
  for (const auto* service : proto::Api().services) {
    for (int i = 0; i < service->method_count(); ++i) {
      auto route = BuildRoute(service->method(i));
      ASSERT_TRUE(route.ok());
      if (!route->send_auth) {
        ++logins;
        EXPECT_EQ(route->full_method, "/files.v1.SessionService/CreateSession");
      }
    }
  }
  EXPECT_EQ(logins, 1);
}

TEST(BuildRoute, RejectsNullMethod) {
  EXPECT_EQ(BuildRoute(nullptr).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace filesgw::server
