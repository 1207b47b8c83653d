// The shared client scenario, typed, as a service outside the repository
// writes it against the installed C++ client. Usage: consumer TARGET
// (a gateway on the embedded or a real emulator). Exit 0 when every check
// holds; otherwise the first failed check on stderr and exit 1.
#include <chrono>
#include <cstdint>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "clients/cpp/client.h"

namespace fg = filesgw::client;

// What a user's compiler sees: typed accessors, not value bags.
static_assert(std::is_same_v<decltype(std::declval<fg::Client&>().Users().Find(1)), fg::models::User>);
static_assert(std::is_same_v<decltype(std::declval<fg::models::User&>().username()), std::string>);
static_assert(std::is_same_v<decltype(std::declval<fg::models::User&>().id()), int64_t>);
static_assert(std::is_same_v<decltype(std::declval<fg::models::File&>().size()), int64_t>);

namespace {

int failures = 0;

void Check(bool ok, const std::string& what) {
  if (!ok) {
    std::cerr << "FAILED: " << what << "\n";
    ++failures;
  }
}

std::string Pattern(std::size_t n) {
  std::string s(n, '\0');
  uint32_t x = 2463534242u;
  for (auto& c : s) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x);
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: consumer TARGET RUN_ID\n";
    return 2;
  }
  fg::ConnectOptions options;
  options.target = argv[1];
  const std::string run = argv[2];
  fg::Client client(options);
  try {
    // Users: create, find, update, paging with sort and filter, per-object actions.
    std::vector<int64_t> ids;
    for (int i = 0; i < 5; ++i) {
      auto user = client.Users().Create(fg::requests::CreateUser()
                                            .set_username(run + "-user-" + std::to_string(i))
                                            .set_name("Consumer " + std::to_string(i)));
      Check(user.id() > 0, "a created user has an id");
      ids.push_back(user.id());
    }
    auto found = client.Users().Find(ids[2]);
    Check(found.username() == run + "-user-2", "find gives the user: " + found.username());
    auto updated = client.Users().Update(found, fg::requests::UpdateUser().set_name("Renamed"));
    Check(updated.name() == "Renamed", "a per-object update: " + updated.name());

    std::vector<std::string> names;
    auto list = client.Users().List(fg::requests::ListUsers()
                                        .set_per_page(2)
                                        .set_sort_by(fg::Params{{"username", "desc"}})
                                        .set_filter_prefix(fg::Params{{"username", run + "-user-"}}));
    for (const auto& u : list) names.push_back(u.username());
    Check(names.size() == 5, "auto paging over 3 pages gives 5 users, got " + std::to_string(names.size()));
    Check(!names.empty() && names.front() == run + "-user-4", "sorted descending");

    auto manual = client.Users().List(fg::requests::ListUsers().set_per_page(2).set_filter_prefix(
        fg::Params{{"username", run + "-user-"}}));
    Check(manual.Page().size() == 2 && manual.HasNextPage(), "manual paging: a first page of 2");
    manual.LoadNextPage();
    Check(manual.Page().size() == 2, "manual paging: a second page of 2");

    client.Users().Delete(ids[0]);
    try {
      client.Users().Find(ids[0]);
      Check(false, "find after delete throws");
    } catch (const fg::NotFoundError& e) {
      Check(std::string(e.what()).find("not") != std::string::npos, "a typed not-found error");
    }

    // Per-call options the SDKs have: workspace and language.
    fg::CallOptions per_call;
    per_call.workspace_id = 0;
    per_call.language = "de";
    auto again = client.Users().Find(ids[1], {}, per_call);
    Check(again.id() == ids[1], "a call with workspace and language options");

    // 20 MiB round trip with progress both ways.
    const std::string folder = "consumer-" + run;
    client.Folders().Create(folder);
    const std::string data = Pattern(20 << 20);
    std::vector<int64_t> up, down;
    fg::TransferOptions up_options;
    up_options.expected_size = static_cast<int64_t>(data.size());
    up_options.progress = [&](int64_t done, int64_t total) {
      up.push_back(done);
      Check(total == static_cast<int64_t>(data.size()), "upload progress knows the total");
    };
    std::istringstream in(data);
    auto file = fg::models::File(client.Upload(in, folder + "/big.bin", up_options));
    Check(file.size() == static_cast<int64_t>(data.size()), "the uploaded File's size");
    Check(up.size() >= 2 && up.back() == static_cast<int64_t>(data.size()), "upload progress reaches the size");
    fg::TransferOptions down_options;
    down_options.progress = [&](int64_t done, int64_t total) {
      down.push_back(done);
      Check(total == static_cast<int64_t>(data.size()), "download progress knows the total");
    };
    std::ostringstream out;
    client.Download(folder + "/big.bin", out, down_options);
    Check(out.str() == data, "20 MiB come back unchanged");
    Check(!down.empty() && down.back() == static_cast<int64_t>(data.size()), "download progress reaches the size");

    // A deadline: 20 MiB do not come in 1 ms.
    fg::TransferOptions hurry;
    hurry.timeout = std::chrono::milliseconds(1);
    try {
      std::ostringstream sink;
      client.Download(folder + "/big.bin", sink, hurry);
      Check(false, "a 1 ms deadline expires");
    } catch (const fg::DeadlineExceededError&) {
    }

    // A write abandoned by an exception leaves nothing behind.
    try {
      auto f = client.Open(folder + "/abandoned.txt", "w");
      f.Write("half of it");
      throw std::runtime_error("the service fails mid-write");
    } catch (const std::runtime_error&) {
    }
    // Resumable: start, send a part and stop, query, resume from the persisted size, finish.
    const std::string big = Pattern(12 << 20);
    std::string id = client.StartResumableUpload(folder + "/resumed.bin");
    std::istringstream first(big.substr(0, 6 << 20));
    auto partial = client.ResumeUpload(id, first, /*finish=*/false);
    auto status = client.QueryUploadStatus(id);
    Check(!status.complete && status.persisted_size > 0 && status.persisted_size <= (6 << 20),
          "a partial resumable upload persisted " + std::to_string(status.persisted_size));
    Check(partial.persisted_size == status.persisted_size, "the stream and the query agree");
    std::istringstream whole(big);  // ResumeUpload seeks to the persisted size
    auto done = client.ResumeUpload(id, whole);
    Check(done.complete && fg::models::File(done.file).size() == static_cast<int64_t>(big.size()),
          "the resumed upload is committed whole");
    std::ostringstream back;
    client.Download(folder + "/resumed.bin", back);
    Check(back.str() == big, "the resumed file's bytes");

    std::string cancelled = client.StartResumableUpload(folder + "/cancelled.bin");
    client.CancelResumableUpload(cancelled);
    try {
      client.QueryUploadStatus(cancelled);
      Check(false, "a cancelled upload is gone");
    } catch (const fg::NotFoundError&) {
    }

    std::vector<std::string> entries;
    for (const auto& f : client.Folders().ListFor(folder)) entries.push_back(f.path());
    Check(entries.size() == 2, "the folder holds big.bin and resumed.bin only (" +
                                   std::to_string(entries.size()) + " entries)");
    for (const auto& e : entries) {
      Check(e.find("abandoned") == std::string::npos && e.find("cancelled") == std::string::npos,
            "nothing abandoned or cancelled was committed: " + e);
    }
  } catch (const fg::Error& e) {
    std::cerr << "FAILED: unexpected " << e.what() << "\n";
    return 1;
  }
  if (failures > 0) return 1;
  std::cout << "consumer scenario: ok\n";
  return 0;
}
