#include "emulator/file_system.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <unicode/normalizer2.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client_core/path_util.h"
#include "emulator/reply.h"

namespace filesgw::emulator {
namespace {

constexpr size_t kMaxNameBytes = 255;
constexpr size_t kMaxPathChars = 5000;

bool IsAscii(absl::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

std::string Nfc(absl::string_view s) {
  if (IsAscii(s)) return std::string(s);
  UErrorCode err = U_ZERO_ERROR;
  const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(err);
  if (U_FAILURE(err)) return std::string(s);
  icu::UnicodeString text =
      icu::UnicodeString::fromUTF8(icu::StringPiece(s.data(), static_cast<int32_t>(s.size())));
  icu::UnicodeString out = nfc->normalize(text, err);
  if (U_FAILURE(err)) return std::string(s);
  std::string result;
  out.toUTF8String(result);
  return result;
}

std::string Quote(absl::string_view path) { return absl::StrCat("`", path, "`"); }

absl::Status NotFound(absl::string_view path) {
  return ApiError("not-found/file-not-found", absl::StrCat("Not Found: ", Quote(path), "."));
}
absl::Status ParentMissing(absl::string_view path) {
  return ApiError("processing-failure/destination-parent-does-not-exist",
                  absl::StrCat("The parent folder of ", Quote(path),
                               " does not exist (mkdir_parents creates it)."));
}
absl::Status ParentConflict(absl::string_view path) {
  return ApiError("processing-failure/destination-parent-conflict",
                  absl::StrCat(Quote(path), " is a file, not a folder."));
}
absl::Status Exists(absl::string_view path) {
  return ApiError("processing-failure/destination-exists",
                  absl::StrCat("The destination ", Quote(path), " exists."));
}
absl::Status InvalidPath(absl::string_view message) {
  return ApiError("bad-request/invalid-path", message);
}
absl::Status DiskError(absl::string_view what, const std::string& path) {
  return ApiError("processing-failure/file-processing-error",
                  absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

// A name a new file or folder may take.
absl::Status CheckNewName(const std::string& name, bool at_root) {
  if (name.size() > kMaxNameBytes) {
    return ApiError("processing-failure/filename-too-long",
                    absl::StrCat("The name ", Quote(name), " is longer than 255 bytes."));
  }
  if (!name.empty() && absl::ascii_isspace(static_cast<unsigned char>(name.back()))) {
    return ApiError("bad-request/path-cannot-have-trailing-whitespace",
                    absl::StrCat("The name ", Quote(name), " ends with whitespace."));
  }
  if (at_root && NameKey(name) == kReservedName) {
    return InvalidPath(absl::StrCat(Quote(name), " is reserved by the emulator."));
  }
  return absl::OkStatus();
}

std::vector<std::string> Keys(const std::vector<std::string>& segments) {
  std::vector<std::string> keys;
  keys.reserve(segments.size());
  for (const auto& s : segments) keys.push_back(NameKey(s));
  return keys;
}

bool IsPrefix(const std::vector<std::string>& prefix, const std::vector<std::string>& of) {
  return prefix.size() <= of.size() && std::equal(prefix.begin(), prefix.end(), of.begin());
}

// Removes `path` and everything under it without following symlinks (a link
// is removed itself). A missing path is fine.
bool RemoveTree(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return errno == ENOENT;
  if (!S_ISDIR(st.st_mode)) return ::unlink(path.c_str()) == 0 || errno == ENOENT;
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return false;
  std::vector<std::string> names;
  while (dirent* e = ::readdir(dir)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  ::closedir(dir);
  bool ok = true;
  for (const auto& name : names) ok = RemoveTree(absl::StrCat(path, "/", name)) && ok;
  return (::rmdir(path.c_str()) == 0 || errno == ENOENT) && ok;
}

// mkdir that accepts an existing real folder but never a symlink to one.
bool MakeDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) == 0) return true;
  if (errno != EEXIST) return false;
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return true;
  errno = EEXIST;
  return false;
}

bool MakeDirs(const std::string& path) {
  std::string prefix;
  for (absl::string_view part : absl::StrSplit(path, '/')) {
    prefix = prefix.empty() && path[0] == '/' ? absl::StrCat("/", part) : absl::StrCat(prefix, "/", part);
    if (part.empty()) continue;
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) return false;
  }
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

std::vector<std::string> SplitApiPath(absl::string_view path) {
  std::vector<std::string> segments;
  for (absl::string_view s : absl::StrSplit(client_core::Normalize(std::string_view(path.data(), path.size())), '/', absl::SkipEmpty())) {
    segments.push_back(Nfc(s));
  }
  return segments;
}

std::string NameKey(absl::string_view name) { return client_core::NormalizeForComparison(std::string_view(name.data(), name.size()));
}

struct FileSystem::Node {
  int64_t id = 0;
  std::string name;
  std::string key;
  bool folder = false;
  Node* parent = nullptr;
  std::map<std::string, std::unique_ptr<Node>> children;  // by key
  absl::Time created_at;
  absl::Time mtime;
  std::optional<absl::Time> provided_mtime;
  std::string custom_metadata;
  std::string priority_color;
  int64_t size = 0;
  FileDigests digests;
  BlobPtr content;  // in memory only
  mutable std::weak_ptr<const Blob> open;  // on disk: the descriptor readers share

  size_t Count() const {
    size_t n = 1;
    for (const auto& entry : children) n += entry.second->Count();
    return n;
  }
};

FileSystem::FileSystem(FileSystemOptions options)
    : options_(std::move(options)),
      clock_(options_.clock ? options_.clock : [] { return absl::Now(); }) {
  absl::MutexLock lock(&mu_);
  root_ = std::make_unique<Node>();
  root_->folder = true;
  root_->id = next_id_++;
  root_->created_at = root_->mtime = clock_();
}

FileSystem::~FileSystem() = default;

absl::Status FileSystem::Init() {
  if (options_.storage_dir.empty()) return absl::OkStatus();
  std::string dir = options_.storage_dir;
  if (dir[0] != '/') {
    char cwd[PATH_MAX];
    if (::getcwd(cwd, sizeof(cwd)) == nullptr) return absl::InternalError("getcwd failed");
    dir = absl::StrCat(cwd, "/", dir);
  }
  if (!MakeDirs(dir)) {
    return absl::InvalidArgumentError(absl::StrCat("cannot create storage dir ", dir, ": ",
                                                   std::strerror(errno)));
  }
  char resolved[PATH_MAX];
  if (::realpath(dir.c_str(), resolved) == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("cannot resolve storage dir ", dir));
  }
  root_dir_ = resolved;
  if (root_dir_ == "/") return absl::InvalidArgumentError("the storage dir cannot be /");
  std::string reserved = absl::StrCat(root_dir_, "/", kReservedName);
  struct stat st {};
  if (::lstat(reserved.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(reserved, " exists and is not a folder"));
  }
  if (::mkdir(reserved.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::InvalidArgumentError(absl::StrCat("cannot create ", reserved));
  }
  tmp_dir_ = absl::StrCat(reserved, "/tmp");
  RemoveTree(tmp_dir_);
  if (::mkdir(tmp_dir_.c_str(), 0700) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("cannot create ", tmp_dir_));
  }
  absl::MutexLock lock(&mu_);
  return ScanDisk(root_.get(), root_dir_);
}

absl::Status FileSystem::ScanDisk(Node* folder, const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return absl::InternalError(absl::StrCat("cannot read ", dir));
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (folder == root_.get() && name == kReservedName) continue;
    names.push_back(std::move(name));
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    std::string path = absl::StrCat(dir, "/", name);
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) continue;
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) continue;  // symlinks, devices, ...
    // Only names the API could have made: one valid segment, already NFC.
    std::vector<std::string> segments = SplitApiPath(name);
    if (segments.size() != 1 || segments[0] != name) continue;
    if (!CheckNewName(name, folder == root_.get()).ok()) continue;
    if (folder->children.count(NameKey(name)) != 0) continue;  // a case variant: first wins
    Node* node = AddChild(folder, name, S_ISDIR(st.st_mode));
    node->created_at = node->mtime = absl::TimeFromTimespec(st.st_mtim);
    if (node->folder) {
      if (absl::Status s = ScanDisk(node, path); !s.ok()) return s;
      continue;
    }
    auto blob = OpenDiskBlob(path, false);
    if (!blob.ok()) return blob.status();
    Digests digests;
    (*blob)->Read(0, (*blob)->size(), [&digests](absl::string_view piece) {
      digests.Update(piece);
      return true;
    });
    node->size = (*blob)->size();
    node->digests = digests.Finish();
  }
  return absl::OkStatus();
}

