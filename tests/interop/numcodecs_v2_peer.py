#!/usr/bin/python3
"""zarr-python 2.13 side of tests/numcodecs_interop_test.cc: Zarr v2 arrays with numcodecs
filters and compressors.

  numcodecs_v2_peer.py write DIR   writes every CASES array under DIR/<name>, and what zarr reads
                                   back from it as raw little-endian C-order bytes in
                                   DIR/<name>.expected
  numcodecs_v2_peer.py read DIR    for every DIR/<name>.input (raw little-endian values written
                                   by zarrpp) opens DIR/<name> (written by zarrpp) and checks it
                                   holds what zarr itself makes of the input with the same
                                   .zarray settings; prints one line per array, exits 1 on any
                                   mismatch
"""
import json
import os
import sys

import numpy as np
import numcodecs as nc
import zarr


def cases():
    i4 = (np.arange(300, dtype="<i4").reshape(20, 15) * 3 - 50)
    f8 = np.sin(np.arange(30) * 0.3) * 100 + 10
    f4 = (np.cos(np.arange(120) * 0.1) * 50).astype("<f4").reshape(12, 10)
    u2 = (np.arange(256, dtype="<u2") * 257).reshape(16, 16)
    i8 = np.arange(54, dtype="<i8").reshape(6, 9) ** 3
    return [
        ("delta_lz4", i4, (7, 4), [nc.Delta("<i4", astype="<i2")], nc.LZ4(), "C"),
        ("fso_bz2", f8, (8,), [nc.FixedScaleOffset(offset=10, scale=100, dtype="<f8",
                                                   astype="<i4")], nc.BZ2(level=5), "C"),
        ("quantize_lzma", f4, (5, 5), [nc.Quantize(digits=2, dtype="<f4")], nc.LZMA(), "C"),
        ("astype_zlib", f8, (10,), [nc.AsType(encode_dtype="<f4", decode_dtype="<f8")],
         nc.Zlib(level=-1), "C"),
        ("bitround_zstd100", f4.ravel(), (40,), [nc.BitRound(keepbits=6)], nc.Zstd(level=100),
         "C"),
        ("shuffle_adler_gzip", u2, (5, 7), [nc.Shuffle(elementsize=2), nc.Adler32()],
         nc.GZip(level=-1), "C"),
        ("delta_forder_snappy", i8, (4, 4), [nc.Delta("<i8")],
         nc.Blosc(cname="snappy", clevel=5, shuffle=nc.Blosc.BITSHUFFLE), "F"),
        ("crc32_nocompressor", np.arange(50, dtype="|u1"), (16,), [nc.CRC32()], None, "C"),
        ("delta_bigendian", (np.arange(10) * -7).astype(">i4"), (4,), [nc.Delta(">i4")],
         nc.Zlib(level=3), "C"),
    ]


def little(a):
    return np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<"), copy=False).tobytes()


def write(root):
    for name, data, chunks, filters, compressor, order in cases():
        z = zarr.open(os.path.join(root, name), mode="w", shape=data.shape, chunks=chunks,
                      dtype=data.dtype, filters=filters, compressor=compressor, order=order,
                      fill_value=0)
        z[...] = data
        with open(os.path.join(root, name + ".expected"), "wb") as f:
            f.write(little(z[...]))
        print("wrote", name)


def read(root):
    failures = 0
    names = sorted(n[:-len(".input")] for n in os.listdir(root) if n.endswith(".input"))
    for name in names:
        try:
            meta = json.load(open(os.path.join(root, name, ".zarray")))
            ours = zarr.open(os.path.join(root, name), mode="r")
            dtype = np.dtype(meta["dtype"])
            raw = open(os.path.join(root, name + ".input"), "rb").read()
            data = np.frombuffer(raw, dtype=dtype.newbyteorder("<")).astype(dtype)
            data = data.reshape(meta["shape"])
            filters = [nc.get_codec(f) for f in (meta["filters"] or [])]
            comp = nc.get_codec(meta["compressor"]) if meta["compressor"] else None
            ref = zarr.array(data, chunks=meta["chunks"], filters=filters, compressor=comp,
                             order=meta["order"], fill_value=meta["fill_value"])
            got = ours[...]
            if got.dtype != ref.dtype or got.shape != ref.shape or little(got) != little(ref[...]):
                failures += 1
                print("MISMATCH", name, got.ravel()[:8], ref[...].ravel()[:8])
            else:
                print("ok", name, meta["filters"], meta["compressor"])
        except Exception as e:  # noqa: BLE001 - report every array
            failures += 1
            print("ERROR", name, type(e).__name__, e)
    print(f"{len(names) - failures}/{len(names)} arrays match")
    return 1 if failures or not names else 0


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2])
    else:
        sys.exit(read(sys.argv[2]))
