#include "support/create_race.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <vector>

#include "zarrpp/array.h"
#include "zarrpp/json.h"

namespace zarrpp::test_support {

namespace {

constexpr int kCreated = 0;
constexpr int kAlreadyExists = 10;
constexpr int kFailed = 20;

int CreateInChild(const std::function<Result<std::shared_ptr<Store>>()>& open,
                  const std::string& path, int ready_fd, int go_fd, int id) {
  Result<std::shared_ptr<Store>> store = open();
  // Tell the parent this child is ready, then wait for the start (the parent closes the pipe).
  const char one = 1;
  if (::write(ready_fd, &one, 1) != 1) return kFailed;
  char c;
  while (::read(go_fd, &c, 1) > 0) {
  }
  if (!store.ok()) {
    std::fprintf(stderr, "racer %d: open: %s\n", id, store.status().ToString().c_str());
    return kFailed;
  }
  ArrayMetadata m;
  m.shape = {16, 16};
  m.chunk_shape = {8, 8};
  m.data_type = DataType(DataTypeId::kUInt8);
  m.codecs = Json::parse(R"(["bytes"])");
  m.attributes = Json{{"racer", id}};
  Result<std::shared_ptr<Array>> a = Array::Create(*store, path, m);
  if (a.ok()) return kCreated;
  if (a.status().IsAlreadyExists()) return kAlreadyExists;
  std::fprintf(stderr, "racer %d: %s\n", id, a.status().ToString().c_str());
  return kFailed;
}

}  // namespace

CreateRaceOutcome RaceArrayCreation(const std::function<Result<std::shared_ptr<Store>>()>& open,
                                    const std::string& path, int processes) {
  CreateRaceOutcome out;
  int ready[2], go[2];
  if (::pipe(ready) != 0 || ::pipe(go) != 0) {
    out.failed = processes;
    return out;
  }
  std::fflush(stdout);
  std::fflush(stderr);
  std::vector<pid_t> children;
  for (int i = 0; i < processes; ++i) {
    const pid_t pid = ::fork();
    if (pid < 0) {
      ++out.failed;
      continue;
    }
    if (pid == 0) {
      ::close(ready[0]);
      ::close(go[1]);
      const int code = CreateInChild(open, path, ready[1], go[0], i);
      std::fflush(stderr);
      ::_exit(code);
    }
    children.push_back(pid);
  }
  ::close(ready[1]);
  ::close(go[0]);
  // Wait until every child has opened its store, then release them all.
  char c;
  for (size_t n = 0; n < children.size() && ::read(ready[0], &c, 1) == 1; ++n) {
  }
  ::close(go[1]);
  ::close(ready[0]);
  for (pid_t pid : children) {
    int status = 0;
    if (::waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
      ++out.failed;
      continue;
    }
    switch (WEXITSTATUS(status)) {
      case kCreated: ++out.created; break;
      case kAlreadyExists: ++out.already_exists; break;
      default: ++out.failed;
    }
  }
  return out;
}

}  // namespace zarrpp::test_support