std::string FileSystem::TempPath(absl::string_view prefix) {
  if (tmp_dir_.empty()) return "";
  absl::MutexLock lock(&tmp_mu_);
  return absl::StrCat(tmp_dir_, "/", prefix, "-", ::getpid(), "-", next_tmp_++);
}

FileSystem::Node* FileSystem::Find(const std::vector<std::string>& segments) const {
  Node* node = root_.get();
  for (const auto& segment : segments) {
    if (!node->folder) return nullptr;
    auto it = node->children.find(NameKey(segment));
    if (it == node->children.end()) return nullptr;
    node = it->second.get();
  }
  return node;
}

absl::Status FileSystem::CheckParent(const std::vector<std::string>& segments,
                                     bool mkdir_parents) const {
  Node* node = root_.get();
  for (size_t i = 0; i + 1 < segments.size(); ++i) {
    auto it = node->children.find(NameKey(segments[i]));
    if (it == node->children.end()) {
      if (!mkdir_parents) return ParentMissing(absl::StrJoin(segments, "/"));
      for (size_t j = i; j + 1 < segments.size(); ++j) {
        if (absl::Status s = CheckNewName(segments[j], j == 0); !s.ok()) return s;
      }
      return absl::OkStatus();
    }
    if (!it->second->folder) {
      return ParentConflict(absl::StrJoin(segments.begin(), segments.begin() + i + 1, "/"));
    }
    node = it->second.get();
  }
  return absl::OkStatus();
}

