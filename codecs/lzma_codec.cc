#include "codecs/lzma_codec.h"

#include <lzma.h>

#include <algorithm>
#include <string>

#include "codecs/numcodecs_config.h"
#include "codecs/stream_decode.h"
#include "zarrpp/json.h"

namespace zarrpp {

namespace {

constexpr uint64_t kDecoderMemLimit = uint64_t{128} << 20;

struct StreamEnd {
  lzma_stream* s;
  ~StreamEnd() { lzma_end(s); }
};

std::string LzmaError(lzma_ret r) {
  switch (r) {
    case LZMA_MEM_ERROR: return "out of memory";
    case LZMA_MEMLIMIT_ERROR: return "stream needs more decoder memory than the limit";
    case LZMA_FORMAT_ERROR: return "not an xz or lzma stream";
    case LZMA_OPTIONS_ERROR: return "unsupported stream options";
    case LZMA_DATA_ERROR: return "malformed data";
    case LZMA_BUF_ERROR: return "stream is truncated";
    case LZMA_UNSUPPORTED_CHECK: return "unsupported integrity check";
    default: return "error " + std::to_string(static_cast<int>(r));
  }
}

}  // namespace

Result<LzmaCodec::Options> LzmaCodec::OptionsFromJson(const Json& configuration) {
  Options o;
  ASSIGN_OR_RETURN(internal::ConfigReader r, internal::ConfigReader::Make(configuration));
  ASSIGN_OR_RETURN(std::optional<int64_t> format, r.Int("format"));
  ASSIGN_OR_RETURN(std::optional<int64_t> check, r.Int("check"));
  ASSIGN_OR_RETURN(std::optional<int64_t> preset, r.Int("preset"));
  const std::optional<Json> filters = r.Raw("filters");
  RETURN_IF_ERROR(r.Finish());
  if (format) {
    if (*format == 3) {
      return Status::Unsupported("lzma: format 3 (raw) is not supported");
    }
    if (*format < 0 || *format > 3) {
      return Status::InvalidArgument("configuration.format must be 0, 1, 2 or 3, got " +
                                     std::to_string(*format));
    }
    o.format = static_cast<int>(*format);
  }
  if (check) {
    if (*check != -1 && *check != 0 && *check != 1 && *check != 4 && *check != 10) {
      return Status::InvalidArgument("configuration.check must be -1, 0, 1, 4 or 10, got " +
                                     std::to_string(*check));
    }
    o.check = static_cast<int>(*check);
  }
  if (preset) {
    // Encode-only: the level is clamped to 0..9, the extreme flag kept.
    const uint32_t extreme =
        (*preset >= 0 && (*preset & LZMA_PRESET_EXTREME)) ? LZMA_PRESET_EXTREME : 0;
    const int64_t level = *preset >= 0 ? (*preset & LZMA_PRESET_LEVEL_MASK) : 0;
    o.preset = static_cast<uint32_t>(std::clamp<int64_t>(level, 0, 9)) | extreme;
  }
  if (filters) {
    if (!filters->is_array()) {
      return Status::InvalidArgument("configuration.filters must be null or a list, got " +
                                     filters->dump());
    }
    o.filters = *filters;
  }
  return o;
}

Result<std::shared_ptr<const LzmaCodec>> LzmaCodec::Make(Options options) {
  return std::shared_ptr<const LzmaCodec>(new LzmaCodec(std::move(options)));
}

Result<std::shared_ptr<const Codec>> LzmaCodec::Factory(const Json& configuration) {
  ASSIGN_OR_RETURN(Options options, OptionsFromJson(configuration));
  ASSIGN_OR_RETURN(std::shared_ptr<const LzmaCodec> codec, Make(std::move(options)));
  return std::shared_ptr<const Codec>(std::move(codec));
}

Json LzmaCodec::ToJson() const {
  Json c = {{"format", options_.format}, {"check", options_.check}};
  c["preset"] = options_.preset ? Json(*options_.preset) : Json(nullptr);
  c["filters"] = options_.filters;
  return {{"name", kName}, {"configuration", std::move(c)}};
}

Status LzmaCodec::Encode(ByteView in, Bytes& out) const {
  if (!options_.filters.is_null()) {
    return Status::Unsupported("lzma: encoding with an explicit filter chain is not supported");
  }
  if (options_.format != 1 && options_.format != 2) {
    return Status::Unsupported("lzma: encoding needs format 1 (xz) or 2 (lzma), got " +
                               std::to_string(options_.format));
  }
  const uint32_t preset = options_.preset.value_or(LZMA_PRESET_DEFAULT);
  lzma_stream strm = LZMA_STREAM_INIT;
  lzma_ret r;
  if (options_.format == 1) {
    const lzma_check check =
        options_.check == -1 ? LZMA_CHECK_CRC64 : static_cast<lzma_check>(options_.check);
    r = lzma_easy_encoder(&strm, preset, check);
  } else {
    lzma_options_lzma opt;
    if (lzma_lzma_preset(&opt, preset)) {
      return Status::InvalidArgument("lzma: preset " + std::to_string(preset) + " is invalid");
    }
    r = lzma_alone_encoder(&strm, &opt);
  }
  StreamEnd end{&strm};
  if (r != LZMA_OK) return Status::InvalidArgument("lzma: cannot start encoder: " + LzmaError(r));
  out.resize(lzma_stream_buffer_bound(in.size()) + 64);
  strm.next_in = in.data();
  strm.avail_in = in.size();
  strm.next_out = out.data();
  strm.avail_out = out.size();
  while (true) {
    r = lzma_code(&strm, LZMA_FINISH);
    if (r == LZMA_STREAM_END) break;
    if (r != LZMA_OK) {
      out.clear();
      return Status::InvalidArgument("lzma: compression failed: " + LzmaError(r));
    }
    if (strm.avail_out == 0) {
      const size_t used = out.size();
      out.resize(used * 2);
      strm.next_out = out.data() + used;
      strm.avail_out = out.size() - used;
    }
  }
  out.resize(strm.total_out);
  return Status::OK();
}

Result<ByteView> LzmaCodec::Decode(ByteView in, DecodedSize size, Bytes& scratch) const {
  lzma_stream strm = LZMA_STREAM_INIT;
  const lzma_ret init = lzma_auto_decoder(&strm, kDecoderMemLimit, LZMA_CONCATENATED);
  StreamEnd end{&strm};
  if (init != LZMA_OK) return Status::IOError("lzma: cannot start decoder: " + LzmaError(init));
  strm.next_in = in.data();
  strm.avail_in = in.size();
  auto step = [&](uint8_t* out, size_t avail, size_t& written) -> Result<bool> {
    strm.next_out = out;
    strm.avail_out = avail;
    const lzma_ret r = lzma_code(&strm, LZMA_FINISH);
    written += avail - strm.avail_out;
    if (r == LZMA_STREAM_END) return true;
    if (r == LZMA_OK) return false;
    if (r == LZMA_MEMLIMIT_ERROR) {
      return Status::Unsupported("lzma: stream needs " + std::to_string(lzma_memusage(&strm)) +
                                 " bytes of decoder memory, more than the " +
                                 std::to_string(kDecoderMemLimit) + " allowed");
    }
    return Status::Corruption("lzma: " + LzmaError(r));
  };
  return internal::StreamDecode("lzma", in.size(), size, step, scratch);
}

}  // namespace zarrpp
