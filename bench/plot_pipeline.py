#!/usr/bin/env python3
"""Charts and a markdown table from the pipeline matrix (bench/pipeline_bench.cc).

Reads the Google Benchmark JSON (--benchmark_out=... --benchmark_out_format=json) and writes into
the output directory (default bench/results/):

  ratio_fused.png, ratio_fused1.png  fused / batched (and fused on one worker / batched) time per
                                     cell, best of repetitions, as heat maps
  throughput_vs_chunk.png            throughput against chunk size (memory store, no latency)
  latency_scaling.png                full-read and full-write time against store latency, with the
                                     I/O-concurrency bound
  pipeline.md                        the goals with their numbers, then every cell

Usage: python3 bench/plot_pipeline.py bench/results/pipeline.json [--out bench/results]
Needs matplotlib (Debian: python3-matplotlib).
"""
import argparse
import collections
import json
import statistics
import math
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PIPELINES = ["batched", "fused", "fused1"]
OPS = ["write", "read", "strided"]
STORES = ["mem", "mem-1ms", "mem-10ms", "local"]
DATA = ["scalar", "random"]
COMPS = ["none", "blosc-lz4", "zstd3", "gzip1"]
LATENCY_S = {"mem": 0.0, "mem-1ms": 0.001, "mem-10ms": 0.010, "local": 0.0}
IO_CONCURRENCY = 64  # LatencyStore::kLatencyIoConcurrency, for runs without the counter
MIB = 1 << 20


def load(path):
    with open(path) as f:
        doc = json.load(f)
    # cell -> pipeline -> list of runs (dicts with seconds and counters)
    cells = collections.defaultdict(lambda: collections.defaultdict(list))
    layouts = []
    for b in doc["benchmarks"]:
        if b.get("run_type") != "iteration" or b.get("error_occurred"):
            continue
        parts = b["name"].split("/")
        op, layout, comp, store, data, pipe = parts[:6]
        if layout not in layouts:
            layouts.append(layout)
        unit = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b["time_unit"]]
        run = dict(b)
        run["seconds"] = b["real_time"] * unit
        cells[(op, layout, comp, store, data)][pipe].append(run)
    return doc.get("context", {}), layouts, cells


def best(runs):
    """The fastest repetition (its time and its counters)."""
    return min(runs, key=lambda r: r["seconds"])


def summary(cells):
    rows = {}
    for key, by_pipe in cells.items():
        if not all(p in by_pipe for p in PIPELINES):
            continue
        b = {p: best(by_pipe[p]) for p in PIPELINES}
        # Peak memory: the largest peak over repetitions (the first one also allocates scratch
        # buffers and codec contexts that later repetitions reuse, and that stay allocated). Only
        # a write to the memory store may subtract what stayed allocated: the store's new values.
        op, _, _, store, _ = key
        keeps_values = op == "write" and store.startswith("mem")
        peak = {p: max(r["peak_mem"] - (r["retained_mem"] if keeps_values else 0)
                       for r in by_pipe[p]) for p in PIPELINES}
        # Run-to-run spread: the median repetition of each pipeline.
        median = {p: statistics.median(r["seconds"] for r in by_pipe[p]) for p in PIPELINES}
        rows[key] = {"best": b, "peak": peak, "median": median}
        for extra in ("floor", "limit", "atomic-limit"):
            if extra in by_pipe:
                rows[key][extra] = best(by_pipe[extra])
    return rows


