// The parts of the Store interface every store shares: range resolution, key validation and the
// default operations that stores may override when they can do better.
#include "zarrpp/store.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include "src/store_internal.h"

namespace zarrpp {

namespace {

// Keys go into messages quoted, with bytes that would garble a terminal (NUL, control bytes)
// escaped, so the message shows exactly which key was refused.
std::string QuoteKey(std::string_view key) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string q = "'";
  for (char c : key) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      q += "\\x";
      q += kHex[u >> 4];
      q += kHex[u & 0xf];
    } else {
      q += c;
    }
  }
  q += "'";
  return q;
}

// Temporary files of LocalStore start with this; no key may contain such a segment, so a
// temporary can never be mistaken for (or collide with) a stored value.
constexpr std::string_view kReservedSegmentPrefix = ".zarrpp-";

Status InvalidKey(std::string_view what, std::string_view key, std::string_view reason) {
  std::string m = "invalid store ";
  m += what;
  m += " ";
  m += QuoteKey(key);
  m += ": ";
  m += reason;
  return Status::InvalidArgument(std::move(m));
}

Status ValidateKeyAs(std::string_view what, std::string_view key, std::string_view shown) {
  if (key.empty()) return InvalidKey(what, shown, "empty key");
  if (key.front() == '/') return InvalidKey(what, shown, "starts with '/'");
  if (key.back() == '/') return InvalidKey(what, shown, "ends with '/'");
  if (key.find('\0') != std::string_view::npos)
    return InvalidKey(what, shown, "contains a NUL byte");
  if (key.find('\\') != std::string_view::npos) return InvalidKey(what, shown, "contains '\\'");
  size_t begin = 0;
  while (begin <= key.size()) {
    size_t end = key.find('/', begin);
    if (end == std::string_view::npos) end = key.size();
    std::string_view segment = key.substr(begin, end - begin);
    if (segment.empty()) return InvalidKey(what, shown, "empty segment ('//')");
    if (segment == ".") return InvalidKey(what, shown, "segment '.'");
    if (segment == "..") return InvalidKey(what, shown, "segment '..'");
    if (segment.starts_with(kReservedSegmentPrefix)) {
      return InvalidKey(what, shown, "segment starts with the reserved '.zarrpp-'");
    }
    begin = end + 1;
  }
  return Status::OK();
}

}  // namespace

Result<std::pair<uint64_t, uint64_t>> ByteRange::Resolve(uint64_t size,
                                                         std::string_view key) const {
  auto out_of_bounds = [&]() {
    return Status::InvalidArgument("byte range " + ToString() + " of key " + QuoteKey(key) +
                                   " passes the end of the value (size " + std::to_string(size) +
                                   ")");
  };
  switch (kind) {
    case Kind::kWhole: return std::pair<uint64_t, uint64_t>{0, size};
    case Kind::kBounded:
      if (end < start) {
        return Status::InvalidArgument("byte range " + ToString() + " of key " + QuoteKey(key) +
                                       ": end " + std::to_string(end) + " is before start " +
                                       std::to_string(start));
      }
      if (end > size) return out_of_bounds();
      return std::pair<uint64_t, uint64_t>{start, end};
    case Kind::kFromOffset:
      if (start > size) return out_of_bounds();
      return std::pair<uint64_t, uint64_t>{start, size};
    case Kind::kSuffix:
      if (suffix >= size) return std::pair<uint64_t, uint64_t>{0, size};
      return std::pair<uint64_t, uint64_t>{size - suffix, size};
  }
  return Status::InvalidArgument("byte range of key " + QuoteKey(key) + " has an unknown kind " +
                                 std::to_string(static_cast<int>(kind)));
}

std::string ByteRange::ToString() const {
  // Built by appending: GCC 12 warns falsely (-Wrestrict) on "literal" + std::string temporaries.
  std::string s;
  switch (kind) {
    case Kind::kWhole: return "[whole value]";
    case Kind::kBounded:
      s += '[';
      s += std::to_string(start);
      s += ", ";
      s += std::to_string(end);
      s += ')';
      return s;
    case Kind::kFromOffset:
      s += '[';
      s += std::to_string(start);
      s += ", end)";
      return s;
    case Kind::kSuffix:
      s += "[last ";
      s += std::to_string(suffix);
      s += " bytes]";
      return s;
  }
  return "[unknown range kind]";
}

