#include "codecs/zstd_codec.h"

#include <zstd.h>

#include <algorithm>
#include <memory>
#include <string>

#include "codecs/context_pool.h"
#include "zarrpp/json.h"

namespace zarrpp {

namespace {

// A frame's announced size is refused before allocating when no zstd block could expand this
// much (an RLE block turns 4 bytes into at most 128 KiB).
constexpr uint64_t kMaxRatio = 1 << 16;

struct CCtxDeleter {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DCtxDeleter {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

// Contexts are expensive to create and not thread-safe: leased from process-wide pools.
using CCtxPool = internal::ContextPool<ZSTD_CCtx, CCtxDeleter>;
using DCtxPool = internal::ContextPool<ZSTD_DCtx, DCtxDeleter>;
CCtxPool::Lease LeaseCCtx() {
  static auto* pool = new CCtxPool;  // used until exit
  return pool->Acquire([] { return ZSTD_createCCtx(); });
}
DCtxPool::Lease LeaseDCtx() {
  static auto* pool = new DCtxPool;  // used until exit
  return pool->Acquire([] { return ZSTD_createDCtx(); });
}

std::string ZstdError(size_t code) {
  return ZSTD_getErrorName(code);
}

// Stream-decodes a frame without a content size into exactly `out`: a frame that decodes to
// fewer or more bytes, or has bytes after its end, is Corruption.
Status StreamDecodeExact(ZSTD_DCtx* dctx, ByteView in, MutableByteView out) {
  ZSTD_DCtx_reset(dctx, ZSTD_reset_session_only);
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  ZSTD_outBuffer output{out.data(), out.size(), 0};
  uint8_t probe = 0;
  bool probing = false;  // `out` is full; any further output means the frame is too long
  while (true) {
    const size_t ret = ZSTD_decompressStream(dctx, &output, &input);
    if (ZSTD_isError(ret)) return Status::Corruption("zstd: " + ZstdError(ret));
    if (probing && output.pos > 0) {
      return Status::Corruption("zstd: frame decodes to more than the expected " +
                                std::to_string(out.size()) + " bytes");
    }
    if (ret == 0) {
      if (input.pos != input.size) {
        return Status::Corruption("zstd: " + std::to_string(input.size - input.pos) +
                                  " trailing bytes after the frame");
      }
      if (!probing && output.pos != out.size()) {
        return Status::Corruption("zstd: frame decoded to " + std::to_string(output.pos) +
                                  " bytes, expected " + std::to_string(out.size()));
      }
      return Status::OK();
    }
    if (!probing && output.pos == output.size) {
      probing = true;
      output = ZSTD_outBuffer{&probe, 1, 0};
      continue;
    }
    if (input.pos == input.size) return Status::Corruption("zstd: frame is truncated");
  }
}

}  // namespace

Result<ZstdCodec::Options> ZstdCodec::OptionsFromJson(const Json& configuration) {
  if (!configuration.is_object()) {
    return Status::InvalidArgument("configuration with \"level\" is required");
  }
  Options o;
  bool have_level = false;
  for (const auto& [key, value] : configuration.items()) {
    if (key == "level") {
      if (!value.is_number_integer() ||
          (value.is_number_unsigned() && value.get<uint64_t>() > uint64_t{kMaxLevel})) {
        return Status::InvalidArgument("configuration.level must be an integer in " +
                                       std::to_string(kMinLevel) + ".." +
                                       std::to_string(kMaxLevel) + ", got " + value.dump());
      }
      const int64_t level = value.get<int64_t>();
      if (level < kMinLevel || level > kMaxLevel) {
        return Status::InvalidArgument("configuration.level " + std::to_string(level) +
                                       " is outside " + std::to_string(kMinLevel) + ".." +
                                       std::to_string(kMaxLevel));
      }
      o.level = static_cast<int>(level);
      have_level = true;
    } else if (key == "checksum") {
      if (!value.is_boolean()) {
        return Status::InvalidArgument("configuration.checksum must be a boolean, got " +
                                       value.dump());
      }
      o.checksum = value.get<bool>();
    } else {
      return Status::InvalidArgument("unexpected configuration field \"" + key + "\"");
    }
  }
  if (!have_level) return Status::InvalidArgument("configuration.level is required");
  return o;
}

Result<std::shared_ptr<const ZstdCodec>> ZstdCodec::Make(Options options) {
  if (options.level < kMinLevel || options.level > kMaxLevel) {
    return Status::InvalidArgument("configuration.level " + std::to_string(options.level) +
                                   " is outside " + std::to_string(kMinLevel) + ".." +
                                   std::to_string(kMaxLevel));
  }
  return std::shared_ptr<const ZstdCodec>(new ZstdCodec(options));
}

Result<std::shared_ptr<const Codec>> ZstdCodec::Factory(const Json& configuration) {
  ASSIGN_OR_RETURN(Options options, OptionsFromJson(configuration));
  ASSIGN_OR_RETURN(std::shared_ptr<const ZstdCodec> codec, Make(options));
  return std::shared_ptr<const Codec>(std::move(codec));
}

Json ZstdCodec::ToJson() const {
  Json config = {{"level", options_.level}};
  if (options_.checksum) config["checksum"] = true;
  return {{"name", "zstd"}, {"configuration", std::move(config)}};
}

Status ZstdCodec::Encode(ByteView in, Bytes& out) const {
  return EncodeByKeep(in, out);
}

Result<ByteView> ZstdCodec::EncodeKeep(ByteView in, Bytes& buf) const {
  const CCtxPool::Lease cctx = LeaseCCtx();
  if (cctx == nullptr) return Status::IOError("zstd: cannot allocate a compression context");
  ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
  size_t r = ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, options_.level);
  if (!ZSTD_isError(r)) {
    r = ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, options_.checksum ? 1 : 0);
  }
  if (ZSTD_isError(r)) return Status::InvalidArgument("zstd: " + ZstdError(r));
  const size_t bound = ZSTD_compressBound(in.size());
  if (buf.size() < bound) buf.resize(bound);
  const size_t n = ZSTD_compress2(cctx, buf.data(), buf.size(), in.data(), in.size());
  if (ZSTD_isError(n)) return Status::InvalidArgument("zstd: compression failed: " + ZstdError(n));
  return ByteView(buf.data(), n);
}

Status ZstdCodec::DecodeInto(ByteView in, MutableByteView out) const {
  const DCtxPool::Lease dctx = LeaseDCtx();
  if (dctx == nullptr) return Status::IOError("zstd: cannot allocate a decompression context");
  const unsigned long long content = ZSTD_getFrameContentSize(in.data(), in.size());
  if (content == ZSTD_CONTENTSIZE_ERROR) {
    return Status::Corruption("zstd: not a zstd frame (" + std::to_string(in.size()) + " bytes)");
  }
  if (content != ZSTD_CONTENTSIZE_UNKNOWN) {
    if (content != out.size()) {
      return Status::Corruption("zstd: frame announces " + std::to_string(content) +
                                " decoded bytes, expected " + std::to_string(out.size()));
    }
    const size_t n = ZSTD_decompressDCtx(dctx, out.data(), out.size(), in.data(), in.size());
    if (ZSTD_isError(n)) return Status::Corruption("zstd: " + ZstdError(n));
    if (n != out.size()) {
      return Status::Corruption("zstd: frame decoded to " + std::to_string(n) +
                                " bytes, expected " + std::to_string(out.size()));
    }
    return Status::OK();
  }
  return StreamDecodeExact(dctx, in, out);
}

Result<ByteView> ZstdCodec::Decode(ByteView in, DecodedSize size, Bytes& scratch) const {
  if (size.exact) {
    scratch.resize(*size.exact);
    RETURN_IF_ERROR(DecodeInto(in, scratch));
    return ByteView(scratch);
  }
  const unsigned long long content = ZSTD_getFrameContentSize(in.data(), in.size());
  if (content == ZSTD_CONTENTSIZE_ERROR) {
    return Status::Corruption("zstd: not a zstd frame (" + std::to_string(in.size()) + " bytes)");
  }
  const bool announced = content != ZSTD_CONTENTSIZE_UNKNOWN;
  const uint64_t limit = std::min<uint64_t>(size.max, (in.size() + 1) * kMaxRatio);
  if (announced && content > limit) {
    return Status::Corruption("zstd: frame of " + std::to_string(in.size()) +
                              " bytes claims an implausible " + std::to_string(content) +
                              " decoded bytes (the chunk allows at most " + std::to_string(limit) +
                              ")");
  }
  // The announced size is trusted only up to the chunk's expected size; past that the buffer
  // grows as output arrives, so a frame that lies about its size commits little memory.
  const uint64_t floor = ZSTD_DStreamOutSize();
  uint64_t capacity = announced ? std::min<uint64_t>(content, std::max(size.expected, floor))
                                : std::min<uint64_t>(std::max<uint64_t>(in.size() * 4, floor),
                                                     std::max(size.expected, floor));
  capacity = std::min(capacity, limit);
  const DCtxPool::Lease dctx = LeaseDCtx();
  if (dctx == nullptr) return Status::IOError("zstd: cannot allocate a decompression context");
  ZSTD_DCtx_reset(dctx, ZSTD_reset_session_only);
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  size_t written = 0;
  scratch.resize(capacity);
  uint8_t probe = 0;
  while (true) {
    // A full buffer at the limit gets a one-byte probe: any further output is too much.
    const bool probing = written == scratch.size();
    ZSTD_outBuffer output = probing ? ZSTD_outBuffer{&probe, 1, 0}
                                    : ZSTD_outBuffer{scratch.data(), scratch.size(), written};
    const size_t ret = ZSTD_decompressStream(dctx, &output, &input);
    if (ZSTD_isError(ret)) return Status::Corruption("zstd: " + ZstdError(ret));
    if (probing && output.pos > 0) {
      return Status::Corruption("zstd: frame of " + std::to_string(in.size()) +
                                " bytes decodes to more than the " + std::to_string(limit) +
                                " bytes the chunk allows");
    }
    if (!probing) written = output.pos;
    if (ret == 0) {
      if (input.pos != input.size) {
        return Status::Corruption("zstd: " + std::to_string(input.size - input.pos) +
                                  " trailing bytes after the frame");
      }
      if (announced && written != content) {
        return Status::Corruption("zstd: frame decoded to " + std::to_string(written) +
                                  " bytes, its header announces " + std::to_string(content));
      }
      scratch.resize(written);
      return ByteView(scratch);
    }
    if (written == scratch.size() && scratch.size() < limit) {
      scratch.resize(std::min<uint64_t>(limit, std::max<uint64_t>(scratch.size() * 2, floor)));
    } else if (!probing && written < scratch.size() && input.pos == input.size) {
      return Status::Corruption("zstd: frame is truncated");
    } else if (probing && input.pos == input.size) {
      return Status::Corruption("zstd: frame is truncated");
    }
  }
}

}  // namespace zarrpp
