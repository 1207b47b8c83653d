// The emulated Files.com file tree: folders and files addressed by API path,
// with Files.com's path rules (client_core::Normalize, then NFC; lookups are
// case-insensitive through client_core::NormalizeForComparison; a name keeps
// the spelling it was first created with) and metadata (mtime,
// provided_mtime, checksums, custom metadata). Contents are immutable blobs:
// a replaced file never changes under an open reader.
//
// Storage is in memory, or mirrored under a directory (`storage_dir`): files
// and folders live at DIR/<display path>, written to DIR/.files-emulator/tmp
// first and renamed into place. Every disk path is built from validated names
// (no "", ".", "..", "/" or NUL), symlinks are never followed or created, and
// DIR/.files-emulator is reserved, so no request can reach outside DIR.
// Errors are Files.com API errors (reply.h).
//
//   FileSystemOptions options;  // storage_dir empty: in memory
//   FileSystem fs(options);
//   fs.Init();
//   fs.CreateFolder("reports/2024", /*mkdir_parents=*/true, std::nullopt);
//   fs.CommitFile("reports/2024/a.txt", false, MemoryBlob("hi"), DigestsOf("hi"), std::nullopt);
//   absl::StatusOr<std::vector<Entry>> children = fs.List("REPORTS/2024");
#ifndef FILESGW_EMULATOR_FILE_SYSTEM_H_
#define FILESGW_EMULATOR_FILE_SYSTEM_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "emulator/blob.h"
#include "emulator/digest.h"
#include "emulator/json.h"

namespace filesgw::emulator {

// Reserved at the top of a storage directory (temporary files).
inline constexpr absl::string_view kReservedName = ".files-emulator";

struct FileSystemOptions {
  std::string storage_dir;             // empty: in memory
  std::function<absl::Time()> clock;   // default absl::Now
};

// A snapshot of one file or folder.
struct Entry {
  int64_t id = 0;            // stable while the entry exists (paging tie-break)
  std::string path;          // display path, no leading slash; "" is the root
  std::string name;          // last segment
  std::string key;           // comparison key of `name`
  bool folder = false;
  int64_t size = 0;          // files only
  absl::Time created_at;
  absl::Time mtime;
  std::optional<absl::Time> provided_mtime;
  FileDigests digests;       // files only
  std::string custom_metadata;  // a JSON object's text; empty: none
  std::string priority_color;
};

// The segments of an API path after Files.com normalisation (NFC). Empty for
// the root.
std::vector<std::string> SplitApiPath(absl::string_view path);
// Files.com's comparison form of one name (case-folded, NFKC, ...).
std::string NameKey(absl::string_view name);

class FileSystem {
 public:
  explicit FileSystem(FileSystemOptions options);
  ~FileSystem();
  FileSystem(const FileSystem&) = delete;
  FileSystem& operator=(const FileSystem&) = delete;

  // Memory: nothing to do. Disk: creates DIR if needed, clears
  // DIR/.files-emulator/tmp and indexes what DIR holds (regular files and
  // folders; symlinks and other entries are ignored).
  absl::Status Init();
  bool on_disk() const { return !root_dir_.empty(); }
  // A fresh path for a temporary file inside the storage directory (disk only).
  std::string TempPath(absl::string_view prefix);

  absl::StatusOr<Entry> Stat(absl::string_view path) const;
  // The children of a folder (any order). A file path gives the file alone.
  absl::StatusOr<std::vector<Entry>> List(absl::string_view path) const;
  absl::StatusOr<Entry> CreateFolder(absl::string_view path, bool mkdir_parents,
                                     std::optional<absl::Time> provided_mtime);
  absl::Status Delete(absl::string_view path, bool recursive);
  // Files or whole folders. The destination's parents are created as needed;
  // `structure_only` copies folders without their files.
  absl::Status Copy(absl::string_view from, absl::string_view to, bool overwrite,
                    bool structure_only);
  absl::Status Move(absl::string_view from, absl::string_view to, bool overwrite);
  // Sets provided_mtime, merges custom metadata (null values remove keys),
  // sets priority_color; unset arguments leave things as they are.
  absl::StatusOr<Entry> Update(absl::string_view path, std::optional<absl::Time> provided_mtime,
                               const JsonValue* custom_metadata,
                               std::optional<std::string> priority_color);

  // OK when a file could be committed at `path` now.
  absl::Status CheckWritable(absl::string_view path, bool mkdir_parents) const;
  // Like CheckWritable, but a folder at `path` itself is not checked.
  absl::Status CheckParentFolder(absl::string_view path, bool mkdir_parents) const;
  // Makes `content` the file at `path` in one step (replacing a file there;
  // the name keeps its first spelling). mtime is now.
  absl::StatusOr<Entry> CommitFile(absl::string_view path, bool mkdir_parents, BlobPtr content,
                                   FileDigests digests, std::optional<absl::Time> provided_mtime);
  // The file and its content as of now; later changes to the path do not
  // change the returned blob. On disk, readers of an unchanged file share
  // one open descriptor.
  absl::StatusOr<std::pair<Entry, BlobPtr>> Open(absl::string_view path) const;

  size_t node_count() const;

 private:
  struct Node;

  Node* Find(const std::vector<std::string>& segments) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // The parent folder for a new entry at `segments`, creating missing folders
  // when `create` (else an error names what is missing).
  absl::StatusOr<Node*> Parent(const std::vector<std::string>& segments, bool create)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CheckParent(const std::vector<std::string>& segments, bool mkdir_parents) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  Node* AddChild(Node* parent, const std::string& name, bool folder) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::unique_ptr<Node> Detach(Node* node) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Entry Snapshot(const Node& node) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  std::string DisplayPath(const Node& node) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  std::string DiskPath(const Node& node) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  absl::Status CheckDiskChain(const Node& node) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  absl::Status CopyNode(const Node& from, Node* to_parent, const std::string& name,
                        bool structure_only) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status ScanDisk(Node* folder, const std::string& dir) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<BlobPtr> ContentOf(const Node& node) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  FileSystemOptions options_;
  std::function<absl::Time()> clock_;
  std::string root_dir_;  // absolute, without trailing slash; empty in memory
  std::string tmp_dir_;
  mutable absl::Mutex mu_;
  std::unique_ptr<Node> root_ ABSL_GUARDED_BY(mu_);
  int64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  size_t nodes_ ABSL_GUARDED_BY(mu_) = 1;
  absl::Mutex tmp_mu_;
  int64_t next_tmp_ ABSL_GUARDED_BY(tmp_mu_) = 1;
};

}  // namespace filesgw::emulator

#endif  // FILESGW_EMULATOR_FILE_SYSTEM_H_
