#include "server/transfer_upload_session.h"

#include <malloc.h>

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client_core/path_util.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "server/transfer_part_job.h"

namespace filesgw::server::transfer {

using client_core::ApiRequest;
using client_core::ApiResult;

UploadSession::UploadSession(TransferService::Impl* impl, files::v1::UploadSpec spec,
                             std::string path, std::shared_ptr<const CallerIdentity> caller)
    : impl_(impl), spec_(std::move(spec)), path_(std::move(path)), caller_(std::move(caller)),
      sums_(SumsWanted()) {}

unsigned UploadSession::SumsWanted() const {
  return client_core::Checksums::kCrc32 | client_core::Checksums::kCrc32c |
         (spec_.expected_md5().empty() ? 0u : unsigned{client_core::Checksums::kMd5});
}

bool UploadSession::OwnedBy(const std::string& caller_name) const {
  return caller_name == (caller_ != nullptr ? caller_->name : "");
}

std::string UploadSession::ref() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ref_;
}

std::shared_ptr<PartDescriptor> UploadSession::Descriptor(int part) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = descriptors_.find(part);
  return it == descriptors_.end() ? nullptr : it->second;
}

void UploadSession::SetDescriptor(int part, PartDescriptor d) {
  auto fresh = std::make_shared<PartDescriptor>(std::move(d));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = descriptors_.find(part);
  if (it != descriptors_.end()) {
    // Keep what the refresh did not say.
    fresh->partsize = it->second->partsize;
    fresh->parallel = it->second->parallel;
  }
  descriptors_[part] = std::move(fresh);
}

void UploadSession::SetListener(std::function<void(int64_t)> listener) {
  std::lock_guard<std::mutex> lock(mu_);
  listener_ = std::move(listener);
}

void UploadSession::Finished(int part, int64_t bytes) {
  std::function<void(int64_t)> listener;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = jobs_.begin(); it != jobs_.end(); ++it) {
      if ((*it)->part() == part) {
        jobs_.erase(it);
        break;
      }
    }
    listener = listener_;
  }
  impl_->budget.parts_in_flight.fetch_sub(1);
  // The attached stream gives the part's memory back; with none attached,
  // the stream that charged it has already given back all it held.
  if (listener != nullptr) listener(bytes);
}

void UploadSession::ShareAs(SharedUploads* shared, std::string id, std::string token) {
  shared_ = shared;
  shared_id_ = std::move(id);
  shared_token_ = std::move(token);
}

bool UploadSession::Restore(const std::string& ref, const std::map<int, SharedPart>& parts) {
  std::lock_guard<std::mutex> lock(mu_);
  ref_ = ref;
  for (const auto& [n, p] : parts) {
    client_core::Checksums sums(SumsWanted());
    if (!sums.Import(p.sums) || sums.bytes() != p.end) return false;
    etags_[n] = p.etag;
    boundaries_[n] = Boundary{p.end, sums};
  }
  return true;
}

void UploadSession::PartDone(int part, std::string etag, int64_t bytes) {
  if (shared_ == nullptr) return Stored(part, std::move(etag), bytes);
  // Durable only once Redis knows it: another replica resumes from there.
  SharedPart record;
  record.etag = etag;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto b = boundaries_.find(part);
    if (b != boundaries_.end()) {
      record.end = b->second.end;
      record.sums = b->second.sums.Export();
    }
  }
  auto self = shared_from_this();
  shared_->RecordPart(shared_id_, shared_token_, part, record,
                      [self, part, etag = std::move(etag), bytes](grpc::Status s) mutable {
                        if (!s.ok()) return self->PartFailed(part, std::move(s), bytes);
                        self->Stored(part, std::move(etag), bytes);
                      });
}

void UploadSession::Stored(int part, std::string etag, int64_t bytes) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    etags_[part] = std::move(etag);
  }
  Finished(part, bytes);
}

void UploadSession::PartFailed(int part, grpc::Status status, int64_t bytes) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!failed_ && status.error_code() != grpc::StatusCode::CANCELLED) {
      failed_ = true;
      failure_ = std::move(status);
    }
  }
  Finished(part, bytes);
}

void UploadSession::Abort() {
  std::set<std::shared_ptr<PartJob>> jobs;
  {
    std::lock_guard<std::mutex> lock(mu_);
    jobs = jobs_;
  }
  for (const auto& job : jobs) job->Cancel();
}

void UploadSession::Cancel(grpc::Status why) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    failed_ = true;
    failure_ = std::move(why);
  }
  Abort();
  std::function<void(int64_t)> listener;
  {
    std::lock_guard<std::mutex> lock(mu_);
    listener = listener_;
  }
  if (listener != nullptr) listener(0);  // wakes the attached stream
}

