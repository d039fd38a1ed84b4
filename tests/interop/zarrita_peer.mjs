// zarrita.js (npm "zarrita", pinned in package.json) as an interop peer for zarrpp.
//
//   node zarrita_peer.mjs write-suite DIR   writes the v3 suite (spec/interop.md) under DIR
//   node zarrita_peer.mjs digest DIR        prints {"arrays": [{"path", "sha256"} | {"path", "error"}]}
//                                           for every array (v3 or v2) at or under DIR, read by zarrita
//   node zarrita_peer.mjs attrs DIR         prints {"path": attributes} for every group and array
//
// The digest is the one include/zarrpp/digest.h defines: SHA-256 of the elements in C order,
// little-endian, bool as one byte 0/1, every NaN replaced by the canonical quiet NaN, a 0-d array
// as its one element.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

import FileSystemStore from "@zarrita/storage/fs";
import * as zarr from "zarrita";

const ELEMENT_BYTES = {
  bool: 1, int8: 1, uint8: 1, int16: 2, uint16: 2, int32: 4, uint32: 4, int64: 8, uint64: 8,
  float32: 4, float64: 8,
};

function cStrides(shape) {
  const stride = new Array(shape.length).fill(1);
  for (let d = shape.length - 2; d >= 0; d--) stride[d] = stride[d + 1] * shape[d + 1];
  return stride;
}

