// HTTP servers for the HTTP store tests, started on a free port of 127.0.0.1 serving a directory
// and stopped when the object goes: nginx (tests/services/nginx.sh; full Range support) and
// `python3 -m http.server` (ignores Range: answers 200 with the whole file).
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

namespace zarrpp::test_support {

class HttpServer {
 public:
  // Starts the server; null with `why` set when it cannot (not installed, did not come up).
  static std::unique_ptr<HttpServer> StartNginx(const std::string& root, std::string& why);
  static std::unique_ptr<HttpServer> StartPython(const std::string& root, std::string& why);
  ~HttpServer();

  // "http://127.0.0.1:PORT"
  const std::string& url() const { return url_; }

 private:
  HttpServer() = default;
  std::string url_;
  pid_t pid_ = -1;        // python: the server process
  std::string work_dir_;  // nginx: its work directory (config, pid file, logs)
};

// A port of 127.0.0.1 that was free a moment ago.
int FreeLocalPort();

}  // namespace zarrpp::test_support
