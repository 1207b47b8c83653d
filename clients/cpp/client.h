// The C++ client of files-gateway: the whole Files.com API over gRPC in the
// shape of the Files.com SDKs, with no API key in the program.
//
//   filesgw::client::Client client({.target = "127.0.0.1:50051"});
//   auto users = client["users"];                     // or "User", "user"
//   for (const auto& user : users.List({{"sort_by", Params{{"username", "asc"}}}})) {
//     std::cout << user.GetString("username") << "\n";   // every page, loaded as needed
//   }
//   Model u = users.Create({{"username", "alice"}});
//   users.Update(u.GetInt("id"), {{"name", "Alice"}});
//   users.Delete(u.GetInt("id"));
//   client.UploadFile("local.bin", "remote/dir/file.bin", /*mkdir_parents=*/true);
//
// Resources and actions come from the descriptors (api.h), errors are the
// SDK's classes (errors.h), files stream over TransferService (transfer.h).
// A Client is safe for concurrent use; copies share the connection.
#ifndef FILESGW_CLIENTS_CPP_CLIENT_H_
#define FILESGW_CLIENTS_CPP_CLIENT_H_

#include <chrono>
#include <cstddef>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "clients/cpp/api.h"
#include "clients/cpp/errors.h"
#include "clients/cpp/transfer.h"
#include "clients/cpp/value.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"

namespace filesgw::client {

// Where .ci/start-gateway listens.
inline constexpr char kDefaultTarget[] = "127.0.0.1:50051";

struct ConnectOptions {
  // "host:port" or "unix:///path/to.sock".
  std::string target = kDefaultTarget;
  // TLS: on when `tls` is set or any PEM is given; empty roots: the system's.
  // A client certificate and key give mutual TLS.
  bool tls = false;
  std::string root_certs_pem;
  std::string client_cert_pem;
  std::string client_key_pem;
  std::string tls_server_name;  // overrides the name checked in the certificate
  // "authorization: Bearer <token>" on every call. Without TLS it is sent only
  // to loopback addresses and unix sockets (the sidecar case); the Client
  // constructor refuses other targets with InvalidParameterError.
  std::string bearer_token;
  // The default deadline of unary calls (0: none) and of transfers (0: none,
  // their length grows with the file). A CallOptions timeout overrides them.
  std::chrono::milliseconds timeout{30000};
  std::chrono::milliseconds transfer_timeout{0};
  // HTTP/2 pings every keepalive_time on an idle connection (0: off; keep it at
  // or above what the server accepts, 5 min by default), dropped when an answer
  // takes keepalive_timeout.
  std::chrono::milliseconds keepalive_time{0};
  std::chrono::milliseconds keepalive_timeout{20000};
  bool keepalive_without_calls = false;
  // The largest message either way (a 1,000-item page can pass gRPC's 4 MiB).
  int max_message_bytes = 64 << 20;
  // Calls wait, within their deadline, for the gateway to come up.
  bool wait_for_ready = false;
  // Metadata sent on every call.
  std::vector<std::pair<std::string, std::string>> metadata;
};

// Per call: a deadline instead of the client's default, more metadata, wait-for-ready.
struct CallOptions {
  std::optional<std::chrono::milliseconds> timeout;
  std::vector<std::pair<std::string, std::string>> metadata;
  std::optional<bool> wait_for_ready;
  // Per call, as the Files.com SDKs take them (empty / unset: not sent). The
  // key and session are used only when the gateway's profile allows caller
  // credentials (x-files-api-key / x-files-session-id); the workspace and
  // language reach Files.com as X-Files-Workspace-Id and Accept-Language.
  std::string api_key;
  std::string session_id;
  std::optional<int64_t> workspace_id;
  std::string language;
};

class Client;
class ClientCore;  // internal/core.h

// The items of a paginated action, one page at a time as the SDK's ListObj:
// Page / HasNextPage / LoadNextPage page by hand, and iterating (begin/end,
// AutoPagingIter) walks every item from the current page on, loading the next
// pages as it goes. Not safe for concurrent use.
class ListObj {
 public:
  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = Model;
    using difference_type = std::ptrdiff_t;
    using pointer = const Model*;
    using reference = const Model&;

