// Upload memory: the gateway-wide budget, and part buffers mapped for
// themselves and reused across uploads.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "server/transfer_internal.h"

namespace filesgw::server::transfer {

bool MemoryBudget::TryTake(int64_t bytes) {
  if (bytes <= 0) return true;
  std::lock_guard<std::mutex> lock(mu_);
  if (free_ < bytes && !(bytes > total_ && free_ == total_)) return false;
  free_ -= bytes;
  return true;
}

bool MemoryBudget::TryOverdraft(const void* holder, int64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  if (overdraft_ != nullptr && overdraft_ != holder) return false;
  if (overdraft_ == nullptr && parts_in_flight.load() > 0) return false;  // memory will free
  overdraft_ = holder;
  free_ -= bytes;
  return true;
}

void MemoryBudget::EndOverdraft(const void* holder) {
  std::lock_guard<std::mutex> lock(mu_);
  if (overdraft_ == holder) overdraft_ = nullptr;
}

void MemoryBudget::Give(int64_t bytes) {
  if (bytes <= 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  free_ += bytes;
}

int64_t MemoryBudget::free() const {
  std::lock_guard<std::mutex> lock(mu_);
  return free_;
}

namespace {
size_t PageRounded(size_t n) {
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return std::max(page, (n + page - 1) / page * page);
}
}  // namespace

std::unique_ptr<PartBuffer> PartBuffer::Map(size_t capacity) {
  const size_t length = PageRounded(capacity);
  void* p = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  return std::unique_ptr<PartBuffer>(new PartBuffer(static_cast<char*>(p), length));
}

PartBuffer::~PartBuffer() { munmap(data_, capacity_); }

void PartBuffer::Append(std::string_view data) {
  const size_t n = std::min(data.size(), capacity_ - bytes_.size());
  std::memcpy(data_ + bytes_.size(), data.data(), n);
  bytes_ = std::string_view(data_, bytes_.size() + n);
}

std::shared_ptr<PartBuffer> PartPool::Take(size_t capacity) {
  const size_t length = PageRounded(capacity);
  std::unique_ptr<PartBuffer> buffer;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Same size only (parts of an upload are), so a reused buffer never holds
    // more memory than its upload reserved from the budget.
    for (auto it = free_.begin(); it != free_.end(); ++it) {
      if ((*it)->capacity() == length) {
        buffer = std::move(*it);
        free_.erase(it);
        break;
      }
    }
    if (buffer != nullptr) free_bytes_ -= length;
    ++in_use_;
    in_use_bytes_ += length;
  }
  if (buffer == nullptr) buffer = PartBuffer::Map(capacity);
  if (buffer == nullptr) {
    std::lock_guard<std::mutex> lock(mu_);
    --in_use_;
    in_use_bytes_ -= length;
    return nullptr;
  }
  std::weak_ptr<PartPool> pool = weak_from_this();
  return std::shared_ptr<PartBuffer>(buffer.release(), [pool](PartBuffer* b) {
    if (auto p = pool.lock()) return p->Give(b);
    delete b;
  });
}

void PartPool::Give(PartBuffer* buffer) {
  std::unique_ptr<PartBuffer> owned(buffer);
  std::vector<std::unique_ptr<PartBuffer>> unmap;
  {
    std::lock_guard<std::mutex> lock(mu_);
    --in_use_;
    in_use_bytes_ -= owned->capacity();
    if (in_use_ == 0) {
      unmap.swap(free_);  // idle: give everything back
      free_bytes_ = 0;
    } else {
      owned->Clear();
      free_bytes_ += owned->capacity();
      free_.push_back(std::move(owned));
      // Kept and used together within the limit: drop the oldest first.
      while (!free_.empty() && in_use_bytes_ + free_bytes_ > limit_) {
        free_bytes_ -= free_.front()->capacity();
        unmap.push_back(std::move(free_.front()));
        free_.erase(free_.begin());
      }
    }
  }
}

int PartPool::mapped() const {
  std::lock_guard<std::mutex> lock(mu_);
  return in_use_ + static_cast<int>(free_.size());
}

}  // namespace filesgw::server::transfer
