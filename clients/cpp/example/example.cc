// The C++ client of files-gateway: users with paging, create / update /
// delete, typed errors, and files written, read, uploaded, downloaded and
// listed. It is the README's example (a test keeps the two the same and runs
// it against a real gateway).
//
//   files-cpp-example [TARGET]      # default 127.0.0.1:50051
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>

#include "clients/cpp/client.h"

namespace fc = filesgw::client;

int main(int argc, char** argv) {
  fc::ConnectOptions options;
  options.target = argc > 1 ? argv[1] : fc::kDefaultTarget;
  options.timeout = std::chrono::seconds(30);
  fc::Client client(options);
  const std::string name =
      "example-" + std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
  try {
    fc::Resource users = client["users"];  // or "user", "User"; actions come from the protos
    fc::Model user = users.Create({{"username", name}, {"email", name + "@example.com"}});
    user = users.Update(user.GetInt("id"), {{"name", "Example User"}});
    std::cout << "updated: " << user.GetString("username") << " " << user.GetString("name") << "\n";

    // Auto paging: the loop loads the next page when one is done (or page by
    // hand: list.Page(), list.HasNextPage(), list.LoadNextPage()).
    fc::ListObj list = users.List({{"sort_by", fc::Params{{"username", "asc"}}},
                                   {"filter_prefix", fc::Params{{"username", "example-"}}},
                                   {"per_page", 1000}});
    for (const fc::Model& u : list.AutoPagingIter()) {
      std::cout << "user: " << u.GetInt("id") << " " << u.GetString("username") << "\n";
    }

    // Typed errors with the SDK's classes: UserNotFoundError -> NotFoundError -> APIError -> Error.
    users.Delete(user.GetInt("id"));
    try {
      users.Find(user.GetInt("id"));
    } catch (const fc::NotFoundError& e) {
      std::cout << "after delete: " << e.class_name() << " " << e.type() << "\n";
    }

    // File content streams through files.v1.TransferService.
    {
      fc::TransferOptions mkdir;
      mkdir.mkdir_parents = true;
      fc::RemoteFile w = client.Open(name + "/hello.txt", "w", mkdir);
      w.Write("hello from C++\n");
      w.Close();  // commits; a RemoteFile destroyed before Close commits nothing
    }
    fc::RemoteFile r = client.Open(name + "/hello.txt", "r");
    std::cout << "read back: " << r.ReadAll();

    const std::string local = (std::filesystem::temp_directory_path() / (name + ".txt")).string();
    client.DownloadFile(name + "/hello.txt", local);
    client.UploadFile(local, name + "/copy.txt");
    std::remove(local.c_str());
    for (const fc::Model& entry : client.ListFor(name)) {
      std::cout << "entry: " << entry.GetString("display_name") << " " << entry.GetInt("size") << "\n";
    }
  } catch (const fc::Error& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  return 0;
}