absl::StatusOr<FileSystem::Node*> FileSystem::Parent(const std::vector<std::string>& segments,
                                                     bool create) {
  if (absl::Status s = CheckParent(segments, create); !s.ok()) return s;
  Node* node = root_.get();
  for (size_t i = 0; i + 1 < segments.size(); ++i) {
    auto it = node->children.find(NameKey(segments[i]));
    if (it != node->children.end()) {
      node = it->second.get();
      continue;
    }
    Node* child = AddChild(node, segments[i], true);
    if (on_disk()) {
      if (absl::Status s = CheckDiskChain(*node); !s.ok()) {
        Detach(child);
        return s;
      }
      std::string disk = DiskPath(*child);
      if (!MakeDir(disk)) {
        absl::Status s = DiskError("cannot create folder", DisplayPath(*child));
        Detach(child);
        return s;
      }
    }
    node = child;
  }
  return node;
}

FileSystem::Node* FileSystem::AddChild(Node* parent, const std::string& name, bool folder) {
  auto node = std::make_unique<Node>();
  node->id = next_id_++;
  node->name = name;
  node->key = NameKey(name);
  node->folder = folder;
  node->parent = parent;
  node->created_at = node->mtime = clock_();
  if (!folder) node->content = MemoryBlob("");
  Node* raw = node.get();
  parent->children[raw->key] = std::move(node);
  ++nodes_;
  return raw;
}

std::unique_ptr<FileSystem::Node> FileSystem::Detach(Node* node) {
  Node* parent = node->parent;
  auto it = parent->children.find(node->key);
  std::unique_ptr<Node> owned = std::move(it->second);
  parent->children.erase(it);
  owned->parent = nullptr;
  nodes_ -= owned->Count();
  return owned;
}

std::string FileSystem::DisplayPath(const Node& node) const {
  std::vector<const std::string*> names;
  for (const Node* n = &node; n != nullptr && n->parent != nullptr; n = n->parent) {
    names.push_back(&n->name);
  }
  std::string path;
  for (auto it = names.rbegin(); it != names.rend(); ++it) {
    if (!path.empty()) path += '/';
    path += **it;
  }
  return path;
}

