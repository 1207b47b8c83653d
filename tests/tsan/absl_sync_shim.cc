// ThreadSanitizer builds only (FILESGW_SANITIZE=thread): makes Debian's
// uninstrumented Abseil synchronization visible to TSan.
//
// libabsl_synchronization.so is not built with -fsanitize=thread, and
// absl::Mutex blocks with raw futex calls that TSan does not intercept, so
// TSan saw no happens-before edge between a thread that unlocks an
// absl::Mutex and the next one that locks it: every guarded member looked
// racy (the first report was client_core/scheduler.cc's heap, which is
// ABSL_GUARDED_BY its mutex). This shared library is linked ahead of Abseil,
// so its definitions interpose on the real ones for the executable, gRPC and
// Abseil itself; each forwards to the real function (dlsym RTLD_NEXT) and
// tells TSan what the call meant: a lock acquires the mutex's sync object, an
// unlock releases it, a condition wait releases then re-acquires, Notify
// releases the notification, a successful wait on it acquires.
//
// Lock-order checking stays with Abseil's own deadlock detector (on in the
// tests); this only restores the happens-before that races are judged by.
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

extern "C" {
void __tsan_acquire(void* addr);
void __tsan_release(void* addr);
}

namespace {

template <typename Fn>
Fn Real(const char* mangled) {
  void* fn = dlsym(RTLD_NEXT, mangled);
  if (fn == nullptr) {
    std::fprintf(stderr, "tsan absl shim: %s not found after the shim\n", mangled);
    std::abort();
  }
  return reinterpret_cast<Fn>(fn);
}

#define FILESGW_REAL(type, mangled) \
  static const auto real = Real<type>(mangled)

// Abseil evaluates an Await condition with the mutex held, but possibly on
// another thread (the one unlocking), and may then give the mutex up inside
// Await without going through Unlock: the evaluation acquires the mutex's
// sync object (it sees what the last holder wrote) and releases it after (the
// next holder sees that it read).
struct GuardedCondition {
  const absl::Condition* inner;
  absl::Mutex* mu;
  static bool Eval(void* arg) {
    auto* self = static_cast<GuardedCondition*>(arg);
    __tsan_acquire(self->mu);
    const bool met = self->inner->Eval();
    __tsan_release(self->mu);
    return met;
  }
};

}  // namespace

namespace absl {
ABSL_NAMESPACE_BEGIN

void Mutex::Lock() {
  FILESGW_REAL(void (*)(Mutex*), "_ZN4absl7debian35Mutex4LockEv");
  real(this);
  __tsan_acquire(this);
}

void Mutex::Unlock() {
  FILESGW_REAL(void (*)(Mutex*), "_ZN4absl7debian35Mutex6UnlockEv");
  __tsan_release(this);
  real(this);
}

void Mutex::ReaderLock() {
  FILESGW_REAL(void (*)(Mutex*), "_ZN4absl7debian35Mutex10ReaderLockEv");
  real(this);
  __tsan_acquire(this);
}

void Mutex::ReaderUnlock() {
  FILESGW_REAL(void (*)(Mutex*), "_ZN4absl7debian35Mutex12ReaderUnlockEv");
  __tsan_release(this);
  real(this);
}

bool Mutex::TryLock() {
  FILESGW_REAL(bool (*)(Mutex*), "_ZN4absl7debian35Mutex7TryLockEv");
  const bool locked = real(this);
  if (locked) __tsan_acquire(this);
  return locked;
}

// Await may release the mutex while the condition is false and holds it again
// on return: other threads' writes under it happen before the return.
void Mutex::Await(const Condition& cond) {
  FILESGW_REAL(void (*)(Mutex*, const Condition&), "_ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE");
  GuardedCondition guarded{&cond, this};
  __tsan_release(this);
  real(this, Condition(&GuardedCondition::Eval, &guarded));
  __tsan_acquire(this);
}

bool Mutex::AwaitWithTimeout(const Condition& cond, absl::Duration timeout) {
  FILESGW_REAL(bool (*)(Mutex*, const Condition&, absl::Duration),
               "_ZN4absl7debian35Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  GuardedCondition guarded{&cond, this};
  __tsan_release(this);
  const bool met = real(this, Condition(&GuardedCondition::Eval, &guarded), timeout);
  __tsan_acquire(this);
  return met;
}

void CondVar::Wait(Mutex* mu) {
  FILESGW_REAL(void (*)(CondVar*, Mutex*), "_ZN4absl7debian37CondVar4WaitEPNS0_5MutexE");
  __tsan_release(mu);
  real(this, mu);
  __tsan_acquire(mu);
}

bool CondVar::WaitWithDeadline(Mutex* mu, absl::Time deadline) {
  FILESGW_REAL(bool (*)(CondVar*, Mutex*, absl::Time),
               "_ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE");
  __tsan_release(mu);
  const bool timed_out = real(this, mu, deadline);
  __tsan_acquire(mu);
  return timed_out;
}

bool CondVar::WaitWithTimeout(Mutex* mu, absl::Duration timeout) {
  FILESGW_REAL(bool (*)(CondVar*, Mutex*, absl::Duration),
               "_ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE");
  __tsan_release(mu);
  const bool timed_out = real(this, mu, timeout);
  __tsan_acquire(mu);
  return timed_out;
}

void Notification::Notify() {
  FILESGW_REAL(void (*)(Notification*), "_ZN4absl7debian312Notification6NotifyEv");
  __tsan_release(this);
  real(this);
}

void Notification::WaitForNotification() const {
  FILESGW_REAL(void (*)(const Notification*),
               "_ZNK4absl7debian312Notification19WaitForNotificationEv");
  real(this);
  __tsan_acquire(const_cast<Notification*>(this));
}

bool Notification::WaitForNotificationWithTimeout(absl::Duration timeout) const {
  FILESGW_REAL(bool (*)(const Notification*, absl::Duration),
               "_ZNK4absl7debian312Notification30WaitForNotificationWithTimeoutENS0_8DurationE");
  const bool notified = real(this, timeout);
  if (notified) __tsan_acquire(const_cast<Notification*>(this));
  return notified;
}

ABSL_NAMESPACE_END
}  // namespace absl
