#!/usr/bin/python3
"""zarr-python 2.13 (Debian python3-zarr) as an interop peer for zarrpp.

  zarr_python_peer.py write-suite DIR   writes the v2 suite (spec/interop.md) under DIR
  zarr_python_peer.py digest DIR        prints {"arrays": [{"path", "sha256"} | {"path", "error"}]}
                                        for every array at or under DIR, read by zarr-python
  zarr_python_peer.py attrs DIR         prints {"path": attributes} for every group and array

The digest is the one include/zarrpp/digest.h defines: SHA-256 of the elements in C order,
little-endian (fixed-length strings as their padded bytes / UTF-32 code units), bool as one byte
0/1, every NaN replaced by the canonical quiet NaN (per component
for complex), a 0-d array as its one element.
"""
import hashlib
import json
import os
import sys

import numcodecs
import numpy as np
import zarr

if not zarr.__version__.startswith("2."):
    sys.exit("zarr_python_peer.py needs zarr-python 2.x, found " + zarr.__version__)


def digest(a):
    flat = np.ascontiguousarray(np.asarray(a)).reshape(-1)
    kind = flat.dtype.kind
    if kind == "b":
        flat = flat.astype(np.uint8)
    elif kind in "mM":
        # int64 counts (NaT = INT64_MIN), read in the array's own byte order.
        flat = flat.view(flat.dtype.byteorder.replace("=", "") + "i8").astype("<i8")
    elif kind in "iufc":
        flat = flat.astype(flat.dtype.newbyteorder("<"))  # a copy
        if kind in "fc":
            comps = flat if kind == "f" else flat.view("<f%d" % (flat.dtype.itemsize // 2))
            comps[np.isnan(comps)] = np.nan  # numpy's NaN is the canonical quiet NaN
    elif kind == "O":
        # Variable-length elements (spec/strings.md): u64 LE byte length, then the bytes (UTF-8
        # for str). zarr-python 2 reads missing chunks of an object array with fill_value 0 as
        # the int 0, which zarrpp reads as the empty element.
        h = hashlib.sha256()
        for v in flat:
            b = b"" if isinstance(v, int) and v == 0 else (v.encode("utf-8") if isinstance(v, str)
                                                             else bytes(v))
            h.update(len(b).to_bytes(8, "little"))
            h.update(b)
        return h.hexdigest()
    elif kind == "S":
        # Fixed-length bytes: each element's n bytes, NUL-padded.
        return hashlib.sha256(flat.tobytes()).hexdigest()
    elif kind == "U":
        # Fixed-length UTF-32: each element's code units, little-endian, zero-padded.
        return hashlib.sha256(flat.astype(flat.dtype.newbyteorder("<")).tobytes()).hexdigest()
    else:
        raise ValueError("no digest for dtype %s" % flat.dtype)
    return hashlib.sha256(flat.tobytes()).hexdigest()


def find_arrays(root):
    found = []
    for d, dirs, files in os.walk(root):
        dirs.sort()
        if ".zarray" in files:
            rel = os.path.relpath(d, root)
            found.append("" if rel == "." else rel.replace(os.sep, "/"))
    return sorted(found)


def cmd_digest(root):
    out = []
    for path in find_arrays(root):
        entry = {"path": path}
        try:
            arr = zarr.open_array(os.path.join(root, path) if path else root, mode="r")
            entry["sha256"] = digest(arr[...])
            entry["shape"] = list(arr.shape)
        except Exception as e:  # reported per array; the driver fails the test
            entry["error"] = "%s: %s" % (type(e).__name__, e)
        out.append(entry)
    print(json.dumps({"arrays": out}))


# ---- The suite --------------------------------------------------------------------------------

RNG = np.random.RandomState(20240611)


def values(dtype, shape):
    """Deterministic data covering each type's extremes."""
    dt = np.dtype(dtype)
    n = int(np.prod(shape)) if shape else 1
    if dt.kind == "b":
        v = RNG.randint(0, 2, n).astype(bool)
    elif dt.kind in "iu":
        info = np.iinfo(dt)
        v = RNG.randint(-128 if dt.kind == "i" else 0, 127, n).astype(dt)
        ext = np.array([info.min, info.max, 0, 1], dtype=dt)
        v[: min(n, 4)] = ext[: min(n, 4)]
    elif dt.kind == "f":
        v = (RNG.standard_normal(n) * 1000).astype(dt)
        finfo = np.finfo(dt)
        ext = np.array([np.nan, np.inf, -np.inf, finfo.max, finfo.tiny, -0.0, finfo.min], dtype=dt)
        v[: min(n, len(ext))] = ext[: min(n, len(ext))]
    elif dt.kind == "c":
        f = np.dtype("f%d" % (dt.itemsize // 2))
        v = (RNG.standard_normal(n) + 1j * RNG.standard_normal(n)).astype(dt)
        if n >= 3:
            v[0] = complex(np.nan, 1.0)
            v[1] = complex(np.inf, -np.inf)
            v[2] = complex(np.finfo(f).max, -0.0)
    elif dt.kind in "mM":
        v = RNG.randint(-2**40, 2**40, n).astype(np.int64)
        v[: min(n, 3)] = [np.iinfo(np.int64).min, 0, np.iinfo(np.int64).max][: min(n, 3)]
        v = v.view(dt.newbyteorder("=")).astype(dt)
    else:
        raise ValueError(dtype)
    return v.reshape(shape) if shape else v[0]


DTYPES = ["|b1", "|i1", "|u1", "<i2", ">i2", "<i4", ">i4", "<i8", ">i8", "<u2", ">u2", "<u4",
          ">u4", "<u8", ">u8", "<f2", ">f2", "<f4", ">f4", "<f8", ">f8", "<c8", ">c8", "<c16",
          ">c16", "<M8[ns]", ">M8[s]", "<M8[10s]", "<M8[D]", "<m8[us]", ">m8[15m]"]


def dtype_name(dt):
    name = {"<": "le_", ">": "be_", "|": ""}[dt[0]] + dt[1:]
    return name.replace("[", "_").replace("]", "")


def write_suite(root):
    g = zarr.open_group(root, mode="w")
    g.attrs.update({"suite": "zarr-python", "zarr": zarr.__version__, "nested": {"a": [1, 2]}})

    def make(path, data, **kw):
        kw.setdefault("chunks", True)
        a = g.create_dataset(path, shape=np.shape(data), dtype=kw.pop("dtype", None) or
                             np.asarray(data).dtype, **kw)
        a[...] = data
        return a

    # Every data type, both byte orders, default compressor (blosc lz4).
    for dt in DTYPES:
        make("dtype/" + dtype_name(dt), values(dt, (13, 7)), dtype=dt, chunks=(5, 3))
    # order "F" (transpose), 2-d to 4-d.
    make("order_f/f4_2d", values("<f4", (9, 6)), order="F", chunks=(4, 4))
    make("order_f/be_i2_3d", values(">i2", (5, 6, 7)), order="F", chunks=(2, 3, 4), dtype=">i2")
    make("order_f/c16_2d", values("<c16", (6, 5)), order="F", chunks=(4, 2))
    make("order_f/u1_4d", values("|u1", (3, 4, 5, 2)), order="F", chunks=(2, 2, 2, 2))
    # Every blosc cname and shuffle (-1 = auto).
    for cname in numcodecs.blosc.list_compressors():
        for shuffle in (0, 1, 2, -1):
            for dt in ("<f8", "|u1"):
                # zarrpp's c-blosc (Debian) has no snappy: those arrays get their own subtree,
                # where zarrpp must answer Unsupported naming the compressor.
                top = "blosc_snappy" if cname == "snappy" else "blosc"
                make("%s/%s_shuffle%d_%s" % (top, cname, shuffle if shuffle >= 0 else 9,
                                                 dtype_name(dt)),
                     values(dt, (40, 30)), dtype=dt, chunks=(16, 16),
                     compressor=numcodecs.Blosc(cname=cname, clevel=5, shuffle=shuffle))
    # gzip, zlib, zstd, none.
    for level in (1, 6, 9):
        make("gzip/level%d" % level, values("<i4", (50, 20)), chunks=(16, 16),
             compressor=numcodecs.GZip(level))
        make("zlib/level%d" % level, values(">f8", (50, 20)), chunks=(16, 16), dtype=">f8",
             compressor=numcodecs.Zlib(level))
    for level in (-1, 1, 5, 22):
        make("zstd/level%d" % (level if level >= 0 else 99), values("<u8", (50, 20)),
             chunks=(16, 16), compressor=numcodecs.Zstd(level))
    make("none/f4", values("<f4", (10, 10)), chunks=(3, 3), compressor=None)
    make("none/filters_empty", values("<i2", (10,)), chunks=(4,), compressor=None, filters=[])
    # Fill values with missing chunks: only the first chunk is written.
    # zarr-python 2.13 builds a complex fill value as re + 1j * im, so an infinite imaginary
    # part reads back with a NaN real part (spec/interop.md): only the real part is infinite here.
    fills = [("f4_nan", "<f4", np.nan), ("f8_nan", "<f8", np.nan), ("f8_inf", "<f8", np.inf),
             ("f4_ninf", "<f4", -np.inf), ("f8_max", "<f8", np.finfo("f8").max),
             ("f2_nan", "<f2", np.nan), ("i8_min", "<i8", np.iinfo("i8").min),
             ("i8_max", ">i8", np.iinfo("i8").max), ("u8_max", "<u8", np.iinfo("u8").max),
             ("i1_min", "|i1", -128), ("b1_true", "|b1", True), ("c8_nan", "<c8",
                                                                 complex(np.nan, 2.5)),
             ("c16_inf", ">c16", complex(-np.inf, 2.0)), ("f8_negzero", "<f8", -0.0),
             ("M8_nat", "<M8[ns]", np.datetime64("NaT")), ("m8_7s", "<m8[s]",
                                                             np.timedelta64(7, "s"))]
    for name, dt, fill in fills:
        a = g.create_dataset("fill/" + name, shape=(10, 9), chunks=(4, 4), dtype=dt,
                             fill_value=fill, write_empty_chunks=False)
        a[0:4, 0:4] = values(dt, (4, 4))
    # Chunks equal to the fill value are elided (write_empty_chunks False).
    a = g.create_dataset("fill/elided", shape=(12,), chunks=(4,), dtype="<i4", fill_value=7,
                         write_empty_chunks=False)
    a[...] = np.array([7] * 4 + list(range(4)) + [7] * 4, dtype="<i4")
    # fill_value null: every chunk written (missing chunks would be undefined).
    make("fill/null_i4", values("<i4", (7, 5)), chunks=(3, 3), fill_value=None)
    make("fill/null_f8", values("<f8", (7, 5)), chunks=(3, 3), fill_value=None)
    # Shapes.
    make("shape/zero_d_f8", np.float64(2.75), dtype="<f8")
    make("shape/zero_d_i2_be", np.int16(-7), dtype=">i2", compressor=numcodecs.Zlib(1))
    make("shape/empty_1d", np.zeros((0,), dtype="<i4"), chunks=(3,))
    make("shape/empty_2d", np.zeros((4, 0), dtype="<f4"), chunks=(2, 2))
    make("shape/ragged", values("<i4", (17, 11)), chunks=(5, 4))
    make("shape/one_element_chunks", values("<f4", (5, 4)), chunks=(1, 1))
    make("shape/chunk_larger_than_shape", values("<u2", (3, 5)), chunks=(10, 10))
    make("shape/d4", values("<i2", (3, 4, 2, 5)), chunks=(2, 3, 2, 2))
    make("shape/d5", values("<f8", (2, 3, 2, 2, 3)), chunks=(1, 2, 2, 1, 2))
    make("shape/d5_f", values(">u4", (2, 3, 2, 2, 3)), chunks=(1, 2, 2, 1, 2), order="F",
         dtype=">u4")
    # Chunk key encodings.
    for sep in (".", "/"):
        name = "dot" if sep == "." else "slash"
        make("keys/" + name + "_2d", values("<i4", (9, 8)), chunks=(4, 3),
             dimension_separator=sep)
        make("keys/" + name + "_3d", values("<f4", (5, 4, 3)), chunks=(2, 2, 2),
             dimension_separator=sep)
    # Variable-length strings and bytes (object arrays with the vlen filters).
    words = ["", "a", "h\u00e9llo", "\u65e5\u672c\u8a9e", "x" * 300, "tab\there", "\U0001f600"]
    text = np.array([words[(i * 5 + 3) % len(words)] + str(i % 3) * (i % 4) for i in range(54)],
                    dtype=object).reshape(9, 6)
    make("strings/utf8_2d", text, dtype=str, chunks=(4, 4), compressor=numcodecs.Zstd(3))
    make("strings/utf8_blosc", text.reshape(-1), dtype=str, chunks=(10,))
    make("strings/utf8_gzip_f", text, dtype=str, chunks=(3, 5), order="F",
         compressor=numcodecs.GZip(5))
    raw = np.array([bytes([i % 256, 0, (i * 7) % 256]) * (i % 5) for i in range(20)], dtype=object)
    make("strings/bytes", raw, dtype=bytes, chunks=(6,), compressor=None)
    a = g.create_dataset("strings/utf8_missing", shape=(10,), chunks=(4,), dtype=str)
    a[0:4] = np.array(["p", "", "q\u00e9", "r"], dtype=object)
    # Fixed-length strings: NumPy "|S<n>" (NUL-padded bytes) and "<U<k>" / ">U<k>" (UTF-32).
    blobs = np.array([b"", b"a", b"hello", b"x\x00y", b"\xff\xfe", b"12345"] * 4, dtype="|S5")
    make("fixed_strings/s5", blobs.reshape(4, 6), chunks=(3, 4), compressor=None)
    make("fixed_strings/s3_zstd", blobs[:10].astype("|S3"), chunks=(4,),
         compressor=numcodecs.Zstd(3))
    uwords = np.array(["", "a", "h\u00e9llo", "\u65e5\u672c", "\U0001f600!", "seven77"] * 3,
                      dtype="<U7")
    make("fixed_strings/u7", uwords.reshape(3, 6), chunks=(2, 4))
    make("fixed_strings/be_u3_f", uwords.astype(">U3").reshape(6, 3), chunks=(4, 2), order="F",
         dtype=">U3")
    a = g.create_dataset("fixed_strings/u7_fill", shape=(10,), chunks=(4,), dtype="<U7",
                         fill_value="zz", write_empty_chunks=False)
    a[0:4] = uwords[:4]
    a = g.create_dataset("fixed_strings/s4_fill", shape=(9,), chunks=(4,), dtype="|S4",
                         fill_value=b"q", write_empty_chunks=False)
    a[0:3] = np.array([b"ab", b"", b"abcd"], dtype="|S4")
    # numcodecs' Categorize filter on a "U" array (labels cut to the element, unknowns "").
    sexes = np.array(["male", "female", "", "other", "male", "f\u00e9m"] * 5, dtype="<U6")
    make("fixed_strings/categorize", sexes.reshape(5, 6), chunks=(2, 4), dtype="<U6",
         filters=[numcodecs.Categorize(labels=["female", "male", "f\u00e9m"], dtype="<U6",
                                       astype="|u1")])
    # Nested groups with attributes.
    sub = g.create_group("groups/a")
    sub.attrs.update({"level": 1, "name": "a", "unicode": "\u00e9t\u00e9"})
    deep = sub.create_group("b/c")
    deep.attrs["level"] = 3
    arr = deep.create_dataset("leaf", data=values("<f8", (4, 4)), chunks=(2, 2))
    arr.attrs.update({"units": "m", "scale": 0.5, "list": [1, None, "x"]})


def cmd_attrs(root):
    out = {}
    for d, dirs, files in os.walk(root):
        dirs.sort()
        if ".zarray" in files or ".zgroup" in files:
            rel = os.path.relpath(d, root)
            out["" if rel == "." else rel.replace(os.sep, "/")] = dict(zarr.open(d, mode="r").attrs)
    print(json.dumps(out, sort_keys=True))


def main(argv):
    commands = {"write-suite": write_suite, "digest": cmd_digest, "attrs": cmd_attrs}
    if len(argv) != 3 or argv[1] not in commands:
        sys.exit(__doc__)
    commands[argv[1]](argv[2])


if __name__ == "__main__":
    main(sys.argv)
