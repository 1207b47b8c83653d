// URL and body encodings the server's codec needs to speak Files.com REST:
// percent-encoding of path segments and query values, query strings with
// Rails-style nested keys (sort_by[username]=asc), and multipart/form-data.
//
//   QueryBuilder q;
//   q.Add("per_page", "100");
//   q.Add("sort_by[username]", "asc");
//   q.Build() == "per_page=100&sort_by%5Busername%5D=asc"
#ifndef FILESGW_CLIENT_CORE_QUERY_H_
#define FILESGW_CLIENT_CORE_QUERY_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace filesgw::client_core {

// Keeps RFC 3986 unreserved characters (A-Z a-z 0-9 - . _ ~), and '/' when
// `keep_slash`; every other byte (UTF-8 included) becomes %XX (upper-case hex).
std::string PercentEncode(std::string_view in, bool keep_slash = false);
void AppendPercentEncoded(std::string_view in, bool keep_slash, std::string* out);

class QueryBuilder {
 public:
  // Keys and values are raw; both are encoded. Repeated keys are kept in order.
  void Add(std::string_view key, std::string_view value);
  // "k=v&k2=v2" without a leading '?'; empty when nothing was added.
  std::string Build() const;
  bool empty() const { return params_.empty(); }

 private:
  std::vector<std::pair<std::string, std::string>> params_;
};

// multipart/form-data (RFC 7578) built in memory; meant for the few small
// multipart endpoints, not for file transfers.
class MultipartBuilder {
 public:
  // An empty boundary picks a random one that cannot occur by accident.
  explicit MultipartBuilder(std::string boundary = "");

  void AddField(std::string_view name, std::string_view value);
  void AddFile(std::string_view name, std::string_view filename, std::string_view content_type,
               std::string_view bytes);
  // The complete body, closing delimiter included. Call once, last.
  std::string Finish();
  // "multipart/form-data; boundary=..."
  std::string ContentType() const;
  const std::string& boundary() const { return boundary_; }

 private:
  void OpenPart(std::string_view name);

  std::string boundary_;
  std::string body_;
};

}  // namespace filesgw::client_core

#endif  // FILESGW_CLIENT_CORE_QUERY_H_