    iterator() = default;
    reference operator*() const { return list_->page_[index_]; }
    pointer operator->() const { return &list_->page_[index_]; }
    iterator& operator++();  // may load the next page (and throw)
    bool operator==(const iterator& other) const {
      return list_ == other.list_ && index_ == other.index_;
    }
    bool operator!=(const iterator& other) const { return !(*this == other); }

   private:
    friend class ListObj;
    explicit iterator(ListObj* list);
    void Settle();  // skips to a page with items, or becomes end()
    ListObj* list_ = nullptr;  // null: end()
    std::size_t index_ = 0;
  };

  const std::vector<Model>& Page() const { return page_; }
  bool HasNextPage() const { return !cursor_.empty(); }
  // Replaces the page with the next one; throws InvalidRequestError when there is none.
  void LoadNextPage();
  const std::string& cursor() const { return cursor_; }

  iterator begin() { return iterator(this); }
  iterator end() { return iterator(); }
  // The SDK's spelling: `for (auto& u : users.List(...).AutoPagingIter())`
  // (on a temporary it takes the list over, so the loop owns it).
  ListObj& AutoPagingIter() & { return *this; }
  ListObj AutoPagingIter() && { return std::move(*this); }
  // Every remaining item of every page.
  std::vector<Model> All();

 private:
  friend class Resource;
  ListObj(std::shared_ptr<const ClientCore> core, const Method* method,
          std::shared_ptr<google::protobuf::Message> request, CallOptions options);
  void Load(const std::string& cursor);

  std::shared_ptr<const ClientCore> core_;
  const Method* method_;
  std::shared_ptr<google::protobuf::Message> request_;
  CallOptions options_;
  std::vector<Model> page_;
  std::string cursor_;
};

// One Files.com resource (an SDK class such as User) with every action of it.
// `args` are the request fields the action's REST path names, in order (id,
// path, ...); `params` the rest, by Files.com key.
class Resource {
 public:
  const std::string& name() const { return name_; }
  std::vector<std::string> Actions() const { return ActionsOf(name_); }
  // nullptr when there is no such action.
  const Method* method(std::string_view action) const { return LookupMethod(name_, action); }

  Model Find(const Value& id_or_path, const Params& params = {}, const CallOptions& options = {}) const;
  Model Create(const Params& params, const CallOptions& options = {}) const;
  Model Update(const Value& id_or_path, const Params& params, const CallOptions& options = {}) const;
  void Delete(const Value& id_or_path, const Params& params = {}, const CallOptions& options = {}) const;
  ListObj List(const Params& params = {}, const CallOptions& options = {}) const;

  // Any non-paginated action by its SDK name; an invalid Model for actions
  // that answer nothing (delete, unlock, ...). Bare lists (begin_upload) come
  // as a Model whose GetModels("items") are the entries.
  Model Call(std::string_view action, const std::vector<Value>& args = {},
             const Params& params = {}, const CallOptions& options = {}) const;
  // A per-object action: its REST path params (id, path, ...) are taken from
  // `object`'s own fields, e.g. users.CallOn(user, "update", {{"name", "A"}}),
  // users.CallOn(user, "delete").
  Model CallOn(const Model& object, std::string_view action, const Params& params = {},
               const CallOptions& options = {}) const;
  // Any paginated action ("list", "list_for", ...); the first page is loaded
  // before it returns, so a refused call throws here.
  ListObj ListAction(std::string_view action, const std::vector<Value>& args = {},
                     const Params& params = {}, const CallOptions& options = {}) const;

