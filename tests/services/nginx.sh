#!/usr/bin/env bash
# nginx (Debian nginx-light) serving a directory read-only over HTTP on 127.0.0.1, for the HTTP
# store tests. Its configuration, pid file, logs and temporary directories live under WORKDIR.
#
#   tests/services/nginx.sh start WORKDIR ROOT    serve ROOT; prints the base URL
#   tests/services/nginx.sh stop WORKDIR          stop the nginx started under WORKDIR (pid file)
#
# Port (environment): ZARRPP_NGINX_PORT (default 8089).
set -euo pipefail

usage() {
  echo "usage: $0 start WORKDIR ROOT | stop WORKDIR" >&2
  exit 2
}
[ $# -ge 2 ] || usage
cmd=$1
W=$2
port=${ZARRPP_NGINX_PORT:-8089}
nginx_bin=$(command -v nginx || true)
[ -z "$nginx_bin" ] && [ -x /usr/sbin/nginx ] && nginx_bin=/usr/sbin/nginx

stop() {
  local pid
  pid=$(cat "$W/nginx.pid" 2>/dev/null || true)
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
}

start() {
  [ $# -eq 1 ] || usage
  local root
  root=$(cd "$1" && pwd)
  if [ -z "$nginx_bin" ]; then
    echo "nginx.sh: nginx is not installed (apt-get install nginx-light)" >&2
    exit 3
  fi
  stop
  mkdir -p "$W"/{tmp,log}
  W=$(cd "$W" && pwd)
  # The master runs as whoever starts it; as root the workers would run as nobody, who may not
  # be able to read a test's private directory.
  local user_line=""
  [ "$(id -u)" -eq 0 ] && user_line="user root;"
  cat >"$W/nginx.conf" <<CONF
$user_line
daemon on;
worker_processes 1;
pid $W/nginx.pid;
error_log $W/log/error.log;
events { worker_connections 256; }
http {
  access_log $W/log/access.log;
  client_body_temp_path $W/tmp/body;
  proxy_temp_path $W/tmp/proxy;
  fastcgi_temp_path $W/tmp/fastcgi;
  uwsgi_temp_path $W/tmp/uwsgi;
  scgi_temp_path $W/tmp/scgi;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$port;
    root $root;
  }
}
CONF
  "$nginx_bin" -c "$W/nginx.conf" -e "$W/log/error.log"
  for _ in $(seq 1 100); do
    if curl -s -o /dev/null "http://127.0.0.1:$port/"; then
      echo "nginx up on http://127.0.0.1:$port serving $root"
      return 0
    fi
    sleep 0.05
  done
  echo "nginx.sh: nginx did not answer on 127.0.0.1:$port (log in $W/log/error.log)" >&2
  stop
  exit 1
}

case "$cmd" in
  start)
    shift 2
    start "$@"
    ;;
  stop) stop ;;
  *) usage ;;
esac
