// Resources, actions, params, models and paging of the C++ client against an
// in-process fake gateway (no files-gateway, no emulator).
#include "clients/cpp/client.h"

#include <memory>
#include <set>

#include "clients/cpp/tests/fake_gateway.h"
#include "google/protobuf/util/json_util.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "proto/api_pool.h"

namespace filesgw::client {
namespace {

using testing::FakeCall;
using testing::FakeGateway;

const Method& MethodOf(const std::string& resource, const std::string& action) {
  const Method* m = LookupMethod(resource, action);
  if (m == nullptr) throw std::logic_error("no " + resource + "." + action);
  return *m;
}

// The request of a recorded call as JSON with proto field names.
std::string RequestJson(const FakeCall& call, const Method& m) {
  std::unique_ptr<google::protobuf::Message> request(proto::Prototype(m.input)->New());
  EXPECT_TRUE(request->ParseFromString(call.request));
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  EXPECT_TRUE(google::protobuf::util::MessageToJsonString(*request, &json, options).ok());
  return json;
}

// An encoded response of the method's output type, from JSON.
std::string Response(const Method& m, const std::string& json) {
  std::unique_ptr<google::protobuf::Message> response(proto::Prototype(m.output)->New());
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, response.get()).ok()) << json;
  return response->SerializeAsString();
}

class ClientTest : public ::testing::Test {
 protected:
  ClientTest() : client_(Options()) {}
  ConnectOptions Options() {
    ConnectOptions o;
    o.target = fake_.target();
    o.timeout = std::chrono::seconds(10);
    return o;
  }
  FakeGateway fake_;
  Client client_;
};

TEST_F(ClientTest, EveryActionOfEveryResourceReachesItsRpc) {
  int actions = 0;
  for (const auto& resource : Resources()) {
    for (const auto& action : ActionsOf(resource)) {
      const Method& m = MethodOf(resource, action);
      if (m.paginated) {
        ListObj list = client_[resource].ListAction(action);
        EXPECT_TRUE(list.Page().empty());
        EXPECT_FALSE(list.HasNextPage());
      } else {
        Model result = client_[resource].Call(action);
        EXPECT_EQ(result.valid(), !m.ReturnsNothing()) << m.full_method;
      }
      ++actions;
      ASSERT_EQ(fake_.calls().back().method, m.full_method);
    }
  }
  EXPECT_GT(Resources().size(), 100u);
  EXPECT_GT(actions, 400);
  EXPECT_EQ(static_cast<int>(fake_.calls().size()), actions);
}

TEST_F(ClientTest, ResourcesAnswerToTheirSdkAndSnakeCaseNames) {
  EXPECT_EQ(client_["users"].name(), "User");
  EXPECT_EQ(client_["user"].name(), "User");
  EXPECT_EQ(client_.resource("User").name(), "User");
  EXPECT_EQ(client_["api_keys"].name(), "ApiKey");
  EXPECT_EQ(client_["as2_partners"].name(), "As2Partner");
  std::vector<std::string> actions = client_["users"].Actions();
  for (const char* a : {"create", "delete", "find", "list", "unlock", "update"}) {
    EXPECT_NE(std::find(actions.begin(), actions.end(), a), actions.end()) << a;
  }
  EXPECT_THROW(client_["no_such_things"], InvalidParameterError);
  EXPECT_THROW(client_["users"].Call("fly"), InvalidParameterError);
  EXPECT_THROW(client_["users"].Call("list"), InvalidParameterError);  // pages: ListAction
  EXPECT_TRUE(fake_.calls().empty());
}

TEST_F(ClientTest, ParamsMapOntoTheRequest) {
  client_["users"].List({{"sort_by", Params{{"username", "asc"}}},
                         {"filter", Params{{"site_admin", true}, {"id", 5}}},
                         {"filter_prefix", Params{{"username", "page-"}}},
                         {"per_page", "1000"}});
  ASSERT_EQ(fake_.calls().size(), 1u);
  EXPECT_EQ(RequestJson(fake_.calls()[0], MethodOf("User", "list")),
            R"({"per_page":"1000","sort_by":{"username":"asc"},"filter":{"id":"5","site_admin":"true"},)"
            R"("filter_prefix":{"username":"page-"}})");

  client_["users"].Update(42, {{"name", "A"}, {"require_password_change", 1}, {"company", nullptr}});
  EXPECT_EQ(RequestJson(fake_.calls()[1], MethodOf("User", "update")),
            R"({"id":"42","name":"A","require_password_change":true})");

  client_["files"].Call("begin_upload", {"a/b.txt"}, {{"mkdir_parents", true}, {"parts", 3}});
  EXPECT_EQ(RequestJson(fake_.calls()[2], MethodOf("File", "begin_upload")),
            R"({"path":"a/b.txt","mkdir_parents":true,"parts":"3"})");
}

