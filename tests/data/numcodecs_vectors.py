#!/usr/bin/python3
"""Prints the known-answer vectors of tests/numcodecs_test.cc, produced by numcodecs itself.

Run with Debian's /usr/bin/python3 (numcodecs 0.11); paste the output into the test when a
vector changes. Every input is small and deterministic.
"""
import numpy as np
import numcodecs as nc

TEXT = b"zarrpp numcodecs vector " * 3


def show(name, data):
    print(f'{{"{name}", "{bytes(data).hex()}"}},')


show("lz4", nc.LZ4().encode(TEXT))
show("lz4_empty", nc.LZ4().encode(b""))
show("bz2", nc.BZ2(level=1).encode(TEXT))
show("lzma_xz", nc.LZMA().encode(TEXT))
show("lzma_alone", nc.LZMA(format=2, preset=1).encode(TEXT))
show("zlib_default", nc.Zlib(level=-1).encode(TEXT))
show("adler32", nc.Adler32().encode(b"Wikipedia"))
show("crc32", nc.CRC32().encode(b"123456789"))
show("shuffle4", nc.Shuffle(elementsize=4).encode(np.arange(6, dtype="<u4")))
i4 = np.array([5, 7, 4, -100, 2**31 - 1, -(2**31)], dtype="<i4")
show("delta_i4_i2", nc.Delta(dtype="<i4", astype="<i2").encode(i4))
f8 = np.array([0.0, 1.5, -2.25, 1000.125, 3.14159265, -0.001], dtype="<f8")
show("fso_f8_u2", nc.FixedScaleOffset(offset=1000, scale=10, dtype="<f8", astype="<u2").encode(f8))
f4 = f8.astype("<f4")
show("fso_f4_i1", nc.FixedScaleOffset(offset=0.5, scale=3, dtype="<f4", astype="|i1").encode(f4))
show("quantize_f8_2", nc.Quantize(digits=2, dtype="<f8").encode(f8))
show("quantize_f4_f2", nc.Quantize(digits=1, dtype="<f4", astype="<f2").encode(f4))
show("astype_f8_f4", nc.AsType(encode_dtype="<f4", decode_dtype="<f8").encode(f8))
show("astype_f8_i2", nc.AsType(encode_dtype="<i2", decode_dtype="<f8").encode(f8))
show("bitround_f4_5", nc.BitRound(keepbits=5).encode(f4.copy()))
show("bitround_f8_0", nc.BitRound(keepbits=0).encode(f8.copy()))
show("bitround_f2_3", nc.BitRound(keepbits=3).encode(f8.astype("<f2")))