Result<std::optional<Bytes>> Store::get(std::string_view key, ByteRange range) {
  Bytes out;
  ASSIGN_OR_RETURN(bool found, get_into(key, range, out));
  if (!found) return std::optional<Bytes>();
  return std::optional<Bytes>(std::move(out));
}

void internal::Concatenate(std::span<const ByteView> pieces, Bytes& out) {
  out.clear();
  out.reserve(PiecesSize(pieces));
  for (const ByteView& p : pieces) out.insert(out.end(), p.begin(), p.end());
}

Status internal::ScatterSizeMismatch(std::string_view key, uint64_t value_size, uint64_t expected) {
  return Status::Corruption("value of key " + QuoteKey(key) + " holds " +
                            std::to_string(value_size) + " bytes, expected " +
                            std::to_string(expected));
}

Result<ReadResult> internal::ReadWhole(Store& store, std::string_view key, bool with_generation,
                                       std::unique_ptr<ValueReader>& pinned, Bytes& copy,
                                       ByteView& bytes) {
  ReadResult r;
  if (store.capabilities().memory_readers) {
    ASSIGN_OR_RETURN(pinned, store.open_reader(key));
    r.found = pinned != nullptr;
    if (!r.found) return r;
    r.generation = pinned->generation();
    if (std::optional<ByteView> in_place = pinned->memory()) {
      bytes = *in_place;
      return r;
    }
    ASSIGN_OR_RETURN(r.found, pinned->read(ByteRange::Whole(), copy));
  } else if (with_generation) {
    ASSIGN_OR_RETURN(r, store.get_if(key, ByteRange::Whole(), copy));
  } else {
    ASSIGN_OR_RETURN(r.found, store.get_into(key, ByteRange::Whole(), copy));
  }
  bytes = ByteView(copy);
  return r;
}

void internal::ScatterCopy(ByteView value, std::span<const MutableByteView> pieces) {
  (void)ForEachFrontPiece(pieces, value.size(), [&](MutableByteView part, uint64_t at) {
    if (part.data() != nullptr && !part.empty()) {
      std::memcpy(part.data(), value.data() + at, part.size());
    }
    return Status::OK();
  });
}

Result<bool> Store::get_scatter(std::string_view key, std::span<const MutableByteView> pieces) {
  Bytes value;
  ASSIGN_OR_RETURN(bool found, get_into(key, ByteRange::Whole(), value));
  if (!found) return false;
  const uint64_t expected = internal::PiecesSize(pieces);
  if (value.size() != expected) return internal::ScatterSizeMismatch(key, value.size(), expected);
  internal::ScatterCopy(value, pieces);
  return true;
}

Result<std::optional<uint64_t>> Store::get_within(std::string_view key,
                                                  std::span<const MutableByteView> pieces) {
  Bytes value;
  ASSIGN_OR_RETURN(bool found, get_into(key, ByteRange::Whole(), value));
  if (!found) return std::optional<uint64_t>();
  if (value.size() <= internal::PiecesSize(pieces)) internal::ScatterCopy(value, pieces);
  return std::optional<uint64_t>(value.size());
}

Result<std::optional<uint64_t>> Store::get_at(std::string_view key, uint64_t offset,
                                              MutableByteView dest) {
  // A version replaced between opening and reading is opened again.
  for (int attempt = 0; attempt < 64; ++attempt) {
    ASSIGN_OR_RETURN(std::unique_ptr<ValueReader> reader, open_reader(key));
    if (!reader) return std::optional<uint64_t>();
    const uint64_t size = reader->size();
    if (offset > size || dest.size() > size - offset || dest.empty()) {
      return std::optional<uint64_t>(size);
    }
    Bytes got;
    ASSIGN_OR_RETURN(bool readable,
                     reader->read(ByteRange::Bounded(offset, offset + dest.size()), got));
    if (!readable) continue;
    if (got.size() != dest.size()) {
      return Status::IOError("get of key " + QuoteKey(key) + ": read " +
                             std::to_string(got.size()) + " bytes at offset " +
                             std::to_string(offset) + ", expected " + std::to_string(dest.size()));
    }
    std::memcpy(dest.data(), got.data(), got.size());
    return std::optional<uint64_t>(size);
  }
  return Status::IOError("get of key " + QuoteKey(key) +
                         ": the value kept changing while being read");
}