std::string FileSystem::DiskPath(const Node& node) const {
  std::string display = DisplayPath(node);
  return display.empty() ? root_dir_ : absl::StrCat(root_dir_, "/", display);
}

absl::Status FileSystem::CheckDiskChain(const Node& node) const {
  if (!on_disk()) return absl::OkStatus();
  std::string display = DisplayPath(node);
  std::string path = root_dir_;
  for (absl::string_view part : absl::StrSplit(display, '/', absl::SkipEmpty())) {
    absl::StrAppend(&path, "/", part);
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) continue;  // created on demand
    if (S_ISLNK(st.st_mode)) {
      return ApiError("not-authorized", absl::StrCat("Refusing to follow a symlink at ",
                                                     Quote(display), "."));
    }
  }
  return absl::OkStatus();
}

Entry FileSystem::Snapshot(const Node& node) const {
  Entry e;
  e.id = node.id;
  e.path = DisplayPath(node);
  e.name = node.name;
  e.key = node.key;
  e.folder = node.folder;
  e.size = node.size;
  e.created_at = node.created_at;
  e.mtime = node.mtime;
  e.provided_mtime = node.provided_mtime;
  e.digests = node.digests;
  e.custom_metadata = node.custom_metadata;
  e.priority_color = node.priority_color;
  return e;
}

absl::StatusOr<BlobPtr> FileSystem::ContentOf(const Node& node) const {
  if (!on_disk()) return node.content;
  if (BlobPtr shared = node.open.lock()) return shared;
  if (absl::Status s = CheckDiskChain(node); !s.ok()) return s;
  auto blob = OpenDiskBlob(DiskPath(node), false);
  if (!blob.ok()) return DiskError("cannot open", DisplayPath(node));
  node.open = *blob;
  return blob;
}

absl::StatusOr<Entry> FileSystem::Stat(absl::string_view path) const {
  std::vector<std::string> segments = SplitApiPath(path);
  absl::ReaderMutexLock lock(&mu_);
  Node* node = Find(segments);
  if (node == nullptr) return NotFound(absl::StrJoin(segments, "/"));
  return Snapshot(*node);
}

absl::StatusOr<std::vector<Entry>> FileSystem::List(absl::string_view path) const {
  std::vector<std::string> segments = SplitApiPath(path);
  absl::ReaderMutexLock lock(&mu_);
  Node* node = Find(segments);
  if (node == nullptr) {
    return ApiError("not-found", absl::StrCat("Folder ", Quote(absl::StrJoin(segments, "/")),
                                              " not found."));
  }
  std::vector<Entry> out;
  if (!node->folder) {
    out.push_back(Snapshot(*node));
    return out;
  }
  out.reserve(node->children.size());
  for (const auto& [key, child] : node->children) out.push_back(Snapshot(*child));
  return out;
}

absl::StatusOr<Entry> FileSystem::CreateFolder(absl::string_view path, bool mkdir_parents,
                                               std::optional<absl::Time> provided_mtime) {
  std::vector<std::string> segments = SplitApiPath(path);
  if (path.size() > kMaxPathChars) {
    return ApiError("processing-failure/path-too-long", "The path is longer than 5000 characters.");
  }
  absl::MutexLock lock(&mu_);
  if (Node* existing = Find(segments)) return Exists(DisplayPath(*existing));
  if (absl::Status s = CheckNewName(segments.back(), segments.size() == 1); !s.ok()) return s;
  auto parent = Parent(segments, mkdir_parents);
  if (!parent.ok()) return parent.status();
  auto it = (*parent)->children.find(NameKey(segments.back()));
  if (it != (*parent)->children.end()) return Exists(DisplayPath(*it->second));
  Node* node = AddChild(*parent, segments.back(), true);
  node->provided_mtime = provided_mtime;
  if (on_disk()) {
    absl::Status chain = CheckDiskChain(**parent);
    std::string disk = DiskPath(*node);
    if (!chain.ok() || !MakeDir(disk)) {
      absl::Status s = chain.ok() ? DiskError("cannot create folder", DisplayPath(*node)) : chain;
      Detach(node);
      return s;
    }
  }
  return Snapshot(*node);
}

