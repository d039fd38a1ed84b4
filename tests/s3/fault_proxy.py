#!/usr/bin/python3
"""A fault-injecting HTTP/1.1 proxy for the S3 store tests (127.0.0.1 only, standard library).

Listens on 127.0.0.1 (an ephemeral port, printed as "PORT <n>" on stdout) and forwards each
request to --upstream, one upstream connection per request. The first --count requests whose
method matches --match (ANY: every method) get the fault chosen by --mode:

  reset        the connection is reset (RST) after the request is read; nothing is answered
  slowdown     503 with an S3 <Error><Code>SlowDown</Code> document
  truncate     the upstream response is sent with its Content-Length but half of its body,
               then the connection is closed
  slow         the upstream response is held back --delay-ms before it is sent
  cut_upload   the request headers and half of the body are forwarded to the upstream, then
               both connections are reset (a PUT cut in the middle of its body)
  status       an error status (--status, default 500) with an S3 error document
  none         no fault

GET /__fault/stats answers {"requests": n, "faults": n} without forwarding.
Requests are signed for the proxy's host:port; the upstream checks the signature over the Host
header as sent, so forwarding them unchanged keeps them valid. "Expect: 100-continue" is
answered by the proxy itself and not forwarded.
"""

import argparse
import json
import socket
import socketserver
import struct
import sys
import threading
import time

ARGS = None
LOCK = threading.Lock()
STATS = {"requests": 0, "faults": 0}


def read_until(sock, buf, marker):
    while marker not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            return None, buf
        buf += chunk
    i = buf.index(marker) + len(marker)
    return buf[:i], buf[i:]


def read_exact(sock, buf, n):
    while len(buf) < n:
        chunk = sock.recv(max(65536, n - len(buf)))
        if not chunk:
            raise ConnectionError("peer closed")
        buf += chunk
    return buf[:n], buf[n:]


def parse_headers(head):
    lines = head.split(b"\r\n")
    first = lines[0].decode("latin-1")
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        name, _, value = line.partition(b":")
        headers.append((name.decode("latin-1").strip(), value.decode("latin-1").strip()))
    return first, headers


def header(headers, name):
    for k, v in headers:
        if k.lower() == name:
            return v
    return None


def reset(sock):
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


def error_response(status, code):
    body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>%s</Code>"
            "<Message>injected by the fault proxy</Message></Error>" % code).encode()
    return (b"HTTP/1.1 %d Injected\r\nContent-Type: application/xml\r\nContent-Length: %d\r\n\r\n"
            % (status, len(body))) + body


def read_response(up, method):
    """Reads one response from the upstream: (head bytes, body bytes)."""
    buf = b""
    head, buf = read_until(up, buf, b"\r\n\r\n")
    if head is None:
        raise ConnectionError("upstream closed")
    first, headers = parse_headers(head[:-4])
    status = int(first.split()[1])
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        return head, b""
    length = header(headers, "content-length")
    if length is not None:
        body, buf = read_exact(up, buf, int(length))
        return head, body
    if (header(headers, "transfer-encoding") or "").lower() == "chunked":
        body = buf
        while not body.endswith(b"0\r\n\r\n"):
            chunk = up.recv(65536)
            if not chunk:
                break
            body += chunk
        return head, body
    body = buf
    while True:
        chunk = up.recv(65536)
        if not chunk:
            break
        body += chunk
    return head, body


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        client = self.request
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf = b""
        while True:
            try:
                head, buf = read_until(client, buf, b"\r\n\r\n")
            except OSError:
                return
            if head is None:
                return
            first, headers = parse_headers(head[:-4])
            method, target = first.split()[0], first.split()[1]
            if target.startswith("/__fault/stats"):
                with LOCK:
                    body = json.dumps(STATS).encode()
                client.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
                continue
            expect = (header(headers, "expect") or "").lower() == "100-continue"
            headers = [(k, v) for k, v in headers if k.lower() != "expect"]
            length = int(header(headers, "content-length") or 0)
            with LOCK:
                STATS["requests"] += 1
                fault = "none"
                if ARGS.mode != "none" and STATS["faults"] < ARGS.count and (
                        ARGS.match == "ANY" or ARGS.match == method):
                    STATS["faults"] += 1
                    fault = ARGS.mode
            if fault == "reset":
                reset(client)
                return
            if expect:
                client.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            try:
                body, buf = read_exact(client, buf, length)
            except (OSError, ConnectionError):
                return
            if fault == "slowdown":
                client.sendall(error_response(503, "SlowDown"))
                continue
            if fault == "status":
                client.sendall(error_response(ARGS.status, "InjectedError"))
                continue
            out = (first + "\r\n" + "".join("%s: %s\r\n" % kv for kv in headers) + "\r\n").encode(
                "latin-1")
            try:
                up = socket.create_connection((ARGS.host, ARGS.port))
            except OSError:
                reset(client)
                return
            try:
                if fault == "cut_upload":
                    up.sendall(out + body[: len(body) // 2])
                    time.sleep(0.05)
                    reset(up)
                    reset(client)
                    return
                up.sendall(out + body)
                rhead, rbody = read_response(up, method)
            except (OSError, ConnectionError, ValueError):
                reset(client)
                return
            finally:
                if fault != "cut_upload":
                    up.close()
            if fault == "slow":
                time.sleep(ARGS.delay_ms / 1000.0)
            if fault == "truncate" and rbody:
                try:
                    client.sendall(rhead + rbody[: len(rbody) // 2])
                except OSError:
                    pass
                reset(client)
                return
            try:
                client.sendall(rhead + rbody)
            except OSError:
                return


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--upstream", required=True, help="host:port of the S3 server")
    p.add_argument("--mode", default="none",
                   choices=["none", "reset", "slowdown", "truncate", "slow", "cut_upload",
                            "status"])
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--match", default="ANY")
    p.add_argument("--delay-ms", type=int, default=1000)
    p.add_argument("--status", type=int, default=500)
    ARGS = p.parse_args()
    host, _, port = ARGS.upstream.rpartition(":")
    ARGS.host, ARGS.port = host, int(port)
    server = Server(("127.0.0.1", 0), Handler)
    print("PORT %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
