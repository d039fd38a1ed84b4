// zarrpp/executor.h - where zarrpp spends CPU concurrency.
//
// An Executor runs the per-chunk tasks of a read or write. zarrpp never uses a hidden global
// pool: every Array holds the executor given in its options (default: a shared oneTBB-backed
// executor with one worker per hardware thread).
//
// Contract for implementations: ParallelFor(n, grain, body) calls body(begin, end) over disjoint
// ranges that together cover [0, n), each at most `grain` long unless the executor chooses to run
// inline, and returns only when every call has returned. It may run body on the calling thread. It
// must be callable from inside a body running on the same executor without deadlock (nested
// parallelism: the calling thread helps or runs inline; it never blocks waiting on queued work it
// cannot reach).
//
// Exceptions: a body may throw (zarrpp code does not, but the standard library does: std::bad_alloc
// when memory runs out). ParallelFor never lets an exception escape on a thread other than the
// caller's: it captures the first exception any body throws, on whichever thread ran it, may skip
// ranges not yet started, waits until every started body has returned, and then rethrows that
// exception on the calling thread. The public API turns it into a Status there (an IOError
// naming "out of memory" for std::bad_alloc), so it never kills the process. Implementations
// outside zarrpp must keep the same contract.
//
// Thread safety: executors are safe for concurrent calls.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

namespace zarrpp {

class Executor {
 public:
  virtual ~Executor() = default;
  // Maximum number of bodies that may run at once.
  virtual size_t concurrency() const = 0;
  virtual void ParallelFor(size_t n, size_t grain,
                           const std::function<void(size_t begin, size_t end)>& body) = 0;
};

// Runs everything on the calling thread, in order.
std::shared_ptr<Executor> InlineExecutor();

// A oneTBB task arena limited to `concurrency` threads (0 = hardware threads). Nested calls from
// inside a body share the arena (work stealing), so they never deadlock or oversubscribe.
std::shared_ptr<Executor> MakeTbbExecutor(size_t concurrency = 0);

// The process-wide default: MakeTbbExecutor(0), created on first use.
std::shared_ptr<Executor> DefaultExecutor();

// A pool of `threads` plain threads for work that blocks on I/O latency: its bodies spend most of
// their time waiting, so it may have many more threads than cores. A ParallelFor issued from one
// of its own threads runs inline (it never waits on work queued behind it).
std::shared_ptr<Executor> MakeThreadPoolExecutor(size_t threads);

// The process-wide I/O pool used when a store asks for more concurrency than the CPU executor
// has: MakeThreadPoolExecutor(64), created on first use.
std::shared_ptr<Executor> DefaultIoExecutor();

// A process-wide pool of exactly `threads` I/O threads, created on first request for that size
// and shared by every caller asking for the same size.
std::shared_ptr<Executor> SharedIoExecutor(size_t threads);

}  // namespace zarrpp