absl::Status FileSystem::Delete(absl::string_view path, bool recursive) {
  std::vector<std::string> segments = SplitApiPath(path);
  if (segments.empty()) return InvalidPath("The root folder cannot be deleted.");
  absl::MutexLock lock(&mu_);
  Node* node = Find(segments);
  if (node == nullptr) return NotFound(absl::StrJoin(segments, "/"));
  if (node->folder && !node->children.empty() && !recursive) {
    return ApiError("processing-failure/folder-not-empty",
                    absl::StrCat("The folder ", Quote(DisplayPath(*node)),
                                 " is not empty (recursive deletes it with its contents)."));
  }
  if (on_disk()) {
    if (absl::Status s = CheckDiskChain(*node->parent); !s.ok()) return s;
    if (!RemoveTree(DiskPath(*node))) return DiskError("cannot delete", DisplayPath(*node));
  }
  Detach(node);
  return absl::OkStatus();
}

absl::Status FileSystem::CopyNode(const Node& from, Node* to_parent, const std::string& name,
                                  bool structure_only) {
  Node* node = AddChild(to_parent, name, from.folder);
  node->custom_metadata = from.custom_metadata;
  node->priority_color = from.priority_color;
  node->provided_mtime = from.provided_mtime;
  if (from.folder) {
    if (on_disk()) {
      std::string disk = DiskPath(*node);
      if (!MakeDir(disk)) {
        absl::Status s = DiskError("cannot create folder", DisplayPath(*node));
        Detach(node);
        return s;
      }
    }
    for (const auto& [key, child] : from.children) {
      if (structure_only && !child->folder) continue;
      if (absl::Status s = CopyNode(*child, node, child->name, structure_only); !s.ok()) return s;
    }
    return absl::OkStatus();
  }
  node->size = from.size;
  node->digests = from.digests;
  if (!on_disk()) {
    node->content = from.content;  // immutable: shared, not copied
    return absl::OkStatus();
  }
  auto blob = OpenDiskBlob(DiskPath(from), false);
  std::string tmp = TempPath("copy");
  absl::Status s = blob.ok() ? WriteBlobToFile(**blob, tmp) : blob.status();
  if (s.ok() && ::rename(tmp.c_str(), DiskPath(*node).c_str()) != 0) {
    s = DiskError("cannot write", DisplayPath(*node));
    ::unlink(tmp.c_str());
  }
  if (!s.ok()) Detach(node);
  return s;
}

absl::Status FileSystem::Copy(absl::string_view from, absl::string_view to, bool overwrite,
                              bool structure_only) {
  std::vector<std::string> src = SplitApiPath(from), dst = SplitApiPath(to);
  if (src.empty()) return InvalidPath("The root folder cannot be copied.");
  if (dst.empty()) return InvalidPath("The destination cannot be the root folder.");
  std::vector<std::string> src_keys = Keys(src), dst_keys = Keys(dst);
  absl::MutexLock lock(&mu_);
  Node* node = Find(src);
  if (node == nullptr) return NotFound(absl::StrJoin(src, "/"));
  if (src_keys == dst_keys) return absl::OkStatus();  // onto itself: nothing to do
  if (IsPrefix(src_keys, dst_keys) || IsPrefix(dst_keys, src_keys)) {
    return ApiError("processing-failure/destination-parent-conflict",
                    "A folder cannot be copied into itself or onto one of its parents.");
  }
  if (absl::Status s = CheckNewName(dst.back(), dst.size() == 1); !s.ok()) return s;
  auto parent = Parent(dst, /*create=*/true);
  if (!parent.ok()) return parent.status();
  auto it = (*parent)->children.find(NameKey(dst.back()));
  if (it != (*parent)->children.end()) {
    if (!overwrite) return Exists(DisplayPath(*it->second));
    if (on_disk() && !RemoveTree(DiskPath(*it->second))) {
      return DiskError("cannot replace", DisplayPath(*it->second));
    }
    Detach(it->second.get());
  }
  if (on_disk()) {
    if (absl::Status s = CheckDiskChain(**parent); !s.ok()) return s;
    if (absl::Status s = CheckDiskChain(*node); !s.ok()) return s;
  }
  return CopyNode(*node, *parent, dst.back(), structure_only);
}