int UploadSession::in_flight() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(jobs_.size());
}

bool UploadSession::failed(grpc::Status* why) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (failed_ && why != nullptr) *why = failure_;
  return failed_;
}

int64_t UploadSession::persisted() const {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t end = 0;
  for (int part = 1;; ++part) {
    auto e = etags_.find(part);
    auto b = boundaries_.find(part);
    if (e == etags_.end() || b == boundaries_.end()) break;
    end = b->second.end;
  }
  return end;
}

std::shared_ptr<client_core::ApiCall> UploadSession::FetchDescriptors(
    const CallInfo& info, int part, std::function<void(grpc::Status)> done) {
  rapidjson::StringBuffer body;
  rapidjson::Writer<rapidjson::StringBuffer> w(body);
  w.StartObject();
  const std::string ref = this->ref();
  if (ref.empty()) {
    if (spec_.mkdir_parents()) {
      w.Key("mkdir_parents");
      w.Bool(true);
    }
    if (spec_.has_expected_size()) {
      w.Key("size");
      w.Int64(spec_.expected_size());
    }
  } else {
    w.Key("ref");
    w.String(ref.c_str());
    w.Key("part");
    w.Int(part);
    w.Key("parts");
    w.Int(8);  // a few URLs per round trip
  }
  w.EndObject();
  ApiRequest api;
  api.method = "POST";
  api.path_and_query = ApiPath("/file_actions/begin_upload", path_);
  api.body = body.GetString();
  api.content_type = "application/json";
  // begin_upload only hands out part URLs: nothing is visible until `end`, so a
  // repeat at worst leaves an unused upload session behind.
  api.idempotency = client_core::Idempotency::kIdempotent;
  auto self = shared_from_this();
  return CallApi(*impl_, info, std::move(api), [self, part, done = std::move(done)](ApiResult r) {
    if (!r.status.ok()) return done(FailureStatus(r));
    done(self->ParseDescriptors(r.body, part));
  });
}

grpc::Status UploadSession::ParseDescriptors(const std::string& body, int part) {
  rapidjson::Document doc;
  doc.Parse(body.c_str(), body.size());
  if (!doc.IsArray() || doc.Empty()) {
    return Local(grpc::StatusCode::INTERNAL, "UPSTREAM_RESPONSE_MALFORMED",
                 "begin_upload did not answer a list of parts");
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& item : doc.GetArray()) {
    if (!item.IsObject()) continue;
    auto d = std::make_shared<PartDescriptor>();
    int number = part;
    if (item.HasMember("part_number") && item["part_number"].IsInt()) {
      number = item["part_number"].GetInt();
    }
    if (item.HasMember("ref") && item["ref"].IsString() && ref_.empty()) {
      ref_ = item["ref"].GetString();
    }
    if (item.HasMember("upload_uri") && item["upload_uri"].IsString()) {
      d->url = item["upload_uri"].GetString();
    }
    if (item.HasMember("http_method") && item["http_method"].IsString() &&
        item["http_method"].GetStringLength() > 0) {
      d->http_method = absl::AsciiStrToUpper(item["http_method"].GetString());
    }
    if (item.HasMember("headers") && item["headers"].IsObject()) {
      for (const auto& h : item["headers"].GetObject()) {
        if (h.value.IsString()) d->headers.emplace_back(h.name.GetString(), h.value.GetString());
      }
    }
    if (item.HasMember("partsize") && item["partsize"].IsInt64()) {
      d->partsize = item["partsize"].GetInt64();
    }
    if (item.HasMember("parallel_parts") && item["parallel_parts"].IsBool()) {
      d->parallel = item["parallel_parts"].GetBool();
    }
    if (item.HasMember("retry_parts") && item["retry_parts"].IsBool()) {
      d->retry = item["retry_parts"].GetBool();
    }
    if (d->url.empty() || d->partsize <= 0) {
      return Local(grpc::StatusCode::INTERNAL, "UPSTREAM_RESPONSE_MALFORMED",
                   absl::StrCat("begin_upload part ", number, " has no upload_uri or partsize"));
    }
    descriptors_[number] = std::move(d);
  }
  if (ref_.empty()) {
    return Local(grpc::StatusCode::INTERNAL, "UPSTREAM_RESPONSE_MALFORMED",
                 "begin_upload gave no ref");
  }
  if (descriptors_.count(part) == 0) {
    return Local(grpc::StatusCode::INTERNAL, "UPSTREAM_RESPONSE_MALFORMED",
                 absl::StrCat("begin_upload gave no descriptor for part ", part));
  }
  return grpc::Status::OK;
}