 private:
  friend class Client;
  Resource(std::shared_ptr<const ClientCore> core, std::string name)
      : core_(std::move(core)), name_(std::move(name)) {}
  const Method& Require(std::string_view action, bool paginated) const;

  std::shared_ptr<const ClientCore> core_;
  std::string name_;
};

}  // namespace filesgw::client

#include "clients/cpp/typed.h"
#include "clients/cpp/typed_gen.h"  // generated at build time (typegen.cc)

namespace filesgw::client {

// The gateway: resources by name (client.resource("users")) or typed
// (client.Users(), see typed_gen.h), file transfers, streaming file objects.
class Client : public typed::ResourceAccessors<Client> {
 public:
  // Opens a channel to options.target. Nothing is sent yet: a call to a
  // gateway that is not there throws APIConnectionError (or waits, with wait_for_ready).
  explicit Client(ConnectOptions options = {});
  // Over a channel of your own (TLS, keepalive and max_message_bytes of
  // `options` are then yours to set on it).
  Client(std::shared_ptr<grpc::Channel> channel, ConnectOptions options = {});

  // A resource by SDK name ("User", "ApiKey") or snake_case singular or plural
  // ("user", "users", "api_keys"); InvalidParameterError for no resource.
  Resource resource(std::string_view name) const;
  Resource operator[](std::string_view name) const { return resource(name); }

  // Uploads a local file; nothing appears at `remote` unless every byte
  // arrived and checked out. Gives the File.
  Model UploadFile(const std::string& local, const std::string& remote, bool mkdir_parents = false,
                   TransferOptions options = {}) const;
  // Streams everything `in` gives to `remote`.
  Model Upload(std::istream& in, const std::string& remote, TransferOptions options = {}) const;
  // Downloads into a temporary file beside `local`, renamed at the end, so a
  // failed download leaves nothing. Gives the File.
  Model DownloadFile(const std::string& remote, const std::string& local,
                     TransferOptions options = {}) const;
  Model Download(const std::string& remote, std::ostream& out, TransferOptions options = {}) const;
  // mode "r", "rb", "w" or "wb"; see RemoteFile.
  RemoteFile Open(const std::string& remote, std::string_view mode,
                  TransferOptions options = {}) const;
  // Resumable uploads: an upload that outlives its stream. Start gives the
  // upload id (keep it, e.g. on disk); ResumeUpload sends `in` from the
  // upload's persisted size (seeking `in` there when it can; otherwise `in`
  // must already be there) and, with `finish`, commits at its end; without
  // it the upload stays open for another ResumeUpload. A broken stream loses
  // at most the bytes after the persisted size: QueryUploadStatus says where
  // to go on. CancelResumableUpload drops it (nothing is committed).
  std::string StartResumableUpload(const std::string& remote, TransferOptions options = {}) const;
  UploadStatus QueryUploadStatus(const std::string& upload_id, const CallOptions& options = {}) const;
  UploadStatus ResumeUpload(const std::string& upload_id, std::istream& in, bool finish = true,
                            TransferOptions options = {}) const;
  UploadStatus ResumeUploadFile(const std::string& upload_id, const std::string& local,
                                TransferOptions options = {}) const;
  void CancelResumableUpload(const std::string& upload_id, const CallOptions& options = {}) const;
  // Every entry of a folder (Folder.list_for), as File models.
  ListObj ListFor(const std::string& folder, const Params& params = {}) const;

  std::shared_ptr<grpc::Channel> channel() const;
  const std::string& target() const;

 private:
  std::shared_ptr<const ClientCore> core_;
};

namespace internal {
// Applies the client's metadata and deadline (transfer: the transfer default) to a context.
void PrepareContext(const ClientCore& core, const CallOptions& options, bool transfer,
                    grpc::ClientContext* context);
}  // namespace internal

}  // namespace filesgw::client

#endif  // FILESGW_CLIENTS_CPP_CLIENT_H_
