// stores/s3/s3_util.cc - URI encoding, XML, Content-MD5, credentials and s3:// URLs.
#include "stores/s3/s3_util.h"

#include <openssl/evp.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "src/types/utf8.h"

namespace zarrpp::s3 {

namespace {

bool Unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string XmlUnescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out += s[i];
      continue;
    }
    const size_t semi = s.find(';', i);
    if (semi == std::string_view::npos || semi - i > 12) {
      out += s[i];
      continue;
    }
    std::string_view ent = s.substr(i + 1, semi - i - 1);
    if (ent == "amp") {
      out += '&';
    } else if (ent == "lt") {
      out += '<';
    } else if (ent == "gt") {
      out += '>';
    } else if (ent == "quot") {
      out += '"';
    } else if (ent == "apos") {
      out += '\'';
    } else if (ent.size() > 1 && ent[0] == '#') {
      uint32_t cp = 0;
      bool hex = ent[1] == 'x' || ent[1] == 'X';
      bool good = ent.size() > (hex ? 2u : 1u);
      for (size_t k = hex ? 2 : 1; k < ent.size() && good; ++k) {
        int v = hex ? HexValue(ent[k])
                    : (std::isdigit(static_cast<unsigned char>(ent[k])) ? ent[k] - '0' : -1);
        if (v < 0 || cp > 0x10FFFF) {
          good = false;
          break;
        }
        cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(v);
      }
      if (!good) {
        out += s[i];
        continue;
      }
      internal::AppendUtf8(out, cp);
    } else {
      out += s[i];
      continue;
    }
    i = semi;
  }
  return out;
}

// "<tag>" or "</tag>".
std::string Tag(std::string_view tag, bool closing) {
  std::string out;
  out.reserve(tag.size() + 3);
  out.push_back('<');
  if (closing) out.push_back('/');
  out.append(tag);
  out.push_back('>');
  return out;
}

}  // namespace

std::string UriEncode(std::string_view s, bool keep_slash) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3 / 2);
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (Unreserved(c) || (keep_slash && c == '/')) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string UriDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      i += 2;
    } else if (plus_is_space && s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

std::vector<std::string_view> XmlBlocks(std::string_view xml, std::string_view tag) {
  std::vector<std::string_view> out;
  const std::string open = Tag(tag, false);
  const std::string close = Tag(tag, true);
  size_t pos = 0;
  while (true) {
    size_t a = xml.find(open, pos);
    if (a == std::string_view::npos) break;
    a += open.size();
    size_t b = xml.find(close, a);
    if (b == std::string_view::npos) break;
    out.push_back(xml.substr(a, b - a));
    pos = b + close.size();
  }
  return out;
}

std::vector<std::string> XmlAll(std::string_view xml, std::string_view tag) {
  std::vector<std::string> out;
  for (std::string_view block : XmlBlocks(xml, tag)) out.push_back(XmlUnescape(block));
  return out;
}

std::optional<std::string> XmlFirst(std::string_view xml, std::string_view tag) {
  const std::string open = Tag(tag, false);
  const std::string close = Tag(tag, true);
  size_t a = xml.find(open);
  if (a == std::string_view::npos) return std::nullopt;
  a += open.size();
  size_t b = xml.find(close, a);
  if (b == std::string_view::npos) return std::nullopt;
  return XmlUnescape(xml.substr(a, b - a));
}

std::string XmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += "&#" + std::to_string(static_cast<int>(c)) + ";";
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string ContentMd5(std::span<const ByteView> pieces) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_md5(), nullptr);
  for (ByteView p : pieces) EVP_DigestUpdate(ctx, p.data(), p.size());
  EVP_DigestFinal_ex(ctx, digest, &len);
  EVP_MD_CTX_free(ctx);
  unsigned char b64[64];
  const int n = EVP_EncodeBlock(b64, digest, static_cast<int>(len));
  return std::string(reinterpret_cast<char*>(b64), static_cast<size_t>(n));
}