int UploadSession::parallel_limit() const {
  return parallel_ ? std::max(1, impl_->deps.options.max_parallel_parts) : 1;
}

grpc::Status UploadSession::OpenBuffer() {
  auto d = Descriptor(next_part_);
  if (d == nullptr) {
    return Local(grpc::StatusCode::INTERNAL, "PART_DESCRIPTOR_MISSING",
                 absl::StrCat("no descriptor for part ", next_part_));
  }
  parallel_ = d->parallel;
  buffer_limit_ = d->partsize;
  int64_t capacity = buffer_limit_;
  if (spec_.has_expected_size()) {
    capacity = std::max<int64_t>(0, std::min(capacity, spec_.expected_size() - received_));
  }
  // The mapping reserves address space only; pages are touched (and charged
  // to the caller) as data arrives.
  buffer_ = impl_->parts->Take(static_cast<size_t>(capacity));
  if (buffer_ == nullptr) {
    return Local(grpc::StatusCode::RESOURCE_EXHAUSTED, "GATEWAY_OUT_OF_MEMORY",
                 "no memory for the next part buffer");
  }
  return grpc::Status::OK;
}

size_t UploadSession::Append(std::string_view data) {
  if (buffer_ == nullptr) return 0;
  const size_t take = std::min<size_t>({data.size(),
                                        static_cast<size_t>(buffer_limit_) - buffer_->size(),
                                        buffer_->capacity() - buffer_->size()});
  buffer_->Append(data.substr(0, take));
  sums_.Update(data.substr(0, take));
  received_ += static_cast<int64_t>(take);
  return take;
}

bool UploadSession::part_full() const {
  return buffer_ != nullptr && static_cast<int64_t>(buffer_->size()) >= buffer_limit_;
}

void UploadSession::Dispatch(const CallInfo& info, CallerQuotas::Slot upstream) {
  const int64_t bytes = static_cast<int64_t>(buffer_->size());
  CallInfo part_info = info;
  part_info.caller = caller_;
  auto job = std::make_shared<PartJob>(shared_from_this(), next_part_, std::move(buffer_), bytes,
                                       std::move(part_info), std::move(upstream));
  {
    std::lock_guard<std::mutex> lock(mu_);
    boundaries_[next_part_] = Boundary{received_, sums_};
    etags_.erase(next_part_);
    jobs_.insert(job);
  }
  impl_->budget.parts_in_flight.fetch_add(1);
  buffer_.reset();
  ++next_part_;
  job->Start();
  // Every fourth part (20 MiB and up), hand the heap pages freed since
  // (gRPC's receive slices, mostly) back to the system: without it a 1 GiB
  // stream peaked up to 10 % above a 100 MiB one (heap fragments). One call
  // takes 0.5 ms (p50; p90 0.9 ms), so about 0.04 CPU s per GiB.
  if (next_part_ % 4 == 0) malloc_trim(0);
}

int64_t UploadSession::DropBuffer() {
  const int64_t bytes = buffered();
  buffer_.reset();
  return bytes;
}

int64_t UploadSession::RewindToPersisted() {
  buffer_.reset();
  std::lock_guard<std::mutex> lock(mu_);
  int k = 0;
  while (etags_.count(k + 1) > 0 && boundaries_.count(k + 1) > 0) ++k;
  for (auto it = etags_.upper_bound(k); it != etags_.end();) it = etags_.erase(it);
  for (auto it = boundaries_.upper_bound(k); it != boundaries_.end();) it = boundaries_.erase(it);
  if (k == 0) {
    received_ = 0;
    sums_ = client_core::Checksums(SumsWanted());
  } else {
    received_ = boundaries_[k].end;
    sums_ = boundaries_[k].sums;
  }
  next_part_ = k + 1;
  failed_ = false;
  failure_ = grpc::Status::OK;
  return received_;
}

grpc::Status UploadSession::CheckReceived() const {
  if (spec_.has_expected_size() && received_ != spec_.expected_size()) {
    return Local(grpc::StatusCode::INVALID_ARGUMENT, "SIZE_MISMATCH",
                 absl::StrCat("the stream ended after ", received_, " of the expected ",
                              spec_.expected_size(), " bytes; nothing was committed"));
  }
  if (!spec_.expected_md5().empty() &&
      !absl::EqualsIgnoreCase(spec_.expected_md5(), sums_.Md5Hex())) {
    return Local(grpc::StatusCode::INVALID_ARGUMENT, "CHECKSUM_MISMATCH",
                 absl::StrCat("received bytes have md5 ", sums_.Md5Hex(), ", expected ",
                              spec_.expected_md5(), "; nothing was committed"));
  }
  if (spec_.has_expected_crc32c() && spec_.expected_crc32c() != sums_.crc32c()) {
    return Local(grpc::StatusCode::INVALID_ARGUMENT, "CHECKSUM_MISMATCH",
                 absl::StrCat("received bytes have crc32c ", sums_.crc32c(), ", expected ",
                              spec_.expected_crc32c(), "; nothing was committed"));
  }
  return grpc::Status::OK;
}