absl::Status FileSystem::Move(absl::string_view from, absl::string_view to, bool overwrite) {
  std::vector<std::string> src = SplitApiPath(from), dst = SplitApiPath(to);
  if (src.empty()) return InvalidPath("The root folder cannot be moved.");
  if (dst.empty()) return InvalidPath("The destination cannot be the root folder.");
  std::vector<std::string> src_keys = Keys(src), dst_keys = Keys(dst);
  absl::MutexLock lock(&mu_);
  Node* node = Find(src);
  if (node == nullptr) return NotFound(absl::StrJoin(src, "/"));
  if (src_keys == dst_keys) {
    // The same entry: at most a change of spelling of its name.
    if (node->name == dst.back()) return absl::OkStatus();
    if (on_disk()) {
      if (absl::Status s = CheckDiskChain(*node); !s.ok()) return s;
      std::string old_disk = DiskPath(*node);
      std::string new_disk = absl::StrCat(DiskPath(*node->parent), "/", dst.back());
      if (::rename(old_disk.c_str(), new_disk.c_str()) != 0) {
        return DiskError("cannot rename", DisplayPath(*node));
      }
    }
    node->name = dst.back();
    return absl::OkStatus();
  }
  if (IsPrefix(src_keys, dst_keys) || IsPrefix(dst_keys, src_keys)) {
    return ApiError("processing-failure/destination-parent-conflict",
                    "A folder cannot be moved into itself or onto one of its parents.");
  }
  if (absl::Status s = CheckNewName(dst.back(), dst.size() == 1); !s.ok()) return s;
  auto parent = Parent(dst, /*create=*/true);
  if (!parent.ok()) return parent.status();
  auto it = (*parent)->children.find(NameKey(dst.back()));
  if (it != (*parent)->children.end()) {
    if (!overwrite) return Exists(DisplayPath(*it->second));
    if (on_disk() && !RemoveTree(DiskPath(*it->second))) {
      return DiskError("cannot replace", DisplayPath(*it->second));
    }
    Detach(it->second.get());
  }
  if (on_disk()) {
    if (absl::Status s = CheckDiskChain(**parent); !s.ok()) return s;
    if (absl::Status s = CheckDiskChain(*node); !s.ok()) return s;
    std::string old_disk = DiskPath(*node);
    std::string new_disk = absl::StrCat(DiskPath(**parent), "/", dst.back());
    if (::rename(old_disk.c_str(), new_disk.c_str()) != 0) {
      return DiskError("cannot move", DisplayPath(*node));
    }
  }
  std::unique_ptr<Node> owned = Detach(node);
  owned->name = dst.back();
  owned->key = NameKey(owned->name);
  owned->parent = *parent;
  nodes_ += owned->Count();
  (*parent)->children[owned->key] = std::move(owned);
  return absl::OkStatus();
}

absl::StatusOr<Entry> FileSystem::Update(absl::string_view path,
                                         std::optional<absl::Time> provided_mtime,
                                         const JsonValue* custom_metadata,
                                         std::optional<std::string> priority_color) {
  std::vector<std::string> segments = SplitApiPath(path);
  absl::MutexLock lock(&mu_);
  Node* node = Find(segments);
  if (node == nullptr) return NotFound(absl::StrJoin(segments, "/"));
  if (provided_mtime) node->provided_mtime = provided_mtime;
  if (priority_color) node->priority_color = *priority_color;
  if (custom_metadata != nullptr && custom_metadata->IsObject()) {
    JsonDoc merged;
    if (!node->custom_metadata.empty()) merged.Parse(node->custom_metadata.c_str());
    if (merged.HasParseError() || !merged.IsObject()) merged.SetObject();
    for (const auto& m : custom_metadata->GetObject()) {
      absl::string_view key(m.name.GetString(), m.name.GetStringLength());
      if (m.value.IsNull()) {
        merged.RemoveMember(JsonValue(rapidjson::StringRef(key.data(), key.size())));
      } else {
        SetMember(merged, key, JsonValue(m.value, Alloc()));
      }
    }
    node->custom_metadata = merged.MemberCount() == 0 ? "" : ToJson(merged);
  }
  return Snapshot(*node);
}

