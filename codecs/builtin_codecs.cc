// The one list of codecs zarrpp understands. A codec missing here is Unsupported by name.
#include "codecs/astype_codec.h"
#include "codecs/bitround_codec.h"
#include "codecs/blosc_codec.h"
#include "codecs/bytes_codec.h"
#include "codecs/bz2_codec.h"
#include "codecs/categorize_codec.h"
#include "codecs/checksum32_codec.h"
#include "codecs/codec.h"
#include "codecs/crc32c_codec.h"
#include "codecs/delta_codec.h"
#include "codecs/fixedscaleoffset_codec.h"
#include "codecs/gzip_codec.h"
#include "codecs/lz4_codec.h"
#include "codecs/lzma_codec.h"
#include "codecs/packbits_codec.h"
#include "codecs/quantize_codec.h"
#include "codecs/reshape_codec.h"
#include "codecs/sharding_codec.h"
#include "codecs/shuffle_codec.h"
#include "codecs/transpose_codec.h"
#include "codecs/vlen_codec.h"
#include "codecs/zfp_codec.h"
#include "codecs/zlib_codec.h"
#include "codecs/zstd_codec.h"

namespace zarrpp {

void RegisterBuiltinCodecs(CodecRegistry& registry) {
  // array -> array
  registry.Register("transpose", &TransposeCodec::Factory);
  registry.Register("bitround", &BitroundCodec::Factory);
  registry.Register("reshape", &ReshapeCodec::Factory);
  registry.Register("zarrs.squeeze", &SqueezeCodec::Factory);
  registry.Register("numcodecs.bitround", &BitroundCodec::NumcodecsFactory);
  registry.Register(std::string(AstypeCodec::kName), &AstypeCodec::Factory);
  registry.Register(std::string(CategorizeCodec::kName), &CategorizeCodec::Factory);
  registry.Register(std::string(DeltaCodec::kName), &DeltaCodec::Factory);
  registry.Register(std::string(FixedScaleOffsetCodec::kName), &FixedScaleOffsetCodec::Factory);
  registry.Register(std::string(QuantizeCodec::kName), &QuantizeCodec::Factory);
  // array -> bytes
  registry.Register("bytes", &BytesCodec::Factory);
  registry.Register("sharding_indexed", &ShardingCodec::Factory);
  registry.Register("packbits", &PackBitsCodec::Factory);
  registry.Register("vlen-utf8", &VlenCodec::FactoryUtf8);
  registry.Register("vlen-bytes", &VlenCodec::FactoryBytes);
  registry.Register(std::string(ZfpCodec::kZfpName), &ZfpCodec::Factory);
  registry.Register(std::string(ZfpCodec::kZfpyName), &ZfpCodec::ZfpyFactory);
  // bytes -> bytes
  registry.Register("blosc", &BloscCodec::Factory);
  registry.Register("zstd", &ZstdCodec::Factory);
  registry.Register("gzip", &GzipCodec::Factory);
  registry.Register("crc32c", &Crc32cCodec::Factory);
  // Zarr v2 "zlib" compressor; no v3 codec exists (see codecs/zlib_codec.h).
  registry.Register(std::string(ZlibCodec::kName), &ZlibCodec::Factory);
  // numcodecs bytes->bytes codecs (Zarr v2 compressors and filters; zarr-python 3's names).
  registry.Register(std::string(Bz2Codec::kName), &Bz2Codec::Factory);
  registry.Register(std::string(Lz4Codec::kName), &Lz4Codec::Factory);
  registry.Register(std::string(LzmaCodec::kName), &LzmaCodec::Factory);
  registry.Register(std::string(ShuffleCodec::kName), &ShuffleCodec::Factory);
  registry.Register("numcodecs.adler32", &Checksum32Codec::Adler32Factory);
  registry.Register("numcodecs.crc32", &Checksum32Codec::Crc32Factory);
  registry.Register("numcodecs.fletcher32", &Checksum32Codec::Fletcher32Factory);
}

}  // namespace zarrpp