Status Store::set_gather(std::string_view key, std::span<const ByteView> pieces) {
  Bytes value;
  internal::Concatenate(pieces, value);
  return set(key, value);
}

Result<std::vector<std::optional<Bytes>>> Store::get_ranges(const std::vector<KeyRange>& requests) {
  std::vector<std::optional<Bytes>> values;
  values.reserve(requests.size());
  for (const KeyRange& request : requests) {
    ASSIGN_OR_RETURN(std::optional<Bytes> value, get(request.key, request.range));
    values.push_back(std::move(value));
  }
  return values;
}

void Store::get_async(std::string_view key, ByteRange range, Bytes& out, ReadCallback done) {
  done(get_into(key, range, out));
}

void Store::get_within_async(std::string_view key, std::span<const MutableByteView> pieces,
                             SizeCallback done) {
  if (!capabilities().async_io) return done(get_within(key, pieces));
  // The value arrives in a buffer of this call's, copied into the pieces once it is complete.
  auto value = std::make_shared<Bytes>();
  Bytes& into = *value;
  get_async(key, ByteRange::Whole(), into,
            [value = std::move(value), pieces, done = std::move(done)](Result<bool> found) {
              if (!found.ok()) return done(found.status());
              if (!*found) return done(std::optional<uint64_t>());
              if (value->size() <= internal::PiecesSize(pieces)) {
                internal::ScatterCopy(*value, pieces);
              }
              done(std::optional<uint64_t>(value->size()));
            });
}

void Store::set_async(std::string_view key, std::span<const ByteView> pieces, WriteCallback done) {
  done(set_gather(key, pieces));
}

void Store::erase_async(std::string_view key, WriteCallback done) {
  done(erase(key));
}

Status Store::set_range(std::string_view key, uint64_t offset, ByteView value) {
  RETURN_IF_ERROR(ValidateKey(key));
  return Status::Unsupported("set_range of " + std::to_string(value.size()) + " bytes at offset " +
                             std::to_string(offset) + " of key " + QuoteKey(key) + ": store " +
                             description() + " does not support set_range");
}

Result<bool> Store::exists(std::string_view key) {
  ASSIGN_OR_RETURN(std::optional<uint64_t> value_size, size(key));
  return value_size.has_value();
}

std::string Generation::ToString() const {
  switch (kind_) {
    case Kind::kUnknown: return "unknown";
    case Kind::kAbsent: return "absent";
    case Kind::kValue: return token_;
  }
  return "unknown";
}

Result<ReadResult> Store::get_if(std::string_view key, ByteRange range, Bytes& out,
                                 const Generation* if_equal) {
  ReadResult r;
  if (if_equal != nullptr) {
    RETURN_IF_ERROR(ValidateKey(key));
    r.condition_met = false;
    return r;
  }
  ASSIGN_OR_RETURN(r.found, get_into(key, range, out));
  if (!r.found) r.generation = Generation::Absent();
  return r;
}

Result<Generation> Store::generation(std::string_view key) {
  ASSIGN_OR_RETURN(bool present, exists(key));
  return present ? Generation::Unknown() : Generation::Absent();
}

namespace {

// A whole value read once; ranges are served from memory.
class BufferedReader final : public ValueReader {
 public:
  explicit BufferedReader(Bytes value) : value_(std::move(value)) {}
  uint64_t size() const override { return value_.size(); }
  const Generation& generation() const override { return generation_; }
  Result<bool> read(ByteRange range, Bytes& out) override {
    ASSIGN_OR_RETURN(auto bounds, range.Resolve(value_.size(), "(reader)"));
    out.assign(value_.begin() + static_cast<ptrdiff_t>(bounds.first),
               value_.begin() + static_cast<ptrdiff_t>(bounds.second));
    return true;
  }