std::optional<Credentials> ParseCredentialsFile(std::string_view text, std::string_view profile) {
  Credentials c;
  bool in_section = false, found = false;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = Trim(text.substr(pos, eol - pos));
    pos = eol + 1;
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[') {
      if (line.back() != ']') {
        in_section = false;
        continue;
      }
      std::string_view name = Trim(line.substr(1, line.size() - 2));
      if (name.starts_with("profile ")) name = Trim(name.substr(8));
      in_section = name == profile;
      found = found || in_section;
      continue;
    }
    if (!in_section) continue;
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view k = Trim(line.substr(0, eq));
    std::string_view v = Trim(line.substr(eq + 1));
    if (k == "aws_access_key_id") c.access_key_id = v;
    if (k == "aws_secret_access_key") c.secret_access_key = v;
    if (k == "aws_session_token") c.session_token = v;
  }
  if (!found || c.access_key_id.empty() || c.secret_access_key.empty()) return std::nullopt;
  return c;
}

Result<std::optional<Credentials>> ResolveCredentials(const S3StoreOptions& options) {
  if (options.anonymous) return std::optional<Credentials>();
  if (!options.access_key_id.empty()) {
    if (options.secret_access_key.empty())
      return Status::InvalidArgument(
          "S3 store: access_key_id is set but secret_access_key is empty");
    return std::optional<Credentials>(
        Credentials{options.access_key_id, options.secret_access_key, options.session_token});
  }
  auto env = [](const char* name) -> std::string {
    const char* v = std::getenv(name);
    return v ? std::string(v) : std::string();
  };
  // An explicit profile takes precedence over the key variables, as in the AWS tools.
  if (options.profile.empty()) {
    std::string id = env("AWS_ACCESS_KEY_ID"), secret = env("AWS_SECRET_ACCESS_KEY");
    if (!id.empty() && !secret.empty()) {
      return std::optional<Credentials>(Credentials{id, secret, env("AWS_SESSION_TOKEN")});
    }
  }
  std::string profile = options.profile;
  if (profile.empty()) profile = env("AWS_PROFILE");
  if (profile.empty()) profile = "default";
  std::string file = env("AWS_SHARED_CREDENTIALS_FILE");
  if (file.empty()) {
    std::string home = env("HOME");
    if (!home.empty()) file = home + "/.aws/credentials";
  }
  if (!file.empty()) {
    std::ifstream in(file, std::ios::binary);
    if (in) {
      std::ostringstream text;
      text << in.rdbuf();
      if (auto c = ParseCredentialsFile(text.str(), profile)) return std::optional<Credentials>(*c);
    }
  }
  if (!options.profile.empty()) {
    return Status::NotFound("S3 store: profile '" + options.profile +
                            "' has no aws_access_key_id / aws_secret_access_key in '" + file + "'");
  }
  return std::optional<Credentials>();
}

Status ParseS3Url(std::string_view url, S3StoreOptions& options) {
  if (!url.starts_with("s3://"))
    return Status::InvalidArgument("S3 URL '" + std::string(url) + "' does not start with s3://");
  std::string_view rest = url.substr(5);
  std::string_view query;
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  const size_t slash = rest.find('/');
  options.bucket = std::string(rest.substr(0, slash));
  if (options.bucket.empty())
    return Status::InvalidArgument("S3 URL '" + std::string(url) + "' names no bucket");
  options.prefix = slash == std::string_view::npos ? "" : UriDecode(rest.substr(slash + 1));
  while (!options.prefix.empty() && options.prefix.back() == '/') options.prefix.pop_back();
  if (!options.prefix.empty()) options.prefix += '/';
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view item = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    std::string name = UriDecode(item.substr(0, eq), true);
    std::string value = eq == std::string_view::npos ? "" : UriDecode(item.substr(eq + 1), true);
    if (name == "endpoint") {
      options.endpoint = value;
    } else if (name == "region") {
      options.region = value;
    } else if (name == "profile") {
      options.profile = value;
    } else if (name == "addressing") {
      if (value == "path") {
        options.addressing = S3StoreOptions::Addressing::kPath;
      } else if (value == "virtual") {
        options.addressing = S3StoreOptions::Addressing::kVirtual;
      } else if (value == "auto") {
        options.addressing = S3StoreOptions::Addressing::kAuto;
      } else {
        return Status::InvalidArgument("S3 URL parameter addressing='" + value +
                                       "': expected path, virtual or auto");
      }
    } else {
      return Status::InvalidArgument("S3 URL parameter '" + name +
                                     "' is unknown (endpoint, region, addressing, profile)");
    }
  }
  return Status::OK();
}

}  // namespace zarrpp::s3
