// The one list of codecs zarrpp understands. A codec missing here is Unsupported by name.
#include "codecs/blosc_codec.h"
#include "codecs/bytes_codec.h"
#include "codecs/codec.h"
#include "codecs/crc32c_codec.h"
#include "codecs/gzip_codec.h"
#include "codecs/packbits_codec.h"
#include "codecs/sharding_codec.h"
#include "codecs/transpose_codec.h"
#include "codecs/vlen_codec.h"
#include "codecs/zlib_codec.h"
#include "codecs/zstd_codec.h"

namespace zarrpp {

void RegisterBuiltinCodecs(CodecRegistry& registry) {
  // array -> array
  registry.Register("transpose", &TransposeCodec::Factory);
  // array -> bytes
  registry.Register("bytes", &BytesCodec::Factory);
  registry.Register("sharding_indexed", &ShardingCodec::Factory);
  registry.Register("packbits", &PackBitsCodec::Factory);
  registry.Register("vlen-utf8", &VlenCodec::FactoryUtf8);
  registry.Register("vlen-bytes", &VlenCodec::FactoryBytes);
  // bytes -> bytes
  registry.Register("blosc", &BloscCodec::Factory);
  registry.Register("zstd", &ZstdCodec::Factory);
  registry.Register("gzip", &GzipCodec::Factory);
  registry.Register("crc32c", &Crc32cCodec::Factory);
  // Zarr v2 "zlib" compressor; no v3 codec exists (see codecs/zlib_codec.h).
  registry.Register(std::string(ZlibCodec::kName), &ZlibCodec::Factory);
}

}  // namespace zarrpp