// Element bytes in C order (whatever the strides of the result), canonicalised for the digest.
// Variable-length strings (spec/strings.md): per element in C order, its UTF-8 byte length as a
// u64 little-endian, then the bytes.
function digestStrings(chunk) {
  const { data, shape, stride } = chunk;
  const n = shape.reduce((a, b) => a * b, 1);
  const hash = createHash("sha256");
  const encoder = new TextEncoder();
  const idx = new Array(shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    let offset = 0;
    for (let d = 0; d < shape.length; d++) offset += idx[d] * stride[d];
    const bytes = encoder.encode(String(data[offset]));
    const len = new Uint8Array(8);
    new DataView(len.buffer).setBigUint64(0, BigInt(bytes.length), true);
    hash.update(len);
    hash.update(bytes);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return hash.digest("hex");
}

function digestChunk(dtype, chunk) {
  if (dtype === "string" || dtype === "v2:object") return digestStrings(chunk);
  const size = ELEMENT_BYTES[dtype];
  if (size === undefined) throw new Error(`no digest for data type ${dtype}`);
  const { data, shape, stride } = chunk;
  const src = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Uint8Array(n * size);
  const idx = new Array(shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    let offset = 0;
    for (let d = 0; d < shape.length; d++) offset += idx[d] * stride[d];
    out.set(src.subarray(offset * size, offset * size + size), i * size);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  const view = new DataView(out.buffer);
  for (let i = 0; i < n; i++) {
    if (dtype === "bool") out[i] = out[i] !== 0 ? 1 : 0;
    if (dtype === "float32" && Number.isNaN(view.getFloat32(i * 4, true))) {
      view.setUint32(i * 4, 0x7fc00000, true);
    }
    if (dtype === "float64" && Number.isNaN(view.getFloat64(i * 8, true))) {
      view.setBigUint64(i * 8, 0x7ff8000000000000n, true);
    }
  }
  return createHash("sha256").update(out).digest("hex");
}

function findArrays(root) {
  const found = [];
  const walk = (dir) => {
    const names = fs.readdirSync(dir).sort();
    const rel = path.relative(root, dir).split(path.sep).join("/");
    if (names.includes("zarr.json")) {
      const doc = JSON.parse(fs.readFileSync(path.join(dir, "zarr.json"), "utf8"));
      if (doc.node_type === "array") found.push(rel);
    } else if (names.includes(".zarray")) {
      found.push(rel);
    }
    for (const name of names) {
      const p = path.join(dir, name);
      if (fs.statSync(p).isDirectory()) walk(p);
    }
  };
  walk(root);
  return found.sort();
}

async function cmdDigest(root) {
  const store = new FileSystemStore(root);
  const arrays = [];
  for (const p of findArrays(root)) {
    const entry = { path: p };
    try {
      const arr = await zarr.open(zarr.root(store).resolve(p), { kind: "array" });
      if (arr.shape.some((d) => d === 0)) {
        // zarrita cannot index a zero-length dimension ("Input contains an empty iterator");
        // such an array has no elements, so its digest is that of no bytes.
        entry.sha256 = createHash("sha256").digest("hex");
        entry.shape = arr.shape;
        arrays.push(entry);
        continue;
      }
      let result = await zarr.get(arr, arr.shape.length === 0 ? [] : null);
      if (result === null || typeof result !== "object" || !("data" in result)) {
        // A 0-d selection gives the scalar itself.
        const Ctor = { bool: Uint8Array, int8: Int8Array, uint8: Uint8Array, int16: Int16Array,
          uint16: Uint16Array, int32: Int32Array, uint32: Uint32Array, int64: BigInt64Array,
          uint64: BigUint64Array, float32: Float32Array, float64: Float64Array }[arr.dtype];
        if (!Ctor) throw new Error(`no digest for data type ${arr.dtype}`);
        const data = new Ctor(1);
        data[0] = arr.dtype === "bool" ? (result ? 1 : 0) : result;
        result = { data, shape: [], stride: [] };
      }
      entry.sha256 = digestChunk(arr.dtype, result);
      entry.shape = arr.shape;
    } catch (e) {
      entry.error = `${e.name}: ${e.message}`;
    }
    arrays.push(entry);
  }
  process.stdout.write(JSON.stringify({ arrays }) + "\n");
}

// ---- The suite ---------------------------------------------------------------------------------

// mulberry32: deterministic data without dependencies.
let seed = 20240611;
function random() {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

const EXTREMES = {
  int8: [-128, 127], uint8: [0, 255], int16: [-32768, 32767], uint16: [0, 65535],
  int32: [-2147483648, 2147483647], uint32: [0, 4294967295],
  int64: [-(2n ** 63n), 2n ** 63n - 1n], uint64: [0n, 2n ** 64n - 1n],
  float32: [NaN, Infinity, -Infinity, 3.4028234663852886e38, -0, 1.1754943508222875e-38],
  float64: [NaN, Infinity, -Infinity, Number.MAX_VALUE, -0, Number.MIN_VALUE],
};
const CTORS = {
  int8: Int8Array, uint8: Uint8Array, int16: Int16Array, uint16: Uint16Array, int32: Int32Array,
  uint32: Uint32Array, int64: BigInt64Array, uint64: BigUint64Array, float32: Float32Array,
  float64: Float64Array,
};

function values(dtype, shape) {
  const n = shape.reduce((a, b) => a * b, 1);
  let data;
  if (dtype === "bool") {
    data = new zarr.BoolArray(Array.from({ length: n }, () => random() < 0.5));
  } else {
    data = new CTORS[dtype](n);
    for (let i = 0; i < n; i++) {
      const r = dtype.startsWith("float") ? (random() - 0.5) * 2000 : Math.floor(random() * 120);
      data[i] = dtype.endsWith("int64") ? BigInt(r) : r;
    }
    const ext = EXTREMES[dtype];
    for (let i = 0; i < Math.min(n, ext.length); i++) data[i] = ext[i];
  }
  return { data, shape, stride: cStrides(shape) };
}

const bytesCodec = (dtype, endian = "little") =>
  ELEMENT_BYTES[dtype] > 1 ? { name: "bytes", configuration: { endian } } : { name: "bytes", configuration: {} };

async function writeSuite(root) {
  fs.mkdirSync(root, { recursive: true });
  const store = new FileSystemStore(root);
  const top = zarr.root(store);
  const groups = new Set();
  const group = async (p, attributes = {}) => {
    const parts = p.split("/").filter((s) => s);
    for (let i = 0; i <= parts.length; i++) {
      const g = parts.slice(0, i).join("/");
      if (groups.has(g)) continue;
      groups.add(g);
      await zarr.create(g ? top.resolve(g) : top, { attributes: i === parts.length ? attributes : {} });
    }
  };
  await group("", { suite: "zarrita", nested: { a: [1, 2] } });
  const make = async (p, dtype, shape, chunkShape, opts = {}) => {
    await group(p.split("/").slice(0, -1).join("/"));
    const arr = await zarr.create(top.resolve(p), {
      shape, chunkShape, dtype,
      codecs: opts.codecs ?? [bytesCodec(dtype)],
      // zarrita writes fill values with JSON.stringify: 64-bit ones are given as numbers.
      fillValue: opts.fillValue ?? (dtype === "bool" ? false : 0),
      chunkSeparator: opts.separator ?? "/",
      attributes: opts.attributes ?? {},
    });
    const region = opts.region ?? shape;
    if (region.some((d) => d === 0)) return arr;  // zarrita cannot index a zero-length dimension
    const value = values(dtype, region);
    const selection = shape.length === 0 ? null : region.map((r) => zarr.slice(0, r));
    await zarr.set(arr, selection, shape.length === 0 ? value.data[0] : value);
    return arr;
  };

  // Every data type zarrita has, both byte orders.
  for (const dtype of Object.keys(ELEMENT_BYTES)) {
    for (const endian of ELEMENT_BYTES[dtype] > 1 ? ["little", "big"] : ["little"]) {
      await make(`dtype/${dtype}_${endian}`, dtype, [13, 7], [5, 3],
        { codecs: [bytesCodec(dtype, endian)] });
    }
  }
  // transpose: reversed and another permutation.
  await make("transpose/f4_2d", "float32", [9, 6], [4, 4],
    { codecs: [{ name: "transpose", configuration: { order: [1, 0] } }, bytesCodec("float32")] });
  await make("transpose/i2_3d_be", "int16", [5, 6, 7], [2, 3, 4],
    { codecs: [{ name: "transpose", configuration: { order: [2, 1, 0] } }, bytesCodec("int16", "big")] });
  await make("transpose/u4_3d_perm", "uint32", [5, 6, 7], [2, 3, 4],
    { codecs: [{ name: "transpose", configuration: { order: [1, 2, 0] } }, bytesCodec("uint32")] });
  // Every blosc cname and shuffle setting (zarrita's encoder ignores the shuffle setting; the
  // chunk header records what it did).
  for (const cname of ["lz4", "lz4hc", "blosclz", "zstd", "zlib"]) {
    for (const shuffle of ["noshuffle", "shuffle", "bitshuffle"]) {
      for (const dtype of ["float64", "uint8"]) {
        await make(`blosc/${cname}_${shuffle}_${dtype}`, dtype, [40, 30], [16, 16], {
          codecs: [bytesCodec(dtype), { name: "blosc", configuration: {
            cname, clevel: 5, shuffle, typesize: ELEMENT_BYTES[dtype], blocksize: 0 } }],
        });
      }
    }
  }
  for (const level of [1, 5, 22]) {
    await make(`zstd/level${level}`, "uint64", [50, 20], [16, 16],
      { codecs: [bytesCodec("uint64"), { name: "zstd", configuration: { level, checksum: false } }] });
  }
  // Fill values with missing chunks: only the first chunk is written. (zarrita parses JSON
  // numbers as doubles, so 64-bit integer fill values stay below 2^53.)
  const fills = [["f4_nan", "float32", NaN], ["f8_nan", "float64", NaN], ["f8_inf", "float64", Infinity],
    ["f4_ninf", "float32", -Infinity], ["f8_max", "float64", Number.MAX_VALUE],
    ["f4_max", "float32", 3.4028234663852886e38], ["f8_negzero", "float64", -0],
    ["i4_min", "int32", -2147483648], ["u4_max", "uint32", 4294967295], ["i8_neg", "int64", -(2 ** 52)],
    ["u8_big", "uint64", 2 ** 53], ["u1_max", "uint8", 255], ["b_true", "bool", true]];
  for (const [name, dtype, fillValue] of fills) {
    await make(`fill/${name}`, dtype, [10, 9], [4, 4], { fillValue, region: [4, 4] });
  }
  // Shapes.
  await make("shape/zero_d_f8", "float64", [], [], {});
  await make("shape/zero_d_i2_be", "int16", [], [], { codecs: [bytesCodec("int16", "big")] });
  await make("shape/empty_1d", "int32", [0], [3], {});
  await make("shape/empty_2d", "float32", [4, 0], [2, 2], {});
  await make("shape/ragged", "int32", [17, 11], [5, 4], {});
  await make("shape/one_element_chunks", "float32", [5, 4], [1, 1], {});
  await make("shape/chunk_larger_than_shape", "uint16", [3, 5], [10, 10], {});
  await make("shape/d4", "int16", [3, 4, 2, 5], [2, 3, 2, 2], {});
  await make("shape/d5", "float64", [2, 3, 2, 2, 3], [1, 2, 2, 1, 2], {});
  // Chunk key separators.
  for (const [name, separator] of [["dot", "."], ["slash", "/"]]) {
    await make(`keys/${name}_2d`, "int32", [9, 8], [4, 3], { separator });
    await make(`keys/${name}_3d`, "float32", [5, 4, 3], [2, 2, 2], { separator });
  }
  // Nested groups with attributes.
  await group("groups/a", { level: 1, name: "a", unicode: "\u00e9t\u00e9" });
  await group("groups/a/b/c", { level: 3 });
  await make("groups/a/b/c/leaf", "float64", [4, 4], [2, 2],
    { attributes: { units: "m", scale: 0.5, list: [1, null, "x"] } });
}

async function cmdAttrs(root) {
  const store = new FileSystemStore(root);
  const out = {};
  const walk = async (dir) => {
    const names = fs.readdirSync(dir).sort();
    if (names.includes("zarr.json") || names.includes(".zarray") || names.includes(".zgroup")) {
      const rel = path.relative(root, dir).split(path.sep).join("/");
      const node = await zarr.open(zarr.root(store).resolve(rel));
      out[rel] = node.attrs;
    }
    for (const name of names) {
      const p = path.join(dir, name);
      if (fs.statSync(p).isDirectory()) await walk(p);
    }
  };
  await walk(root);
  process.stdout.write(JSON.stringify(out) + "\n");
}

const [cmd, dir] = process.argv.slice(2);
if (cmd === "write-suite" && dir) {
  await writeSuite(dir);
} else if (cmd === "digest" && dir) {
  await cmdDigest(dir);
} else if (cmd === "attrs" && dir) {
  await cmdAttrs(dir);
} else {
  process.stderr.write("usage: node zarrita_peer.mjs write-suite|digest|attrs DIR\n");
  process.exit(2);
}
