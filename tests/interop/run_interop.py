#!/usr/bin/python3
"""Interop checks between zarrpp and a peer implementation (spec/interop.md).

  run_interop.py --peer zarr-python|zarrita --direction peer-writes|we-write \\
                 --zarrpp BIN --work DIR

peer-writes: the peer writes its suite and digests it; `zarrpp digest` reads every array and must
             give the same digest (and zarrpp must refuse, naming the compressor, what it lacks).
we-write:    the peer writes its suite; `zarrpp convert` re-encodes parts of it (formats, codecs,
             chunkings, sharding); the peer reads every converted array and must give the digest
             of the source array, and the same attributes for every node. Cases that hit a known
             peer limit must still show that limit (a fixed peer makes the test fail, so the
             list stays true), and conversions zarrpp must refuse must fail naming the codec.
Exit status 0 only when every check passed; each failure is printed.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS = {
    "zarr-python": ["/usr/bin/python3", os.path.join(HERE, "zarr_python_peer.py")],
    "zarrita": ["node", os.path.join(HERE, "zarrita_peer.mjs")],
}

BYTES_LE = {"name": "bytes", "configuration": {"endian": "little"}}
BYTES_BE = {"name": "bytes", "configuration": {"endian": "big"}}
CRC32C = {"name": "crc32c"}


def zstd(level):
    return {"name": "zstd", "configuration": {"level": level, "checksum": False}}


def gzip(level):
    return {"name": "gzip", "configuration": {"level": level}}


def zlib(level):
    return {"name": "numcodecs.zlib", "configuration": {"level": level}}


def blosc(cname, shuffle, typesize):
    return {"name": "blosc", "configuration": {"cname": cname, "clevel": 5, "shuffle": shuffle,
                                               "typesize": typesize, "blocksize": 0}}


def sharding(inner_chunks, codecs, location):
    return [{"name": "sharding_indexed", "configuration": {
        "chunk_shape": inner_chunks, "codecs": codecs,
        "index_codecs": [BYTES_LE, CRC32C], "index_location": location}}]


class Checker:
    def __init__(self, args):
        self.args = args
        self.failures = []
        self.passed = 0
        self.peer = PEERS[args.peer]
        self.reference_cache = {}

    def fail(self, what):
        self.failures.append(what)
        print("FAIL " + what, flush=True)

    def run(self, cmd):
        return subprocess.run(cmd, capture_output=True, text=True)

    def peer_json(self, command, directory):
        r = self.run(self.peer + [command, directory])
        if r.returncode != 0:
            raise RuntimeError("peer %s %s %s failed (%d): %s" % (self.args.peer, command,
                                                                directory, r.returncode, r.stderr))
        return json.loads(r.stdout)

    def peer_digests(self, directory):
        return {a["path"]: a for a in self.peer_json("digest", directory)["arrays"]}

    def zarrpp(self, *argv):
        return self.run([self.args.zarrpp] + list(argv))

    def write_suite(self, directory):
        shutil.rmtree(directory, ignore_errors=True)
        r = self.run(self.peer + ["write-suite", directory])
        if r.returncode != 0:
            raise RuntimeError("peer %s could not write its suite: %s" % (self.args.peer, r.stderr))
        expected = self.peer_digests(directory)
        for path, entry in expected.items():
            if "error" in entry:
                raise RuntimeError("peer %s cannot read its own array %s: %s" % (
                    self.args.peer, path, entry["error"]))
        print("%s wrote %d arrays" % (self.args.peer, len(expected)), flush=True)
        return expected

    # ---- peer writes, zarrpp reads ------------------------------------------------------------

    def peer_writes(self):
        suite = os.path.join(self.args.work, "suite")
        expected = self.write_suite(suite)
        ours = {}
        for top in sorted(os.listdir(suite)):
            d = os.path.join(suite, top)
            if not os.path.isdir(d):
                continue
            r = self.zarrpp("digest", d, "--json")
            if r.returncode != 0:
                self.fail("zarrpp digest %s: rc=%d %s" % (top, r.returncode, r.stderr.strip()))
                continue
            for a in json.loads(r.stdout)["arrays"]:
                ours[top + "/" + a["path"] if a["path"] else top] = a
        for path, entry in sorted(expected.items()):
            got = ours.get(path)
            if got is None:
                self.fail("%s: zarrpp did not find the array" % path)
            elif got["sha256"] != entry["sha256"] or got["shape"] != entry["shape"]:
                self.fail("%s: zarrpp digest %s shape %s, %s computed %s shape %s" % (
                    path, got["sha256"], got["shape"], self.args.peer, entry["sha256"],
                    entry["shape"]))
            else:
                self.passed += 1
        for path in sorted(set(ours) - set(expected)):
            self.fail("%s: zarrpp found an array the peer did not write" % path)

    # ---- zarrpp writes, peer reads ------------------------------------------------------------

    def convert(self, suite, out, name, src, options, expect="match", reference=None):
        """Converts suite/src to out/name and checks it against `reference` (a path under the
        peer's suite; default suite/src) as `expect` says: "match", ("refused", text), or
        ("peer-limit", text) - the peer must misread or fail on at least one array; None: the
        conversion must succeed and its output is not read here."""
        dst = os.path.join(out, name)
        argv = ["convert", os.path.join(suite, src), dst]
        for k, v in options.items():
            if v is True:
                argv.append("--" + k)
            else:
                argv += ["--" + k, v if isinstance(v, str) else json.dumps(v)]
        r = self.zarrpp(*argv)
        if isinstance(expect, tuple) and expect[0] == "refused":
            if r.returncode == 0 or expect[1] not in r.stderr:
                self.fail("%s: zarrpp convert %s should be refused naming %r, got rc=%d %s" % (
                    name, " ".join(argv[3:]), expect[1], r.returncode, r.stderr.strip()))
            else:
                self.passed += 1
                print("ok   %s: refused (%s)" % (name, r.stderr.strip()))
            return
        if r.returncode != 0:
            self.fail("%s: zarrpp %s failed: %s" % (name, " ".join(argv), r.stderr.strip()))
            return
        if expect is None:  # an intermediate the peer cannot read; a later case checks it
            return
        return self.check_output(reference or os.path.join(suite, src), dst, name, expect)

    def check_output(self, reference, dst, name, expect):
        if reference not in self.reference_cache:  # sources never change during a run
            self.reference_cache[reference] = (self.peer_digests(reference),
                                               self.peer_json("attrs", reference))
        source, src_attrs = self.reference_cache[reference]
        got = self.peer_digests(dst)
        bad = []
        for path, entry in sorted(source.items()):
            g = got.get(path)
            if g is None:
                bad.append("%s: missing in the output" % path)
            elif "error" in g:
                bad.append("%s: %s cannot read it: %s" % (path, self.args.peer, g["error"]))
            elif g["sha256"] != entry["sha256"]:
                bad.append("%s: %s reads digest %s, source has %s" % (
                    path, self.args.peer, g["sha256"], entry["sha256"]))
        dst_attrs = self.peer_json("attrs", dst)
        for path, attrs in sorted(src_attrs.items()):
            if dst_attrs.get(path) != attrs:
                bad.append("%s: attributes %s, source has %s" % (path, dst_attrs.get(path), attrs))
        if isinstance(expect, tuple) and expect[0] == "peer-limit":
            if bad:
                self.passed += 1
                print("ok   %s: known peer limit still present (%s): %s" % (name, expect[1], bad[0]))
            else:
                self.fail("%s: expected the known peer limit (%s), but %s read all %d arrays "
                          "correctly: update spec/interop.md and this case" % (
                              name, expect[1], self.args.peer, len(source)))
            return
        for b in bad:
            self.fail("%s: %s" % (name, b))
        if not bad:
            self.passed += len(source)
            print("ok   %s: %d arrays" % (name, len(source)), flush=True)

    def we_write(self):
        suite = os.path.join(self.args.work, "suite")
        out = os.path.join(self.args.work, "out")
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
        self.write_suite(suite)
        tops = sorted(t for t in os.listdir(suite)
                      if os.path.isdir(os.path.join(suite, t)))
        c = lambda *a, **k: self.convert(suite, out, *a, **k)
        if self.args.peer == "zarr-python":
            # zarr-python 2.13 reads Zarr v2 only: every output here is v2.
            for top in tops:
                c("keep_" + top, top, {})
            for top in ("dtype", "order_f", "fill", "shape", "keys", "groups", "strings",
                        "fixed_strings"):
                c("v3_" + top, top, {"zarr-format": "3"}, expect=None)
                self.convert(out, out, "v2_from_v3_" + top, "v3_" + top, {"zarr-format": "2"},
                             reference=os.path.join(suite, top))
            c("f_be_zstd", "dtype", {"codecs": [{"name": "transpose", "configuration":
                                                 {"order": [1, 0]}}, BYTES_BE, zstd(3)]})
            c("zlib6", "dtype", {"codecs": [BYTES_LE, zlib(6)]})
            c("gzip9_rechunked", "dtype", {"codecs": [BYTES_LE, gzip(9)], "chunks": "4,4"})
            c("uncompressed_1x1", "shape/ragged", {"codecs": [BYTES_LE], "chunks": "1,1"})
            c("rechunked_5d", "shape/d5", {"chunks": "2,2,1,2,3"})
            for cname in ("lz4", "lz4hc", "blosclz", "zstd", "zlib"):
                for shuffle in ("noshuffle", "shuffle", "bitshuffle"):
                    c("blosc_%s_%s_f8" % (cname, shuffle), "dtype/le_f8",
                      {"codecs": [BYTES_LE, blosc(cname, shuffle, 8)]})
                    c("blosc_%s_%s_u1" % (cname, shuffle), "dtype/u1",
                      {"codecs": [{"name": "bytes"}, blosc(cname, shuffle, 1)]})
            # Variable-length strings through v3 shards ([vlen-utf8, zstd] inner chunks) and back.
            c("v3_sharded_strings", "strings/utf8_2d",
              {"zarr-format": "3", "chunks": "3,2", "shards": "6,4",
               "codecs": [{"name": "vlen-utf8"}, zstd(3)]}, expect=None)
            self.convert(out, out, "v2_from_v3_sharded_strings", "v3_sharded_strings",
                         {"zarr-format": "2", "codecs": [{"name": "vlen-utf8"}, gzip(1)]},
                         reference=os.path.join(suite, "strings/utf8_2d"))
            # Fixed-length strings re-encoded (chunks, compressor) by zarrpp, read back by
            # zarr-python.
            c("fixed_strings_gzip", "fixed_strings", {"codecs": [BYTES_LE, gzip(5)]})
            c("refuse_crc32c", "dtype/le_f4", {"codecs": [BYTES_LE, CRC32C], "zarr-format": "2"},
              expect=("refused", "crc32c"))
            c("refuse_sharding", "dtype/le_f4", {"shards": "10,6", "zarr-format": "2"},
              expect=("refused", "sharding_indexed"))
            # Two compressors: the first becomes a v2 filter, the last the compressor.
            c("v2_zstd_filter_gzip", "dtype/le_f4",
              {"codecs": [BYTES_LE, zstd(1), gzip(1)], "zarr-format": "2"})
        else:
            for top in tops:
                c("keep_" + top, top, {})
                if top != "transpose":
                    c("v2_" + top, top, {"zarr-format": "2"})
            c("v2_transpose_f4", "transpose/f4_2d", {"zarr-format": "2"})
            c("v2_transpose_i2_be", "transpose/i2_3d_be", {"zarr-format": "2"})
            c("refuse_v2_permutation", "transpose/u4_3d_perm", {"zarr-format": "2"},
              expect=("refused", "transpose"))
            c("gzip", "dtype", {"codecs": [BYTES_LE, gzip(6)]})
            c("zstd_crc32c", "dtype", {"codecs": [BYTES_LE, zstd(5), CRC32C]})
            for dt in ("int16", "uint32", "int64", "float32", "float64"):
                c("be_zstd_crc32c_" + dt, "dtype/%s_little" % dt,
                  {"codecs": [BYTES_BE, zstd(5), CRC32C]})
            # zarrita 0.7.5 byte-swaps bool elements in groups of 4 under endian "big".
            c("bool_big_endian", "dtype/bool_little", {"codecs": [BYTES_BE]},
              expect=("peer-limit", "zarrita swaps bool bytes under endian big"))
            c("zlib", "dtype", {"codecs": [BYTES_LE, zlib(6)]})
            c("transpose_gzip", "shape/d5", {"codecs": [{"name": "transpose", "configuration":
                                                         {"order": [4, 2, 0, 1, 3]}},
                                                        BYTES_BE, gzip(1)]})
            for cname in ("lz4", "lz4hc", "blosclz", "zstd", "zlib"):
                for shuffle in ("noshuffle", "shuffle", "bitshuffle"):
                    c("blosc_%s_%s" % (cname, shuffle), "dtype/float64_little",
                      {"codecs": [BYTES_LE, blosc(cname, shuffle, 8)]})
            # Sharded, index at the end.
            c("sharded_dtype", "dtype", {"chunks": "5,3", "shards": "10,6"})
            c("sharded_dtype_zstd", "dtype", {"chunks": "2,2", "shards": "4,4",
                                              "codecs": [BYTES_LE, zstd(3)]})
            c("sharded_crc32c_gzip", "dtype", {"chunks": "3,7", "shards": "6,7",
                                               "codecs": [BYTES_LE, gzip(5), CRC32C]})
            c("sharded_be_gzip_f8", "dtype/float64_big", {"chunks": "3,7", "shards": "6,7",
                                                          "codecs": [BYTES_BE, gzip(5)]})
            c("sharded_fill", "fill", {"chunks": "2,2", "shards": "4,4"})
            c("sharded_ragged", "shape/ragged", {"chunks": "2,2", "shards": "4,6"})
            c("sharded_one_element", "shape/one_element_chunks", {"chunks": "1,1",
                                                                   "shards": "5,4"})
            c("sharded_zero_d", "shape/zero_d_f8", {"chunks": "", "shards": ""})
            c("sharded_d4", "shape/d4", {"chunks": "1,2,1,2", "shards": "2,4,2,4"})
            c("sharded_d5", "shape/d5", {"chunks": "1,1,2,1,2", "shards": "2,3,2,2,2"})
            c("sharded_transpose_inner", "transpose/i2_3d_be",
              {"chunks": "2,3,4", "shards": "4,6,8", "codecs": [
                  {"name": "transpose", "configuration": {"order": [2, 0, 1]}}, BYTES_LE]})
            c("sharded_groups", "groups", {"chunks": "1,1", "shards": "2,2"})
            # Sharded, index at the start: zarrita 0.7.5 ignores index_location "start" and
            # reads the index from the end, so it must misread these.
            start = {"chunks": "10,6", "codecs": sharding([5, 3], [BYTES_LE], "start")}
            c("sharded_start", "dtype/float64_little", start,
              expect=("peer-limit", "zarrita ignores index_location start"))
            # ... while zarrpp reads its own start-index shards back correctly.
            self.convert(out, out, "sharded_start_to_end", "sharded_start",
                         {"chunks": "5,3", "shards": "10,6"},
                         reference=os.path.join(suite, "dtype/float64_little"))

    def main(self):
        try:
            if self.args.direction == "peer-writes":
                self.peer_writes()
            else:
                self.we_write()
        except (RuntimeError, OSError, ValueError) as e:
            self.fail(str(e))
        print("%s %s: %d checks passed, %d failed" % (self.args.peer, self.args.direction,
                                                       self.passed, len(self.failures)))
        if self.passed == 0 and not self.failures:
            self.fail("nothing was checked")
        return 1 if self.failures else 0


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--peer", required=True, choices=sorted(PEERS))
    p.add_argument("--direction", required=True, choices=["peer-writes", "we-write"])
    p.add_argument("--zarrpp", required=True)
    p.add_argument("--work", required=True)
    return p.parse_args()


if __name__ == "__main__":
    sys.exit(Checker(parse_args()).main())