std::string UploadSession::EndBody() const {
  rapidjson::StringBuffer body;
  rapidjson::Writer<rapidjson::StringBuffer> w(body);
  w.StartObject();
  w.Key("action");
  w.String("end");
  w.Key("ref");
  const std::string ref = this->ref();
  w.String(ref.c_str());
  w.Key("etags");
  w.StartArray();
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [part, etag] : etags_) {
      if (part >= next_part_) continue;
      w.StartObject();
      w.Key("etag");
      w.String(etag.c_str());
      w.Key("part");
      w.String(std::to_string(part).c_str());
      w.EndObject();
    }
  }
  w.EndArray();
  w.Key("size");
  w.Int64(received_);
  if (!spec_.provided_mtime().empty()) {
    w.Key("provided_mtime");
    w.String(spec_.provided_mtime().c_str());
  }
  if (spec_.mkdir_parents()) {
    w.Key("mkdir_parents");
    w.Bool(true);
  }
  w.EndObject();
  return body.GetString();
}

bool UploadSession::Disagrees(const files::v1::File& stored) const {
  if (stored.size() != received_) return true;
  if (!stored.crc32().empty()) {
    return !absl::EqualsIgnoreCase(stored.crc32(), client_core::Crc32Hex(sums_.crc32()));
  }
  if (!stored.md5().empty() && sums_.has(client_core::Checksums::kMd5)) {
    return !absl::EqualsIgnoreCase(stored.md5(), sums_.Md5Hex());
  }
  return false;
}

void UploadSession::Answer(const files::v1::File& committed,
                           files::v1::UploadResponse* response) const {
  *response->mutable_file() = committed;
  if (sums_.has(client_core::Checksums::kMd5)) response->set_md5(sums_.Md5Hex());
  response->set_crc32c(sums_.crc32c());
  response->set_persisted_size(received_);
}

grpc::Status CheckSpec(const files::v1::UploadSpec& spec, std::string* path) {
  // A NUL byte or a ./.. segment is refused, not silently dropped: the
  // caller meant some other file than Normalize would pick.
  if (absl::Status bad = client_core::CheckRemotePath(spec.path()); !bad.ok()) {
    return Local(grpc::StatusCode::INVALID_ARGUMENT, "BAD_REQUEST_MESSAGE",
                 std::string(bad.message()));
  }
  *path = client_core::Normalize(spec.path());
  if (path->empty()) {
    return Local(grpc::StatusCode::INVALID_ARGUMENT, "BAD_REQUEST_MESSAGE",
                 "spec.path is required");
  }
  if (spec.has_expected_size() && spec.expected_size() < 0) {
    return Local(grpc::StatusCode::INVALID_ARGUMENT, "BAD_REQUEST_MESSAGE",
                 "spec.expected_size must not be negative");
  }
  if (!spec.expected_md5().empty() && spec.expected_md5().size() != 32) {
    return Local(grpc::StatusCode::INVALID_ARGUMENT, "BAD_REQUEST_MESSAGE",
                 "spec.expected_md5 must be 32 hex digits");
  }
  return grpc::Status::OK;
}

std::shared_ptr<client_core::ApiCall> CheckOverwrite(TransferService::Impl& impl,
                                                     const CallInfo& info,
                                                     const files::v1::UploadSpec& spec,
                                                     const std::string& path,
                                                     std::function<void(grpc::Status)> done) {
  if (spec.overwrite() != files::v1::OVERWRITE_POLICY_FAIL_IF_EXISTS) {
    done(grpc::Status::OK);
    return nullptr;
  }
  ApiRequest stat;
  stat.method = "GET";
  stat.path_and_query = ApiPath("/file_actions/metadata", path);
  return CallApi(impl, info, std::move(stat), [path, done = std::move(done)](ApiResult r) {
    if (r.status.ok()) {
      return done(Local(
          grpc::StatusCode::ALREADY_EXISTS, "DESTINATION_EXISTS",
          absl::StrCat(path, " already exists and the overwrite policy is FAIL_IF_EXISTS")));
    }
    if (r.http_status == 404) return done(grpc::Status::OK);
    done(FailureStatus(r));
  });
}

}  // namespace filesgw::server::transfer