absl::Status FileSystem::CheckParentFolder(absl::string_view path, bool mkdir_parents) const {
  std::vector<std::string> segments = SplitApiPath(path);
  if (segments.empty()) return InvalidPath("A file cannot be written at the root folder.");
  if (absl::Status s = CheckNewName(segments.back(), segments.size() == 1); !s.ok()) return s;
  absl::ReaderMutexLock lock(&mu_);
  return CheckParent(segments, mkdir_parents);
}

absl::Status FileSystem::CheckWritable(absl::string_view path, bool mkdir_parents) const {
  if (absl::Status s = CheckParentFolder(path, mkdir_parents); !s.ok()) return s;
  std::vector<std::string> segments = SplitApiPath(path);
  absl::ReaderMutexLock lock(&mu_);
  Node* existing = Find(segments);
  if (existing != nullptr && existing->folder) {
    return ApiError("processing-failure/destination-exists",
                    absl::StrCat("A folder exists at ", Quote(DisplayPath(*existing)), "."));
  }
  return absl::OkStatus();
}

absl::StatusOr<Entry> FileSystem::CommitFile(absl::string_view path, bool mkdir_parents,
                                             BlobPtr content, FileDigests digests,
                                             std::optional<absl::Time> provided_mtime) {
  if (absl::Status s = CheckWritable(path, mkdir_parents); !s.ok()) return s;
  std::vector<std::string> segments = SplitApiPath(path);
  const int64_t size = content->size();
  std::string tmp;
  if (on_disk()) {
    // The bytes go to a temporary file first: nothing is visible until the rename.
    tmp = TempPath("upload");
    if (absl::Status s = WriteBlobToFile(*content, tmp); !s.ok()) {
      return ApiError("processing-failure/file-processing-error", s.message());
    }
  }
  auto fail = [&tmp](absl::Status s) {
    if (!tmp.empty()) ::unlink(tmp.c_str());
    return s;
  };
  absl::MutexLock lock(&mu_);
  auto parent = Parent(segments, mkdir_parents);
  if (!parent.ok()) return fail(parent.status());
  Node* node = nullptr;
  bool created = false;
  auto it = (*parent)->children.find(NameKey(segments.back()));
  if (it != (*parent)->children.end()) {
    node = it->second.get();
    if (node->folder) {
      return fail(ApiError("processing-failure/destination-exists",
                           absl::StrCat("A folder exists at ", Quote(DisplayPath(*node)), ".")));
    }
  } else {
    node = AddChild(*parent, segments.back(), false);
    created = true;
  }
  if (on_disk()) {
    absl::Status chain = CheckDiskChain(*node);
    if (!chain.ok() || ::rename(tmp.c_str(), DiskPath(*node).c_str()) != 0) {
      absl::Status s = chain.ok() ? DiskError("cannot write", DisplayPath(*node)) : chain;
      if (created) Detach(node);
      return fail(s);
    }
  } else {
    node->content = std::move(content);
  }
  node->open.reset();  // new content: new readers open the new file
  node->size = size;
  node->digests = std::move(digests);
  node->mtime = clock_();
  node->provided_mtime = provided_mtime;
  return Snapshot(*node);
}

absl::StatusOr<std::pair<Entry, BlobPtr>> FileSystem::Open(absl::string_view path) const {
  std::vector<std::string> segments = SplitApiPath(path);
  absl::MutexLock lock(&mu_);  // exclusive: the shared descriptor may be set
  Node* node = Find(segments);
  if (node == nullptr) return NotFound(absl::StrJoin(segments, "/"));
  if (node->folder) return std::make_pair(Snapshot(*node), BlobPtr());
  auto blob = ContentOf(*node);
  if (!blob.ok()) return blob.status();
  return std::make_pair(Snapshot(*node), *std::move(blob));
}

size_t FileSystem::node_count() const {
  absl::ReaderMutexLock lock(&mu_);
  return nodes_;
}

}  // namespace filesgw::emulator
