// codecs/sharding_codec.h - the `sharding_indexed` array->bytes codec.
//
// A shard (one outer chunk, one store value) is cut into inner chunks of `chunk_shape`, each
// encoded with the inner `codecs` chain and placed anywhere in the value; an index of
// (offset, nbytes) little-endian uint64 pairs in C order of the inner grid, encoded with the
// fixed-size `index_codecs`, sits at the start or the end. Offsets are absolute within the value;
// the pair (2^64-1, 2^64-1) marks an inner chunk that is not stored (it reads as the fill value).
// The exact layout, the write paths and what each guarantees on a crash are in spec/sharding.md.
//
// Whole-value use (any chain): Decode reads a whole shard; Encode builds one with the present
// inner chunks in Morton order (dimension 0 fastest) and produces empty output, meaning "erase
// the key", when every inner chunk equals the fill value.
//
// Partial use (the chain is exactly [sharding_indexed]): PartialDecode opens one version of the
// shard (Store::open_reader) and reads its index and then only the inner chunks a request touches
// (merging close ranges), or the whole shard in one read when the request touches most of it; a
// version replaced part-way is read again (a bounded number of times, then whole), so every inner
// chunk read holds either its old or its new contents. PartialEncode is a read-modify-write of one
// version: under the store's key lock when it has them, with the write conditioned on the
// generation read (patch_if / set_if / erase_if), repeated when that condition fails. It patches
// fixed-size inner chunks in place at the offsets the stored index records, places variable-size
// ones in free space, and otherwise rewrites the shard. spec/sharding.md and spec/concurrency.md
// give the protocol.
//
// Every index entry is validated (both halves sentinel or neither, no overflow, inside the value,
// clear of the index, no two chunks overlapping); a bad index is Corruption naming the key.
//
// Thread safety: immutable apart from an internal cache of per-shape layouts (mutex-guarded);
// shared between threads. Scratch memory is per call.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "codecs/codec.h"
#include "codecs/codec_chain.h"
#include "zarrpp/json.h"
#include "zarrpp/store.h"

namespace zarrpp {

// The decoded index of one shard: entries[2*i], entries[2*i+1] are (offset, nbytes) of inner
// chunk i in C order, already validated.
struct ShardIndex {
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  std::vector<uint64_t> entries;
  // The present inner chunks holding bytes, sorted by offset, when the decoder computed them (it
  // does while checking for overlaps); empty otherwise. Lets a write find free space without
  // ordering the entries a second time.
  std::vector<uint64_t> by_offset;
  bool present(uint64_t i) const { return entries[2 * i] != kEmpty; }
  uint64_t offset(uint64_t i) const { return entries[2 * i]; }
  uint64_t nbytes(uint64_t i) const { return entries[2 * i + 1]; }
};

// Decoded shard indexes by store key and generation, bounded in bytes, least recently used
// evicted first. An entry records the version of the value its index came from (decoded from it,
// or written as it), and is returned only for a reader of that same version: a cached index is
// never applied to another version of the shard (stores without generations get no caching).
// Safe for concurrent calls.
class ShardIndexCache {
 public:
  explicit ShardIndexCache(uint64_t capacity_bytes) : capacity_(capacity_bytes) {}
  // The index cached for `key` when it describes version `generation` (a present one); null
  // otherwise.
  std::shared_ptr<const ShardIndex> Get(const std::string& key, const Generation& generation);
  // Stores `index` as the index of version `generation` of `key`, replacing any entry of `key`.
  // A null index or a generation that is not a present token removes the entry.
  void Put(const std::string& key, const Generation& generation,
           std::shared_ptr<const ShardIndex> index);
  // Put of the index whose entries a write just stored as version `generation`.
  void PutWritten(const std::string& key, const Generation& generation,
                  std::vector<uint64_t> entries);
  void Erase(const std::string& key) { Put(key, Generation::Unknown(), nullptr); }
  uint64_t size_bytes() const;

 private:
  struct Entry {
    Generation generation;
    std::shared_ptr<const ShardIndex> index;
    std::list<std::string>::iterator lru;
  };
  const uint64_t capacity_;
  mutable std::mutex mu_;
  uint64_t bytes_ = 0;
  std::list<std::string> lru_;  // front: most recent
  std::unordered_map<std::string, Entry> map_;
};

// Positions (C-order linear indices) of the cells of `grid` in compressed Morton order: each
// dimension contributes bit_length(n-1) bits, interleaved with dimension 0 least significant.
// Falls back to C order when the code would need more than 64 bits.
std::vector<uint64_t> MortonOrder(const std::vector<uint64_t>& grid);

class ShardingCodec final : public ArrayToBytesCodec, public PartialArrayToBytesCodec {
 public:
  enum class IndexLocation { kStart, kEnd };

