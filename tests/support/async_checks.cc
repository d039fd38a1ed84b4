#include "support/async_checks.h"

#include <dirent.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace zarrpp::test_support {

size_t ThreadCount() {
  size_t n = 0;
  if (DIR* d = opendir("/proc/self/task")) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') ++n;
    }
    closedir(d);
  }
  return n;
}

size_t ThreadBound() {
  return 2 * std::max<size_t>(1, std::thread::hardware_concurrency()) + 8;
}

ThreadSampler::ThreadSampler() {
  thread_ = std::thread([this] {
    while (!stop_.load()) {
      const size_t now = ThreadCount() - 1;
      size_t seen = max_.load();
      while (now > seen && !max_.compare_exchange_weak(seen, now)) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
}

ThreadSampler::~ThreadSampler() {
  Stop();
}

void ThreadSampler::Stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

void Latch::Done() {
  std::lock_guard<std::mutex> l(mu_);
  if (--left_ == 0) cv_.notify_all();
}

bool Latch::Wait(std::chrono::seconds limit) {
  std::unique_lock<std::mutex> l(mu_);
  return cv_.wait_for(l, limit, [&] { return left_ == 0; });
}

Bytes ValueOf(size_t i, size_t n) {
  Bytes v(n);
  for (size_t j = 0; j < n; ++j) v[j] = static_cast<uint8_t>((i * 7 + j) % 251);
  return v;
}

std::string KeyOf(size_t i) {
  return "v/" + std::to_string(i);
}

void AsyncRoundTrip(Store& store, size_t n) {
  {
    std::vector<Bytes> values(n);
    std::vector<ByteView> views(n);
    std::vector<Status> got(n, Status::IOError("not called"));
    Latch latch(n);
    for (size_t i = 0; i < n; ++i) {
      values[i] = ValueOf(i, 64 + i % 7);
      views[i] = values[i];
      store.set_async(KeyOf(i), std::span<const ByteView>(&views[i], 1), [&, i](Status s) {
        got[i] = std::move(s);
        latch.Done();
      });
    }
    ASSERT_TRUE(latch.Wait());
    for (size_t i = 0; i < n; ++i) ASSERT_TRUE(got[i].ok()) << i << ": " << got[i];
  }
  {
    std::vector<Bytes> out(n + 2);
    std::vector<Result<bool>> found(n + 2, Status::IOError("not called"));
    Latch latch(n + 2);
    for (size_t i = 0; i < n; ++i) {
      store.get_async(KeyOf(i), ByteRange::Whole(), out[i], [&, i](Result<bool> f) {
        found[i] = std::move(f);
        latch.Done();
      });
    }
    store.get_async("v/missing", ByteRange::Whole(), out[n], [&](Result<bool> f) {
      found[n] = std::move(f);
      latch.Done();
    });
    store.get_async(KeyOf(3), ByteRange::Bounded(10, 20), out[n + 1], [&](Result<bool> f) {
      found[n + 1] = std::move(f);
      latch.Done();
    });
    ASSERT_TRUE(latch.Wait());
    for (size_t i = 0; i < n; ++i) {
      ASSERT_TRUE(found[i].ok()) << i << ": " << found[i].status();
      EXPECT_TRUE(*found[i]) << i;
      EXPECT_EQ(out[i], ValueOf(i, 64 + i % 7)) << i;
    }
    ASSERT_TRUE(found[n].ok()) << found[n].status();
    EXPECT_FALSE(*found[n]);
    ASSERT_TRUE(found[n + 1].ok()) << found[n + 1].status();
    EXPECT_TRUE(*found[n + 1]);
    const Bytes v3 = ValueOf(3, 64 + 3 % 7);
    EXPECT_EQ(out[n + 1], Bytes(v3.begin() + 10, v3.begin() + 20));
  }
  {
    Latch latch(n / 2);
    std::atomic<int> failed{0};
    for (size_t i = 0; i < n / 2; ++i) {
      store.erase_async(KeyOf(i), [&](Status s) {
        if (!s.ok()) failed.fetch_add(1);
        latch.Done();
      });
    }
    ASSERT_TRUE(latch.Wait());
    EXPECT_EQ(failed.load(), 0);
    for (size_t i = 0; i < n; ++i) {
      auto v = store.get(KeyOf(i));
      ASSERT_TRUE(v.ok()) << v.status();
      EXPECT_EQ(v->has_value(), i >= n / 2) << i;
    }
  }
  // A bad key is InvalidArgument, through the callback.
  Bytes out;
  Latch bad_latch(1);
  Result<bool> bad = true;
  store.get_async("/bad", ByteRange::Whole(), out, [&](Result<bool> f) {
    bad = std::move(f);
    bad_latch.Done();
  });
  ASSERT_TRUE(bad_latch.Wait());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Status::Code::kInvalidArgument) << bad.status();
}

}  // namespace zarrpp::test_support
