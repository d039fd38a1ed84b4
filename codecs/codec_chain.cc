#include "codecs/codec_chain.h"

#include <cstring>
#include <mutex>
#include <string>

#include "src/first_error.h"
#include "zarrpp/json.h"

namespace zarrpp {

namespace {

std::string At(const Codec& codec, size_t position) {
  return "codec '" + std::string(codec.name()) + "' at position " + std::to_string(position);
}

// The scratch buffer to write next: one that holds neither of the views still in use.
Bytes& FreeBuffer(ChainScratch& s, ByteView busy1, ByteView busy2 = {}) {
  auto holds = [](const Bytes& b, ByteView v) {
    return !v.empty() && !b.empty() && v.data() >= b.data() && v.data() < b.data() + b.size();
  };
  for (Bytes* b : {&s.a, &s.b, &s.c}) {
    if (!holds(*b, busy1) && !holds(*b, busy2)) return *b;
  }
  return s.c;  // unreachable: two views occupy at most two of three buffers
}

}  // namespace

Result<CodecChain> CodecChain::FromJson(const Json& codecs, const CodecRegistry& registry) {
  if (!codecs.is_array()) {
    return Status::InvalidArgument("codecs must be a list, got " + codecs.dump());
  }
  std::vector<std::shared_ptr<const Codec>> built;
  built.reserve(codecs.size());
  for (size_t i = 0; i < codecs.size(); ++i) {
    ASSIGN_OR_RETURN_CTX(std::shared_ptr<const Codec> codec, registry.Create(codecs[i]),
                         "codecs[" + std::to_string(i) + "]");
    built.push_back(std::move(codec));
  }
  return FromCodecs(std::move(built));
}

Result<CodecChain> CodecChain::FromCodecs(std::vector<std::shared_ptr<const Codec>> codecs) {
  CodecChain chain;
  size_t ab_position = 0;
  for (size_t i = 0; i < codecs.size(); ++i) {
    const std::shared_ptr<const Codec>& codec = codecs[i];
    if (!codec) {
      return Status::InvalidArgument("codec chain: position " + std::to_string(i) + " is null");
    }
    switch (codec->kind()) {
      case Codec::Kind::kArrayToArray:
        if (chain.ab_) {
          return Status::InvalidArgument(
              At(*codec, i) + " is array->array but follows the array->bytes codec '" +
              std::string(chain.ab_->name()) + "' at position " + std::to_string(ab_position));
        }
        chain.aa_.push_back(std::static_pointer_cast<const ArrayToArrayCodec>(codec));
        break;
      case Codec::Kind::kArrayToBytes:
        if (chain.ab_) {
          return Status::InvalidArgument(At(*codec, i) +
                                         " is a second array->bytes codec (the first is '" +
                                         std::string(chain.ab_->name()) + "' at position " +
                                         std::to_string(ab_position) + ")");
        }
        chain.ab_ = std::static_pointer_cast<const ArrayToBytesCodec>(codec);
        ab_position = i;
        break;
      case Codec::Kind::kBytesToBytes:
        if (!chain.ab_) {
          return Status::InvalidArgument(At(*codec, i) +
                                         " is bytes->bytes but comes before any array->bytes "
                                         "codec");
        }
        chain.bb_.push_back(std::static_pointer_cast<const BytesToBytesCodec>(codec));
        break;
    }
  }
  if (!chain.ab_) {
    return Status::InvalidArgument("codec chain of " + std::to_string(codecs.size()) +
                                   " codecs has no array->bytes codec (e.g. \"bytes\")");
  }
  return chain;
}

Json CodecChain::ToJson() const {
  Json out = Json::array();
  for (const auto& c : aa_) out.push_back(c->ToJson());
  out.push_back(ab_->ToJson());
  for (const auto& c : bb_) out.push_back(c->ToJson());
  return out;
}

Result<std::shared_ptr<const PreparedChain>> CodecChain::Prepare(const ChunkSpec& spec) const {
  if (!ab_) return Status::FailedPrecondition("codec chain has no array->bytes codec");
  auto prepared = std::make_shared<PreparedChain>();
  prepared->chain_ = *this;
  prepared->specs_.reserve(aa_.size() + 1);
  prepared->specs_.push_back(spec);
  for (size_t i = 0; i < aa_.size(); ++i) {
    ASSIGN_OR_RETURN_CTX(ChunkSpec next, aa_[i]->EncodedSpec(prepared->specs_.back()),
                         At(*aa_[i], i));
    // A codec may change the shape and the data type (numcodecs' astype), never the element
    // count: every stage holds the same elements in another representation.
    if (next.num_elements() != prepared->specs_.back().num_elements()) {
      return Status::InvalidArgument(At(*aa_[i], i) + " changes the element count from " +
                                     std::to_string(prepared->specs_.back().num_elements()) +
                                     " to " + std::to_string(next.num_elements()));
    }
    // (A variable-size type's fill value is the element's own bytes, of any length.)
    if (!next.dtype.is_variable() && next.fill_value.bytes.size() != next.dtype.size()) {
      return Status::InvalidArgument(At(*aa_[i], i) + " gives a fill value of " +
                                     std::to_string(next.fill_value.bytes.size()) + " bytes for " +
                                     next.dtype.name());
    }
    prepared->specs_.push_back(std::move(next));
  }
  if (spec.dtype.is_variable()) {  // spec/strings.md: offsets + bytes reach only these codecs
    for (size_t i = 0; i < aa_.size(); ++i) {
      if (aa_[i]->name() != "transpose") {
        return Status::Unsupported(At(*aa_[i], i) + " is not supported for " + spec.dtype.name() +
                                   " arrays");
      }
    }
    if (ab_->name() != "vlen-utf8" && ab_->name() != "vlen-bytes" &&
        ab_->name() != "sharding_indexed") {
      return Status::InvalidArgument(At(*ab_, 0) + " cannot encode " + spec.dtype.name() +
                                     " arrays (use vlen-utf8 or vlen-bytes)");
    }
  }
  const ChunkSpec& ab_spec = prepared->specs_.back();
  RETURN_IF_ERROR_CTX(ab_->ValidateSpec(ab_spec), At(*ab_, aa_.size()));
  prepared->ab_encoded_size_ = ab_->EncodedSize(ab_spec);
  prepared->ab_identity_ = ab_->IsIdentity(ab_spec);
  std::optional<uint64_t> size = prepared->ab_encoded_size_;
  for (const auto& c : bb_) {
    if (!size) break;
    size = c->EncodedSize(*size);
  }
  prepared->encoded_size_ = size;
  // The most each bytes->bytes decoder may produce: the bound on the bytes its encoder was given.
  uint64_t bound = ab_->MaxEncodedSize(ab_spec);
  prepared->bb_max_.reserve(bb_.size());
  for (const auto& c : bb_) {
    prepared->bb_max_.push_back(bound);
    bound = c->MaxEncodedSize(bound);
  }
  prepared->max_encoded_size_ = bound;
  return std::shared_ptr<const PreparedChain>(std::move(prepared));
}

Result<ByteView> PreparedChain::Encode(ByteView chunk, ChainScratch& scratch) const {
  const ChunkSpec& decoded = specs_.front();
  if (chunk.size() != decoded.num_bytes()) {
    return Status::InvalidArgument("chunk has " + std::to_string(chunk.size()) +
                                   " bytes, expected " + std::to_string(decoded.num_bytes()));
  }
  ByteView cur = chunk;
  const auto& aa = chain_.array_to_array();
  for (size_t i = 0; i < aa.size(); ++i) {
    Bytes& dst = FreeBuffer(scratch, cur);
    dst.resize(specs_[i + 1].num_bytes());
    RETURN_IF_ERROR(aa[i]->Encode(specs_[i], cur, dst));
    cur = dst;
  }
  if (!ab_identity_) {
    Bytes& dst = FreeBuffer(scratch, cur);
    RETURN_IF_ERROR(chain_.array_to_bytes()->Encode(specs_.back(), cur, dst));
    // An empty encoding of a non-empty chunk means "erase the key" (codec.h); bytes->bytes codecs
    // must not turn it into a stored value.
    if (dst.empty() && specs_.back().num_bytes() > 0) return ByteView();
    cur = dst;
  }
  for (const auto& c : chain_.bytes_to_bytes()) {
    Bytes& dst = FreeBuffer(scratch, cur);
    ASSIGN_OR_RETURN(cur, c->EncodeKeep(cur, dst));
  }
  return cur;
}

DecodedSize PreparedChain::BytesDecodedSize(size_t k) const {
  const auto& bb = chain_.bytes_to_bytes();
  std::optional<uint64_t> size = ab_encoded_size_;
  for (size_t j = 0; j < k && size; ++j) size = bb[j]->EncodedSize(*size);
  return DecodedSize(size, std::min(specs_.front().num_bytes(), bb_max_[k]), bb_max_[k]);
}

Status PreparedChain::Decode(ByteView encoded, MutableByteView out, ChainScratch& scratch) const {
  const ChunkSpec& decoded = specs_.front();
  if (out.size() != decoded.num_bytes()) {
    return Status::InvalidArgument("output has " + std::to_string(out.size()) +
                                   " bytes, expected " + std::to_string(decoded.num_bytes()));
  }
  const auto& aa = chain_.array_to_array();
  const auto& bb = chain_.bytes_to_bytes();
  const bool direct = aa.empty() && ab_identity_;

  // bytes->bytes codecs, last first. With a direct chain the first one decodes into `out`.
  ByteView cur = encoded;
  const size_t stop = direct && !bb.empty() ? 1 : 0;
  for (size_t k = bb.size(); k-- > stop;) {
    Bytes& dst = FreeBuffer(scratch, cur);
    ASSIGN_OR_RETURN(cur, bb[k]->Decode(cur, BytesDecodedSize(k), dst));
  }
  if (direct) {
    if (!bb.empty()) return bb[0]->DecodeInto(cur, out);
    if (cur.size() != out.size()) {
      return Status::Corruption("encoded chunk has " + std::to_string(cur.size()) +
                                " bytes, expected " + std::to_string(out.size()));
    }
    if (!cur.empty()) std::memcpy(out.data(), cur.data(), cur.size());
    return Status::OK();
  }

  // array->bytes.
  const ChunkSpec& ab_spec = specs_.back();
  if (aa.empty()) return chain_.array_to_bytes()->Decode(ab_spec, cur, out);
  if (ab_identity_) {
    // The bytes already are the array; the array->array codecs read them where they lie.
    if (cur.size() != ab_spec.num_bytes()) {
      return Status::Corruption("encoded chunk has " + std::to_string(cur.size()) +
                                " bytes, expected " + std::to_string(ab_spec.num_bytes()));
    }
  } else {
    Bytes& dst = FreeBuffer(scratch, cur);
    dst.resize(ab_spec.num_bytes());
    RETURN_IF_ERROR(chain_.array_to_bytes()->Decode(ab_spec, cur, dst));
    cur = dst;
  }

  // array->array codecs, last first; the first writes into `out`.
  for (size_t i = aa.size(); i-- > 0;) {
    if (i == 0) return aa[0]->Decode(specs_[0], cur, out);
    Bytes& dst = FreeBuffer(scratch, cur);
    dst.resize(specs_[i].num_bytes());
    RETURN_IF_ERROR(aa[i]->Decode(specs_[i], cur, dst));
    cur = dst;
  }
  return Status::OK();
}

namespace {

// One codec step over a batch: fn(in, out) for every present chunk, in parallel. `cur` holds the
// step's inputs; afterwards `owned` holds the outputs (the previous step's buffers are released)
// and `cur` views them.
struct BatchStep {
  std::vector<ByteView>& cur;
  std::vector<Bytes>& owned;
  const std::vector<uint8_t>& present;
  Executor& ex;
  size_t grain;
  const std::function<std::string(size_t)>& where;

