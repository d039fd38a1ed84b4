#!/usr/bin/env python3
"""What including one public header costs a translation unit, as a ratio of compile times.

For every header in include/zarrpp/ this compiles two translation units with the library's own
compile command (compiler, flags, include paths and defines of a source of the zarrpp target,
taken from the build's flags.make):
  header TU    #include <zarrpp/NAME.h>
  baseline TU  #include of every standard and system header that NAME.h reaches through the
               zarrpp headers it includes (third-party headers such as nlohmann/json are not part
               of the baseline: they are the cost being measured)
Each TU is compiled --runs times, the two interleaved so that load on the machine hits both
alike; the compiler's CPU time (user + system, not wall time) is measured and the minimum of
each kept. The ratio header/baseline is printed per header, with the
third-party headers it reaches.

zarrpp/json.h is exempt from --max-ratio: it is the one public header that includes the JSON
library (nlohmann/json.hpp) in full, for the translation units that build or read JSON; the other
headers only forward-declare Json (tests/light_headers_test.cc guards that). It is still timed and
printed, marked "exempt".

Usage (BUILD_DIR: a configured build, Unix Makefiles generator):
  python3 bench/header_cost.py BUILD_DIR [--runs 5] [--max-ratio 1.5] [--only array.h,store.h]
Exit status 1 when --max-ratio is given and a header other than json.h exceeds it.
"""

import argparse
import os
import resource
import re
import shlex
import subprocess
import sys
import tempfile

# Headers whose purpose is to include a third-party library in full: timed, not held to the goal.
EXEMPT = {"json.h"}

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INCLUDE = os.path.join(ROOT, "include")
INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def compile_command(build_dir):
    """The compiler and flags the build uses for the zarrpp library's own sources."""
    cache = os.path.join(build_dir, "CMakeCache.txt")
    flags_make = os.path.join(build_dir, "CMakeFiles", "zarrpp.dir", "flags.make")
    if not os.path.exists(cache) or not os.path.exists(flags_make):
        sys.exit(f"{build_dir} is not a configured zarrpp build (Unix Makefiles generator)")
    compiler = None
    with open(cache) as f:
        for line in f:
            if line.startswith("CMAKE_CXX_COMPILER:"):
                compiler = line.split("=", 1)[1].strip()
    if not compiler:
        sys.exit("no CMAKE_CXX_COMPILER in " + cache)
    flags = []
    with open(flags_make) as f:
        for line in f:
            key, _, value = line.partition("=")
            if key.strip() in ("CXX_DEFINES", "CXX_INCLUDES", "CXX_FLAGS"):
                flags += shlex.split(value)
    return [compiler] + flags, build_dir


def closure(header):
    """Standard/system headers reached from include/zarrpp/<header> through zarrpp headers."""
    seen, system, third_party = set(), [], []
    stack = ["zarrpp/" + header]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        path = os.path.join(INCLUDE, name)
        if not os.path.exists(path):
            path_in = os.path.join(INCLUDE, name + ".in")  # version.h is generated
            if not os.path.exists(path_in):
                continue
            path = path_in
        with open(path) as f:
            text = f.read()
        for kind, inc in INCLUDE_RE.findall(text):
            if inc.startswith("zarrpp/"):
                stack.append(inc)
            elif inc.startswith("nlohmann/") or "/" in inc and not inc.startswith("sys/"):
                if inc not in third_party:
                    third_party.append(inc)
            elif inc not in system:
                system.append(inc)
    return system, third_party


def time_compile(cmd, cwd, source):
    """CPU seconds (user + system) the compiler spent: unlike wall time, it does not grow with
    other work sharing the machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = subprocess.run(cmd + ["-c", source, "-o", source + ".o"], cwd=cwd,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        sys.exit(f"compiling {source} failed:\n{r.stderr[:4000]}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build_dir")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--max-ratio", type=float, default=None)
    ap.add_argument("--only", default="", help="comma-separated header names")
    args = ap.parse_args()

    cmd, cwd = compile_command(os.path.abspath(args.build_dir))
    headers = sorted(h for h in os.listdir(os.path.join(INCLUDE, "zarrpp")) if h.endswith(".h"))
    if os.path.exists(os.path.join(INCLUDE, "zarrpp", "version.h.in")):
        headers.append("version.h")
    if args.only:
        wanted = set(args.only.split(","))
        headers = [h for h in headers if h in wanted]

    print(f"compiler: {cmd[0]}; runs per TU: {args.runs} (minimum kept)")
    print(f"{'header':<20} {'header cpu-s':>12} {'base cpu-s':>10} {'ratio':>6}  third-party")
    worst = 0.0
    with tempfile.TemporaryDirectory(prefix="zarrpp_header_cost_") as tmp:
        for h in headers:
            system, third_party = closure(h)
            header_src = os.path.join(tmp, "header_" + h.replace(".", "_") + ".cc")
            base_src = os.path.join(tmp, "base_" + h.replace(".", "_") + ".cc")
            with open(header_src, "w") as f:
                f.write(f"#include <zarrpp/{h}>\n")
            with open(base_src, "w") as f:
                # Guarded: a header may include some standard headers only where they exist
                # (strided_view.h and <mdspan>).
                f.write("".join(f"#if __has_include(<{s}>)\n#include <{s}>\n#endif\n"
                                for s in system))
            th, tb = [], []
            for _ in range(args.runs):
                th.append(time_compile(cmd, cwd, header_src))
                tb.append(time_compile(cmd, cwd, base_src))
            ratio = min(th) / min(tb)
            if h not in EXEMPT:
                worst = max(worst, ratio)
            print(f"{h:<20} {min(th):12.3f} {min(tb):10.3f} {ratio:6.2f}  "
                  f"{','.join(third_party) or '-'}{'  (exempt)' if h in EXEMPT else ''}")
    print(f"worst ratio (json.h exempt): {worst:.2f}")
    if args.max_ratio is not None and worst > args.max_ratio:
        print(f"FAIL: a header costs more than {args.max_ratio}x its standard headers")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