  // Parses {"chunk_shape": [...], "codecs": [...], "index_codecs": [...],
  // "index_location": "start"|"end" (default "end")}.
  static Result<std::shared_ptr<const Codec>> Factory(const Json& configuration);
  static Result<std::shared_ptr<const ShardingCodec>> Make(std::vector<uint64_t> chunk_shape,
                                                           CodecChain codecs,
                                                           CodecChain index_codecs,
                                                           IndexLocation location);

  const std::vector<uint64_t>& chunk_shape() const { return chunk_shape_; }
  // The chain of the inner chunks.
  const CodecChain& codecs() const { return codecs_; }
  IndexLocation index_location() const { return location_; }

  std::string_view name() const override { return "sharding_indexed"; }
  Json ToJson() const override;
  Status ValidateSpec(const ChunkSpec& decoded) const override;
  // Always nullopt: empty inner chunks are left out, so the size varies.
  std::optional<uint64_t> EncodedSize(const ChunkSpec& decoded) const override;
  // The index plus every inner chunk at its chain's largest encoded size.
  uint64_t MaxEncodedSize(const ChunkSpec& decoded) const override;
  Status Encode(const ChunkSpec& decoded, ByteView array, Bytes& out) const override;
  Status Decode(const ChunkSpec& decoded, ByteView encoded, MutableByteView array) const override;

  Status PartialDecode(const ChunkSpec& decoded, const PartialCodecContext& ctx,
                       const uint64_t* chunk_origin, const std::vector<uint64_t>& box_shape,
                       uint8_t* out, const std::vector<uint64_t>& out_shape,
                       const uint64_t* out_origin) const override;
  Status PartialEncode(const ChunkSpec& decoded, const PartialCodecContext& ctx,
                       const uint64_t* chunk_origin, const std::vector<uint64_t>& box_shape,
                       const uint8_t* src, const std::vector<uint64_t>& src_shape,
                       const uint64_t* src_origin, bool scalar) const override;

  // Single inner chunks of the shard at ctx.key, addressed by their C-order index `j` in the
  // shard's inner grid (InvalidArgument when out of range). The index of the shard, read alone:
  // null when the shard is not stored.
  Result<std::shared_ptr<const ShardIndex>> ReadShardIndex(const ChunkSpec& decoded,
                                                           const PartialCodecContext& ctx) const;
  // The stored (encoded) bytes of inner chunk `j`, from one version of the shard; nullopt when
  // the shard or the inner chunk is not stored.
  Result<std::optional<Bytes>> ReadInnerEncoded(const ChunkSpec& decoded,
                                                const PartialCodecContext& ctx, uint64_t j) const;
  // Replaces inner chunk `j`'s stored bytes with `encoded` (nullopt: the chunk is not stored) by
  // the read-modify-write PartialEncode uses (key lock, conditional write, in-place patch when it
  // fits). The bytes are not decoded or checked.
  Status WriteInnerEncoded(const ChunkSpec& decoded, const PartialCodecContext& ctx, uint64_t j,
                           std::optional<ByteView> encoded) const;

  // The prepared form for one shard spec; built once per shape and reused.
  struct Layout;
  Result<std::shared_ptr<const Layout>> Prepare(const ChunkSpec& decoded) const;

  // Encoded size of the index for shards of `decoded`.
  Result<uint64_t> IndexSize(const ChunkSpec& decoded) const;

 private:
  ShardingCodec(std::vector<uint64_t> chunk_shape, CodecChain codecs, CodecChain index_codecs,
                IndexLocation location);

  std::vector<uint64_t> chunk_shape_;
  CodecChain codecs_;
  CodecChain index_codecs_;
  IndexLocation location_;

  mutable std::mutex layouts_mu_;
  mutable std::vector<std::shared_ptr<const Layout>> layouts_;  // one per shard spec seen
};

// Frees the scratch buffers idle between sharded reads and writes (see ReleaseScratchMemory()).
void ReleaseShardingScratch();

}  // namespace zarrpp