  template <typename Fn>
  Status operator()(Fn fn) {
    const size_t n = cur.size();
    std::vector<Bytes> next(n);
    internal::FirstError err;
    ex.ParallelFor(n, grain, [&](size_t b, size_t e) {
      for (size_t i = b; i < e; ++i) {
        if (!present[i]) continue;
        Status s = fn(cur[i], next[i]);
        if (!s.ok()) err.Set(s.WithContext(where(i)));
      }
    });
    RETURN_IF_ERROR(err.status());
    owned.swap(next);
    for (size_t i = 0; i < n; ++i) cur[i] = ByteView(owned[i]);
    return Status::OK();
  }
};

// Keeps a codec's result in `out`: it usually is `out` already; a view into the input (a
// checksum stripped off) is copied so that every step owns its output.
void Keep(ByteView result, Bytes& out) {
  if (result.data() != out.data() || result.size() != out.size()) {
    Bytes copy(result.begin(), result.end());
    out.swap(copy);
  }
}

}  // namespace

Status PreparedChain::EncodeBatch(std::vector<Bytes>& chunks, std::vector<uint8_t>& present,
                                  Executor& ex, size_t grain,
                                  const std::function<std::string(size_t)>& where) const {
  // Moving the vector keeps every chunk's buffer where it is, so the views stay valid.
  std::vector<ByteView> cur(chunks.begin(), chunks.end());
  std::vector<Bytes> owned = std::move(chunks);
  BatchStep step{cur, owned, present, ex, grain, where};
  const auto& aa = chain_.array_to_array();
  for (size_t k = 0; k < aa.size(); ++k) {
    RETURN_IF_ERROR(step([&](ByteView in, Bytes& out) {
      out.resize(specs_[k + 1].num_bytes());
      return aa[k]->Encode(specs_[k], in, out);
    }));
  }
  if (!ab_identity_) {
    RETURN_IF_ERROR(step([&](ByteView in, Bytes& out) {
      return chain_.array_to_bytes()->Encode(specs_.back(), in, out);
    }));
    // An empty encoding of a non-empty chunk means "erase the key".
    if (specs_.back().num_bytes() > 0) {
      for (size_t i = 0; i < owned.size(); ++i) {
        if (present[i] && owned[i].empty()) present[i] = 0;
      }
    }
  }
  for (const auto& c : chain_.bytes_to_bytes()) {
    RETURN_IF_ERROR(step([&](ByteView in, Bytes& out) { return c->Encode(in, out); }));
  }
  chunks = std::move(owned);
  return Status::OK();
}

Status PreparedChain::DecodeBatch(const std::vector<ByteView>& encoded,
                                  const std::vector<uint8_t>& present, std::vector<Bytes>& decoded,
                                  Executor& ex, size_t grain,
                                  const std::function<std::string(size_t)>& where) const {
  const auto& aa = chain_.array_to_array();
  const auto& bb = chain_.bytes_to_bytes();
  const size_t n = encoded.size();
  // The current step's inputs: the caller's views, then each step's own buffers.
  std::vector<ByteView> cur = encoded;
  std::vector<Bytes> owned;
  BatchStep step{cur, owned, present, ex, grain, where};
  const bool stepped = !bb.empty() || !ab_identity_ || !aa.empty();
  for (size_t k = bb.size(); k-- > 0;) {
    const DecodedSize size = BytesDecodedSize(k);
    RETURN_IF_ERROR(step([&](ByteView in, Bytes& out) -> Status {
      ASSIGN_OR_RETURN(ByteView r, bb[k]->Decode(in, size, out));
      Keep(r, out);
      return Status::OK();
    }));
  }
  const ChunkSpec& ab_spec = specs_.back();
  if (ab_identity_) {
    for (size_t i = 0; i < n; ++i) {
      if (present[i] && cur[i].size() != ab_spec.num_bytes()) {
        return Status::Corruption("encoded chunk has " + std::to_string(cur[i].size()) +
                                  " bytes, expected " + std::to_string(ab_spec.num_bytes()))
            .WithContext(where(i));
      }
    }
  } else {
    RETURN_IF_ERROR(step([&](ByteView in, Bytes& out) {
      out.resize(ab_spec.num_bytes());
      return chain_.array_to_bytes()->Decode(ab_spec, in, out);
    }));
  }
  for (size_t k = aa.size(); k-- > 0;) {
    RETURN_IF_ERROR(step([&](ByteView in, Bytes& out) {
      out.resize(specs_[k].num_bytes());
      return aa[k]->Decode(specs_[k], in, out);
    }));
  }
  if (!stepped) {
    owned.resize(n);
    for (size_t i = 0; i < n; ++i) {
      if (present[i]) owned[i].assign(cur[i].begin(), cur[i].end());
    }
  }
  decoded.swap(owned);
  return Status::OK();
}

}  // namespace zarrpp
