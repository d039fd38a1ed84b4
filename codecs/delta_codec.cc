#include "codecs/delta_codec.h"

#include <type_traits>

#include "codecs/element_cast.h"
#include "codecs/numcodecs_filter_parse.h"
#include "zarrpp/json.h"

namespace zarrpp {

namespace {

using internal::CastTo;
using internal::Half;
using internal::LoadElement;
using internal::StoreElement;

template <typename T>
T Sub(T a, T b) {
  if constexpr (std::is_same_v<T, Half>) {
    return CastTo<Half>(internal::Widen(a) - internal::Widen(b));
  } else if constexpr (std::is_integral_v<T>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(static_cast<U>(a) - static_cast<U>(b)));
  } else {
    return a - b;
  }
}

// numpy.cumsum's accumulator for elements of T: T for floats, 64-bit integers otherwise.
template <typename T>
using Acc = std::conditional_t<std::is_integral_v<T>, uint64_t, T>;

template <typename A>
A Add(A a, A b) {
  if constexpr (std::is_same_v<A, Half>) {
    return CastTo<Half>(internal::Widen(a) + internal::Widen(b));
  } else {
    return a + b;  // unsigned 64-bit for integers: wraps
  }
}

template <typename U>
Acc<U> ToAcc(U v) {
  if constexpr (std::is_integral_v<U>) {
    return static_cast<uint64_t>(
        static_cast<std::conditional_t<std::is_signed_v<U>, int64_t, uint64_t>>(v));
  } else {
    return v;
  }
}

}  // namespace

Result<std::shared_ptr<const Codec>> DeltaCodec::Factory(const Json& configuration) {
  ASSIGN_OR_RETURN(internal::ConfigReader r, internal::ConfigReader::Make(configuration));
  ASSIGN_OR_RETURN(auto texts, internal::ReadDtypePair(r, "dtype", "astype"));
  RETURN_IF_ERROR(r.Finish());
  std::shared_ptr<DeltaCodec> c(new DeltaCodec());
  ASSIGN_OR_RETURN(c->dtype_, ParseDtype(texts.first, "dtype"));
  ASSIGN_OR_RETURN(c->astype_, ParseDtype(texts.second, "astype"));
  RETURN_IF_ERROR(internal::VisitNumeric(c->dtype_, kName, [](auto) { return Status::OK(); }));
  RETURN_IF_ERROR(internal::VisitNumeric(c->astype_, kName, [](auto) { return Status::OK(); }));
  c->dtype_text_ = texts.first.get<std::string>();
  c->astype_text_ = texts.second.get<std::string>();
  return std::shared_ptr<const Codec>(std::move(c));
}

Json DeltaCodec::ToJson() const {
  return {{"name", kName}, {"configuration", {{"dtype", dtype_text_}, {"astype", astype_text_}}}};
}

Status DeltaCodec::Encode(const ChunkSpec& decoded, ByteView src, MutableByteView dst) const {
  const uint64_t n = decoded.num_elements();
  return internal::VisitNumeric(dtype_, kName, [&](auto t) {
    return internal::VisitNumeric(astype_, kName, [&](auto u) {
      using T = decltype(t);
      using U = decltype(u);
      T prev{};
      for (uint64_t i = 0; i < n; ++i) {
        const T cur = LoadElement<T>(src.data() + i * sizeof(T));
        StoreElement(dst.data() + i * sizeof(U), CastTo<U>(i == 0 ? cur : Sub(cur, prev)));
        prev = cur;
      }
      return Status::OK();
    });
  });
}

Status DeltaCodec::Decode(const ChunkSpec& decoded, ByteView src, MutableByteView dst) const {
  const uint64_t n = decoded.num_elements();
  return internal::VisitNumeric(dtype_, kName, [&](auto t) {
    return internal::VisitNumeric(astype_, kName, [&](auto u) {
      using T = decltype(t);
      using U = decltype(u);
      Acc<U> acc{};
      for (uint64_t i = 0; i < n; ++i) {
        const Acc<U> e = ToAcc(LoadElement<U>(src.data() + i * sizeof(U)));
        acc = i == 0 ? e : Add(acc, e);
        if constexpr (std::is_integral_v<U>) {
          if constexpr (std::is_signed_v<U>) {
            StoreElement(dst.data() + i * sizeof(T), CastTo<T>(static_cast<int64_t>(acc)));
          } else {
            StoreElement(dst.data() + i * sizeof(T), CastTo<T>(acc));
          }
        } else {
          StoreElement(dst.data() + i * sizeof(T), CastTo<T>(acc));
        }
      }
      return Status::OK();
    });
  });
}

}  // namespace zarrpp