TEST_F(ClientTest, BadParamsFailBeforeAnythingIsSent) {
  auto users = client_["users"];
  EXPECT_THROW(users.Create({{"no_such_param", 1}}), InvalidParameterError);
  EXPECT_THROW(users.Update(42, {{"name", Params{{"a", 1}}}}), InvalidParameterError);
  EXPECT_THROW(users.Find("forty-two"), InvalidParameterError);
  EXPECT_THROW(users.List({{"per_page", true}}), InvalidParameterError);
  EXPECT_THROW(users.List({{"sort_by", "username"}}), InvalidParameterError);
  EXPECT_THROW(users.Call("find", {1, 2}), InvalidParameterError);
  try {
    users.Create({{"no_such_param", 1}});
  } catch (const InvalidRequestError& e) {
    EXPECT_NE(std::string(e.what()).find("no_such_param"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(fake_.calls().empty());
}

TEST_F(ClientTest, ModelsReadFieldsByFilesComKey) {
  const Method& find = MethodOf("User", "find");
  fake_.set_handler([&](const FakeCall&, std::string* response) {
    *response = Response(find, R"({"id": 7, "username": "ann", "site_admin": true,
                                   "group_ids": "1,2", "name": ""})");
    return grpc::Status::OK;
  });
  Model user = client_["users"].Find(7);
  EXPECT_EQ(user.GetInt("id"), 7);
  EXPECT_EQ(user.GetString("username"), "ann");
  EXPECT_TRUE(user.GetBool("site_admin"));
  EXPECT_TRUE(user.Has("name"));
  EXPECT_FALSE(user.Has("email"));
  EXPECT_TRUE(user.Get("email").is_null());
  EXPECT_TRUE(user.Get("no_such_key").is_null());
  Params map = user.ToMap();
  EXPECT_EQ(map.at("id"), Value(7));
  EXPECT_EQ(map.count("email"), 0u);
  EXPECT_NE(user.ToJson().find(R"("username":"ann")"), std::string::npos);
}

TEST_F(ClientTest, PerObjectActionsTakeThePathParamsFromTheObject) {
  const Method& find = MethodOf("User", "find");
  fake_.set_handler([&](const FakeCall& call, std::string* response) {
    if (call.method == find.full_method) *response = Response(find, R"({"id": 31, "username": "o"})");
    return grpc::Status::OK;
  });
  auto users = client_["users"];
  Model user = users.Find(31);
  users.CallOn(user, "update", {{"name", "B"}});
  EXPECT_EQ(RequestJson(fake_.calls().back(), MethodOf("User", "update")), R"({"id":"31","name":"B"})");
  users.CallOn(user, "delete");
  EXPECT_EQ(fake_.calls().back().method, MethodOf("User", "delete").full_method);
  EXPECT_THROW(users.CallOn(Model(), "delete"), MissingParameterError);
}

TEST_F(ClientTest, ListObjPagesAutomaticallyAndByHand) {
  const Method& list = MethodOf("User", "list");
  // Seven users, three a page; the cursor is the index of the next item.
  fake_.set_handler([&](const FakeCall& call, std::string* response) {
    std::unique_ptr<google::protobuf::Message> request(proto::Prototype(list.input)->New());
    request->ParseFromString(call.request);
    const auto* fd = list.input->FindFieldByName("cursor");
    std::string cursor = request->GetReflection()->GetString(*request, fd);
    int start = cursor.empty() ? 0 : std::stoi(cursor);
    std::string json = R"({"items": [)";
    for (int i = start; i < std::min(start + 3, 7); ++i) {
      json += (i > start ? "," : "") + std::string(R"({"id": )") + std::to_string(i + 1) + "}";
    }
    json += "]";
    if (start + 3 < 7) json += R"(, "next_cursor": ")" + std::to_string(start + 3) + "\"";
    *response = Response(list, json + "}");
    return grpc::Status::OK;
  });
  std::vector<int64_t> ids;
  for (const Model& user : client_["users"].List().AutoPagingIter()) ids.push_back(user.GetInt("id"));
  EXPECT_EQ(ids, (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(fake_.calls().size(), 3u);

  ListObj pages = client_["users"].List({{"per_page", 3}});
  EXPECT_EQ(pages.Page().size(), 3u);
  ASSERT_TRUE(pages.HasNextPage());
  pages.LoadNextPage();
  EXPECT_EQ(pages.Page().front().GetInt("id"), 4);
  pages.LoadNextPage();
  EXPECT_EQ(pages.Page().size(), 1u);
  EXPECT_FALSE(pages.HasNextPage());
  EXPECT_THROW(pages.LoadNextPage(), InvalidRequestError);
  // Iterating goes on from the current page.
  EXPECT_EQ(pages.All().size(), 1u);
  // Every page after the first asks with the first page's params and the cursor.
  std::string last = RequestJson(fake_.calls().back(), list);
  EXPECT_NE(last.find(R"("cursor":"6")"), std::string::npos) << last;
  EXPECT_NE(last.find(R"("per_page":"3")"), std::string::npos) << last;
}

TEST_F(ClientTest, DeadlinesMetadataAndTheBearerTokenReachTheServer) {
  ConnectOptions o = Options();
  o.bearer_token = "sekrit";
  o.metadata = {{"x-team", "blue"}};
  Client client(o);
  CallOptions call;
  call.metadata = {{"x-request-id", "req-1"}};
  client["users"].Find(1, {}, call);
  FakeCall seen = fake_.calls().back();
  EXPECT_TRUE(seen.has_deadline);
  EXPECT_EQ(seen.metadata.find("authorization")->second, "Bearer sekrit");
  EXPECT_EQ(seen.metadata.find("x-team")->second, "blue");
  EXPECT_EQ(seen.metadata.find("x-request-id")->second, "req-1");

  o.timeout = std::chrono::milliseconds(0);
  Client no_deadline(o);
  no_deadline["users"].Find(1);
  EXPECT_FALSE(fake_.calls().back().has_deadline);
}

TEST(Connect, ABearerTokenWithoutTlsGoesOnlyToLoopback) {
  ConnectOptions o;
  o.bearer_token = "t";
  for (const char* local : {"127.0.0.1:1", "localhost:1", "[::1]:1", "unix:///tmp/gw.sock"}) {
    o.target = local;
    EXPECT_NO_THROW(Client{o}) << local;
  }
  o.target = "files-gateway.example.com:50051";
  EXPECT_THROW(Client{o}, InvalidParameterError);
  o.tls = true;
  EXPECT_NO_THROW(Client{o});
}

TEST_F(ClientTest, FailuresArriveTyped) {
  fake_.set_handler([](const FakeCall&, std::string*) {
    google::rpc::Status rich;
    google::rpc::ErrorInfo info;
    info.set_reason("USER_NOT_FOUND");
    info.set_domain("files.com");
    (*info.mutable_metadata())["type"] = "not-found/user-not-found";
    (*info.mutable_metadata())["http_status"] = "404";
    auto* any = rich.add_details();
    any->set_type_url("type.googleapis.com/google.rpc.ErrorInfo");
    info.SerializeToString(any->mutable_value());
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "User Not Found", rich.SerializeAsString());
  });
  try {
    client_["users"].Find(9);
    FAIL() << "nothing thrown";
  } catch (const NotFoundError& e) {
    EXPECT_STREQ(e.class_name(), "UserNotFoundError");
    EXPECT_EQ(e.http_status(), 404);
  }
  // No gateway at all.
  ConnectOptions o;
  o.target = "127.0.0.1:1";
  o.timeout = std::chrono::seconds(5);
  EXPECT_THROW(Client(o)["users"].Find(1), APIConnectionError);
}

TEST(Value, ParamsReadLikeJson) {
  Value v = Params{{"a", 1}, {"b", Array{true, "x", 2.5, nullptr}}, {"c", Params{}}};
  EXPECT_EQ(v.ToJson(), R"({"a":1,"b":[true,"x",2.5,null],"c":{}})");
  EXPECT_EQ(Value::FromJson(v.ToJson()), v);
  EXPECT_EQ(Value(3), Value(3.0));
  EXPECT_NE(Value("3"), Value(3));
  EXPECT_THROW(Value("x").as_int(), InvalidParameterError);
  EXPECT_THROW(Value::FromJson("{nope"), InvalidParameterError);
}

}  // namespace
}  // namespace filesgw::client
