#include "support/http_servers.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

namespace zarrpp::test_support {

namespace {

bool Executable(const std::string& path) {
  return ::access(path.c_str(), X_OK) == 0;
}

// The first of `names` found in PATH or the system directories.
std::string FindProgram(std::initializer_list<const char*> names) {
  std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
  path += ":/usr/sbin:/usr/bin:/sbin:/bin";
  for (const char* name : names) {
    if (name[0] == '/') {
      if (Executable(name)) return name;
      continue;
    }
    size_t begin = 0;
    while (begin <= path.size()) {
      const size_t end = std::min(path.find(':', begin), path.size());
      const std::string candidate = path.substr(begin, end - begin) + "/" + name;
      if (end > begin && Executable(candidate)) return candidate;
      begin = end + 1;
    }
  }
  return "";
}

// Whether something accepts connections on 127.0.0.1:port.
bool Accepts(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

std::string ServicesDir() {
  return std::string(ZARRPP_SOURCE_DIR) + "/tests/services";
}

}  // namespace

int FreeLocalPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = 0;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  ::close(fd);
  return port;
}

std::unique_ptr<HttpServer> HttpServer::StartNginx(const std::string& root, std::string& why) {
  if (FindProgram({"nginx", "/usr/sbin/nginx"}).empty()) {
    why = "nginx is not installed (apt-get install nginx-light; .ci/install-deps.sh does)";
    return nullptr;
  }
  const int port = FreeLocalPort();
  std::unique_ptr<HttpServer> server(new HttpServer());
  server->work_dir_ = root + ".nginx";
  const std::string command = "ZARRPP_NGINX_PORT=" + std::to_string(port) + " '" + ServicesDir() +
                              "/nginx.sh' start '" + server->work_dir_ + "' '" + root +
                              "' >/dev/null";
  if (std::system(command.c_str()) != 0) {
    why = "tests/services/nginx.sh could not start nginx on port " + std::to_string(port) +
          " (see " + server->work_dir_ + "/log/error.log)";
    return nullptr;
  }
  server->url_ = "http://127.0.0.1:" + std::to_string(port);
  return server;
}

std::unique_ptr<HttpServer> HttpServer::StartPython(const std::string& root, std::string& why) {
  const std::string python = FindProgram({"/usr/bin/python3", "python3"});
  if (python.empty()) {
    why = "python3 is not installed";
    return nullptr;
  }
  const int port = FreeLocalPort();
  const std::string port_text = std::to_string(port);
  const pid_t pid = ::fork();
  if (pid < 0) {
    why = "fork failed";
    return nullptr;
  }
  if (pid == 0) {
    const int null = ::open("/dev/null", O_RDWR);
    if (null >= 0) {
      ::dup2(null, 1);
      ::dup2(null, 2);
    }
    ::execl(python.c_str(), python.c_str(), "-m", "http.server", port_text.c_str(), "--bind",
            "127.0.0.1", "--directory", root.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  std::unique_ptr<HttpServer> server(new HttpServer());
  server->pid_ = pid;
  server->url_ = "http://127.0.0.1:" + port_text;
  for (int i = 0; i < 200; ++i) {
    if (Accepts(port)) return server;
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      server->pid_ = -1;
      why =
          python + " -m http.server exited before serving (status " + std::to_string(status) + ")";
      return nullptr;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  why = python + " -m http.server did not accept connections on port " + port_text + " in 10 s";
  return nullptr;
}

HttpServer::~HttpServer() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  if (!work_dir_.empty()) {
    const std::string command =
        "'" + ServicesDir() + "/nginx.sh' stop '" + work_dir_ + "' >/dev/null 2>&1";
    if (std::system(command.c_str()) != 0) {
    }
    std::error_code ec;
    std::filesystem::remove_all(work_dir_, ec);
  }
}

}  // namespace zarrpp::test_support