 private:
  Bytes value_;
  Generation generation_;
};

// Ranges read with get_if() conditioned on the generation seen at open.
class ConditionalReader final : public ValueReader {
 public:
  ConditionalReader(Store* store, std::string key, uint64_t size, Generation generation)
      : store_(store), key_(std::move(key)), size_(size), generation_(std::move(generation)) {}
  uint64_t size() const override { return size_; }
  const Generation& generation() const override { return generation_; }
  Result<bool> read(ByteRange range, Bytes& out) override {
    ASSIGN_OR_RETURN(auto bounds, range.Resolve(size_, key_));
    ASSIGN_OR_RETURN(
        ReadResult r,
        store_->get_if(key_, ByteRange::Bounded(bounds.first, bounds.second), out, &generation_));
    return r.found && r.condition_met;
  }

 private:
  Store* store_;
  std::string key_;
  uint64_t size_;
  Generation generation_;
};

}  // namespace

Result<std::unique_ptr<ValueReader>> Store::open_reader(std::string_view key) {
  if (!capabilities().generations) {
    Bytes value;
    ASSIGN_OR_RETURN(bool found, get_into(key, ByteRange::Whole(), value));
    if (!found) return std::unique_ptr<ValueReader>();
    return std::unique_ptr<ValueReader>(new BufferedReader(std::move(value)));
  }
  // The size and the generation must describe one version: read an empty range with the
  // generation, then the size conditioned on it.
  for (int attempt = 0; attempt < 64; ++attempt) {
    Bytes none;
    ASSIGN_OR_RETURN(ReadResult r, get_if(key, ByteRange::Bounded(0, 0), none));
    if (!r.found) return std::unique_ptr<ValueReader>();
    ASSIGN_OR_RETURN(std::optional<uint64_t> n, size(key));
    if (!n) return std::unique_ptr<ValueReader>();
    ASSIGN_OR_RETURN(Generation now, generation(key));
    if (now == r.generation) {
      return std::unique_ptr<ValueReader>(
          new ConditionalReader(this, std::string(key), *n, std::move(r.generation)));
    }
  }
  return Status::IOError("open_reader of key " + QuoteKey(key) +
                         ": the value kept changing while being opened");
}

namespace {
Status ConditionsUnsupported(std::string_view op, std::string_view key, const Store& store) {
  return Status::Unsupported(std::string(op) + " of key " + QuoteKey(key) +
                             " with a condition: store " + store.description() +
                             " does not support conditional writes");
}
}  // namespace

Result<std::optional<Generation>> Store::set_if(std::string_view key,
                                                std::span<const ByteView> pieces,
                                                const WriteConditions& conditions) {
  if (conditions.if_equal) return ConditionsUnsupported("set", key, *this);
  RETURN_IF_ERROR(set_gather(key, pieces));
  return std::optional<Generation>(Generation::Unknown());
}

Result<bool> Store::erase_if(std::string_view key, const WriteConditions& conditions) {
  if (conditions.if_equal) return ConditionsUnsupported("erase", key, *this);
  RETURN_IF_ERROR(erase(key));
  return true;
}

Result<std::optional<Generation>> Store::patch_if(std::string_view key,
                                                  std::span<const RangeWrite> writes,
                                                  const WriteConditions& conditions) {
  if (conditions.if_equal) return ConditionsUnsupported("patch", key, *this);
  for (const RangeWrite& w : writes) RETURN_IF_ERROR(set_range(key, w.offset, w.bytes));
  return std::optional<Generation>(Generation::Unknown());
}

Result<std::unique_ptr<KeyLock>> Store::lock(std::string_view key) {
  RETURN_IF_ERROR(ValidateKey(key));
  return Status::Unsupported("lock of key " + QuoteKey(key) + ": store " + description() +
                             " has no key locks");
}

Status ValidateKey(std::string_view key) {
  return ValidateKeyAs("key", key, key);
}

Status ValidatePrefix(std::string_view prefix) {
  if (prefix.empty()) return Status::OK();
  if (prefix.back() != '/')
    return InvalidKey("prefix", prefix, "a prefix must be \"\" or end with '/'");
  Status s = ValidateKeyAs("prefix", prefix.substr(0, prefix.size() - 1), prefix);
  return s;
}

}  // namespace zarrpp