def heatmap(rows, layouts, pipe, path):
    ylabels = [f"{l} {c}" for l in layouts for c in COMPS]
    xlabels = [f"{o} {s} {d}" for o in OPS for s in STORES for d in DATA]
    grid = [[math.nan] * len(xlabels) for _ in ylabels]
    for yi, (l, c) in enumerate((l, c) for l in layouts for c in COMPS):
        for xi, (o, s, d) in enumerate((o, s, d) for o in OPS for s in STORES for d in DATA):
            r = rows.get((o, l, c, s, d))
            if r:
                grid[yi][xi] = r["best"][pipe]["seconds"] / r["best"]["batched"]["seconds"]
    fig, ax = plt.subplots(figsize=(17, 11))
    vmax = 1.5 if pipe == "fused" else 3.0
    im = ax.imshow(grid, cmap="RdYlGn_r", vmin=0.0, vmax=vmax, aspect="auto")
    ax.set_xticks(range(len(xlabels)))
    ax.set_xticklabels(xlabels, rotation=90, fontsize=7)
    ax.set_yticks(range(len(ylabels)))
    ax.set_yticklabels(ylabels, fontsize=7)
    for yi, row in enumerate(grid):
        for xi, v in enumerate(row):
            if not math.isnan(v):
                ax.text(xi, yi, f"{v:.2f}", ha="center", va="center", fontsize=5)
    fig.colorbar(im, ax=ax, label=f"{pipe} / batched time (lower is better)")
    ax.set_title(f"{pipe} / batched time per cell, best of repetitions, same run")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def throughput_chart(rows, layouts, path):
    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    for ax, op in zip(axes, ["write", "read"]):
        for comp, marker in zip(COMPS, "osD^"):
            for pipe, style in zip(PIPELINES, ["--", "-", ":"]):
                pts = []
                for l in layouts:
                    r = rows.get((op, l, comp, "mem", "random"))
                    if r:
                        run = r["best"][pipe]
                        pts.append((run["chunk_bytes"], run["bytes_per_second"] / MIB, l))
                pts.sort()
                if pts:
                    ax.plot([p[0] for p in pts], [p[1] for p in pts], style, marker=marker,
                            label=f"{pipe} {comp}", alpha=0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("chunk size read or written (bytes; inner chunk when sharded)")
        ax.set_ylabel("throughput (MiB/s of array data)")
        ax.set_title(f"full {op}, memory store, semi-random data")
        ax.grid(True, which="both", alpha=0.3)
    axes[1].legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def latency_bound(rows, key):
    """1.5 x L x max(requests / io_concurrency, requests per stored chunk) + the same cell's time
    on the memory store without latency (the CPU part); None for cells without latency."""
    op, l, c, s, d = key
    lat = LATENCY_S[s]
    if lat == 0:
        return None
    base = rows.get((op, l, c, "mem", d))
    if not base:
        return None
    out = {}
    for pipe in PIPELINES:
        run = rows[key]["best"][pipe]
        req = run["requests"]
        conc = run.get("io_concurrency") or IO_CONCURRENCY
        rounds = max(req / conc, req / max(1.0, run["stored_chunks"]))
        out[pipe] = 1.5 * lat * rounds + base["best"][pipe]["seconds"]
    return out


def latency_chart(rows, layouts, path):
    fig, axes = plt.subplots(2, len(layouts), figsize=(3.2 * len(layouts), 7), squeeze=False)
    for row, op in enumerate(["read", "write"]):
        for col, l in enumerate(layouts):
            ax = axes[row][col]
            for pipe, style in zip(PIPELINES, ["--", "-", ":"]):
                xs, ys = [], []
                for s in ["mem", "mem-1ms", "mem-10ms"]:
                    r = rows.get((op, l, "zstd3", s, "random"))
                    if r:
                        xs.append(LATENCY_S[s] * 1e3)
                        ys.append(r["best"][pipe]["seconds"])
                ax.plot(xs, ys, style, marker="o", label=pipe)
            bx, by = [], []
            for s in ["mem-1ms", "mem-10ms"]:
                key = (op, l, "zstd3", s, "random")
                if key in rows:
                    b = latency_bound(rows, key)
                    if b:
                        bx.append(LATENCY_S[s] * 1e3)
                        by.append(b["fused"])
            ax.plot(bx, by, "k-", lw=0.8, alpha=0.5, label="bound (fused)")
            ax.set_title(f"{op} {l}", fontsize=8)
            ax.set_xlabel("latency per operation (ms)", fontsize=7)
            if col == 0:
                ax.set_ylabel("seconds (zstd3, semi-random)", fontsize=7)
            ax.tick_params(labelsize=7)
            ax.grid(True, alpha=0.3)
    axes[0][0].legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def fmt_mib(b):
    return f"{b / MIB:.1f}"


def table(rows, layouts, context, path, command):
    lines = []
    ratios = []  # (ratio, key)
    ratios1 = []
    big_local = []  # fused speed-up on >= 1 MiB compressed chunks, local store
    mem_fail, mem_rows = [], []
    lat_fail, lat_rows = [], []
    for key, r in rows.items():
        op, l, c, s, d = key
        bt = r["best"]["batched"]["seconds"]
        ratios.append((r["best"]["fused"]["seconds"] / bt, key))
        ratios1.append((r["best"]["fused1"]["seconds"] / bt, key))
        run = r["best"]["fused"]
        if s == "local" and c != "none" and run["chunk_bytes"] >= MIB and op != "strided":
            floor, lim, alim = r.get("floor"), r.get("limit"), r.get("atomic-limit")
            big_local.append((bt / run["seconds"], key, bt / floor["seconds"] if floor else None,
                              bt / lim["seconds"] if lim else None,
                              run["seconds"] / lim["seconds"] if lim else None,
                              bt / alim["seconds"] if alim else None))
        limit = run["workers"] * 2 * run["stored_chunk_bytes"] + 16 * MIB
        mem_rows.append((r["peak"]["fused"], limit, r["peak"]["batched"], key))
        if r["peak"]["fused"] > limit:
            mem_fail.append(key)
        if op != "strided":
            b = latency_bound(rows, key)
            if b:
                lat_rows.append((run["seconds"], b["fused"], key))
                if run["seconds"] > b["fused"]:
                    lat_fail.append(key)
    ratios.sort()
    ratios1.sort()
    big_local.sort()
    name = lambda k: "/".join(k)  # noqa: E731
    lines.append("# Pipeline matrix results\n")
    lines.append(f"Made by: `{command}`\n")
    if context:
        lines.append(f"Machine: {context.get('num_cpus')} CPUs at {context.get('mhz_per_cpu')} MHz, "
                     f"{context.get('date', '')}; Google Benchmark library build {context.get('library_build_type', '')}.\n")
    lines.append("All times are the best of the case's repetitions; ratios divide two times of one run.\n")
    lines.append("## Goals\n")
    over = [x for x in ratios if x[0] > 1.0]
    lines.append(f"- Fused at most 1.0x batched in every cell: {len(ratios) - len(over)} of "
                 f"{len(ratios)} cells; worst {ratios[-1][0]:.2f}x ({name(ratios[-1][1])}), best "
                 f"{ratios[0][0]:.2f}x ({name(ratios[0][1])}); median "
                 f"{ratios[len(ratios) // 2][0]:.2f}x.")
    if over:
        # Above 1.0x beyond the noise: fused's fastest repetition is slower than batched's median
        # one. Otherwise the two pipelines' repetitions overlap and the cell is a tie.
        real = [(v, k) for v, k in over
                if rows[k]["best"]["fused"]["seconds"] > rows[k]["median"]["batched"]]
        ties = len(over) - len(real)
        lines.append(f"  Of the {len(over)} cells above 1.0x, {ties} are ties within the run-to-run "
                     f"spread (fused's best repetition is no slower than batched's median one) and "
                     f"{len(real)} are slower beyond it.")
        lines.append(f"  Slower beyond the spread: " +
                     ", ".join(f"{name(k)} {v:.2f}x" for v, k in real[::-1]))
        lines.append(f"  Ties: " + ", ".join(f"{name(k)} {v:.2f}x" for v, k in over[::-1]
                                             if (v, k) not in real))
    if big_local:
        lines.append(f"- Fused at least 1.5x faster than batched on >= 1 MiB compressed chunks on the "
                     f"local store: {sum(1 for v, *_ in big_local if v >= 1.5)} of {len(big_local)} cells; "
                     f"smallest speed-up {big_local[0][0]:.2f}x ({name(big_local[0][1])}), largest "
                     f"{big_local[-1][0]:.2f}x ({name(big_local[-1][1])}).")
        capped = [x for x in big_local if x[0] < 1.5 and x[2] is not None and x[2] < 1.5]
        if capped:
            lines.append("  Cells where no pipeline can reach 1.5x: batched / codec floor (the chain's "
                         "encode or decode of every chunk, in parallel, with no store, gather or "
                         "scatter: the `floor` case) is below 1.5: " +
                         ", ".join(f"{name(x[1])} fused {x[0]:.2f}x, at most {x[2]:.2f}x"
                                   for x in capped))
        near = [x for x in big_local if x[0] < 1.5 and x not in capped and x[3] is not None
                and x[3] < 1.5]
        if near:
            lines.append("  Cells where batched is already within 1.5x of the limit baseline (workload.md: "
                         "per stored file on all cores, copy out, encode, pwrite in place; pread, "
                         "decode, copy rows; no framework: the `limit` case), so 1.5x would need a "
                         "pipeline faster than the limit: " +
                         ", ".join(f"{name(x[1])} fused {x[0]:.2f}x, batched / limit {x[3]:.2f}x"
                                   for x in near))
        atomic = [x for x in big_local if x[0] < 1.5 and x not in capped and x not in near
                  and x[5] is not None and x[5] < 1.5]
        if atomic:
            lines.append("  Writes where batched is within 1.5x of the atomic limit (the limit writing "
                         "each file as a temporary file renamed over the key's, as LocalStore's "
                         "atomic set must: the `atomic-limit` case): " +
                         ", ".join(f"{name(x[1])} fused {x[0]:.2f}x, batched / atomic limit {x[5]:.2f}x"
                                   for x in atomic))
        open_cells = [x for x in big_local if x[0] < 1.5 and x not in capped + near + atomic]
        lines.append(f"  Cells below 1.5x that none of these bounds explain: {len(open_cells)}" +
                     ("" if not open_cells else ": " + ", ".join(f"{name(x[1])} {x[0]:.2f}x"
                                                                 for x in open_cells)) + ".")
        lines.append("")
        lines.append("  | cell | fused speed-up | batched / codec floor | batched / limit | "
                     "fused / limit | batched / atomic limit |")
        lines.append("  |---|---|---|---|---|---|")
        ratio = lambda x: "-" if x is None else f"{x:.2f}x"  # noqa: E731
        for v, k, f, bl, fl, al in big_local:
            lines.append(f"  | {name(k)} | {v:.2f}x | {ratio(f)} | {ratio(bl)} | {ratio(fl)} | "
                         f"{ratio(al)} |")
        lines.append("")
    worst_mem = max(mem_rows, key=lambda x: x[0] / x[1])
    lines.append(f"- Fused peak memory at most workers x 2 stored chunks + 16 MiB above the output "
                 f"buffer: {len(mem_rows) - len(mem_fail)} of {len(mem_rows)} cells; closest "
                 f"{fmt_mib(worst_mem[0])} MiB of {fmt_mib(worst_mem[1])} MiB allowed "
                 f"({name(worst_mem[3])}). Largest fused peak "
                 f"{fmt_mib(max(x[0] for x in mem_rows))} MiB; largest batched peak "
                 f"{fmt_mib(max(x[2] for x in mem_rows))} MiB.")
    if mem_fail:
        lines.append("  Over: " + ", ".join(name(k) for k in mem_fail[:40]))
    if lat_rows:
        lines.append(f"- Latency cells within 1.5 x L x max(requests / io_concurrency, requests per "
                     f"stored chunk) + the cell's time without latency (io_concurrency: the requests "
                     f"the pipeline keeps in flight, the `io_concurrency` counter): "
                     f"{len(lat_rows) - len(lat_fail)} of {len(lat_rows)} full reads and writes.")
        if lat_fail:
            lines.append("  Over: " + ", ".join(name(k) for k in lat_fail[:40]))
    lines.append("")
    lines.append("Peak memory (MiB) is the peak of live heap bytes (every malloc of the process, codec "
                 "libraries included) above the start of the operation minus what stayed allocated "
                 "at its end (a memory store's new values), the largest over the case's repetitions; "
                 "the caller's output buffer is allocated before and not counted.\n")
    lines.append("## Every cell\n")
    lines.append("| op | layout | compression | store | data | batched ms | fused ms | fused / batched | "
                 "fused1 ms | fused1 / batched | peak MiB batched | peak MiB fused | read MiB | written MiB |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    order = {k: i for i, k in enumerate(layouts)}
    for key in sorted(rows, key=lambda k: (OPS.index(k[0]), order[k[1]], COMPS.index(k[2]),
                                           STORES.index(k[3]), DATA.index(k[4]))):
        r = rows[key]
        b, f, f1 = (r["best"][p] for p in PIPELINES)
        lines.append(
            f"| {' | '.join(key)} | {b['seconds'] * 1e3:.2f} | {f['seconds'] * 1e3:.2f} | "
            f"{f['seconds'] / b['seconds']:.2f} | {f1['seconds'] * 1e3:.2f} | "
            f"{f1['seconds'] / b['seconds']:.2f} | {fmt_mib(r['peak']['batched'])} | "
            f"{fmt_mib(r['peak']['fused'])} | {fmt_mib(f['bytes_read'])} | {fmt_mib(f['bytes_written'])} |")
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    return ratios, ratios1, big_local


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("json")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    ap.add_argument("--command", default="build/bench/pipeline_bench --benchmark_out=bench/results/"
                    "pipeline.json --benchmark_out_format=json && python3 bench/plot_pipeline.py "
                    "bench/results/pipeline.json")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    context, layouts, cells = load(args.json)
    rows = summary(cells)
    heatmap(rows, layouts, "fused", os.path.join(args.out, "ratio_fused.png"))
    heatmap(rows, layouts, "fused1", os.path.join(args.out, "ratio_fused1.png"))
    throughput_chart(rows, layouts, os.path.join(args.out, "throughput_vs_chunk.png"))
    latency_chart(rows, layouts, os.path.join(args.out, "latency_scaling.png"))
    ratios, _, _ = table(rows, layouts, context, os.path.join(args.out, "pipeline.md"), args.command)
    print(f"{len(rows)} cells; fused/batched best {ratios[0][0]:.2f}x, worst {ratios[-1][0]:.2f}x")


if __name__ == "__main__":
    main()
