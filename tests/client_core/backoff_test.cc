#include "client_core/backoff.h"

#include "absl/random/random.h"
#include "gtest/gtest.h"

namespace filesgw::client_core {
namespace {

ClientOptions Sdk() { return ClientOptions{}; }  // 0.5 s initial, 2 s max

TEST(Backoff, BaseDoublesUpToTheCap) {
  const struct {
    int attempt;
    absl::Duration want;
  } cases[] = {
      {1, absl::Milliseconds(500)}, {2, absl::Seconds(1)},  {3, absl::Seconds(2)},
      {4, absl::Seconds(2)},        {60, absl::Seconds(2)}, {1 << 30, absl::Seconds(2)},
  };
  for (const auto& c : cases) EXPECT_EQ(BackoffBase(c.attempt, Sdk()), c.want) << c.attempt;
}

TEST(Backoff, EqualJitterStaysWithinHalfToFullBase) {
  absl::BitGen gen;
  for (int attempt = 1; attempt <= 6; ++attempt) {
    const absl::Duration base = BackoffBase(attempt, Sdk());
    absl::Duration low = absl::InfiniteDuration(), high = absl::ZeroDuration();
    for (int i = 0; i < 500; ++i) {
      absl::Duration d = Backoff(attempt, Sdk(), gen, Jitter::kEqual);
      ASSERT_GE(d, base / 2) << attempt;
      ASSERT_LE(d, base) << attempt;
      low = std::min(low, d);
      high = std::max(high, d);
    }
    // Jitter actually spreads: 500 draws cover most of the range.
    EXPECT_LT(low, base * 0.6) << attempt;
    EXPECT_GT(high, base * 0.9) << attempt;
  }
}

TEST(Backoff, FullJitterStaysWithinZeroToBase) {
  absl::BitGen gen;
  const absl::Duration base = BackoffBase(2, Sdk());
  absl::Duration low = absl::InfiniteDuration();
  for (int i = 0; i < 500; ++i) {
    absl::Duration d = Backoff(2, Sdk(), gen, Jitter::kFull);
    ASSERT_GE(d, absl::ZeroDuration());
    ASSERT_LE(d, base);
    low = std::min(low, d);
  }
  EXPECT_LT(low, base * 0.2);
}

TEST(Backoff, GrowsOnAverage) {
  absl::BitGen gen;
  auto mean = [&gen](int attempt) {
    absl::Duration sum;
    for (int i = 0; i < 200; ++i) sum += Backoff(attempt, Sdk(), gen);
    return sum / 200;
  };
  EXPECT_LT(mean(1), mean(2));
  EXPECT_LT(mean(2), mean(3));
}

TEST(Backoff, ZeroDelaysGiveZero) {
  ClientOptions o;
  o.initial_retry_delay = absl::ZeroDuration();
  o.max_retry_delay = absl::ZeroDuration();
  absl::BitGen gen;
  EXPECT_EQ(Backoff(3, o, gen), absl::ZeroDuration());
}

TEST(Backoff, InitialAboveMaxIsCapped) {
  ClientOptions o;
  o.initial_retry_delay = absl::Seconds(5);
  o.max_retry_delay = absl::Seconds(1);
  EXPECT_EQ(BackoffBase(1, o), absl::Seconds(1));
}

}  // namespace
}  // namespace filesgw::client_core
