// stores/s3/s3_util.h - the pieces of the S3 protocol the S3 store needs besides HTTP:
// URI encoding of keys and query values, the small XML documents S3 exchanges (listings,
// errors, DeleteObjects and multipart results), Content-MD5, credentials files and s3:// URLs.
//
// All functions are pure (no I/O except ReadCredentialsFile) and thread-safe.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "zarrpp/bytes.h"
#include "zarrpp/s3_store.h"
#include "zarrpp/status.h"

namespace zarrpp::s3 {

// RFC 3986 percent-encoding as S3 canonicalizes it: unreserved characters (A-Z a-z 0-9 - . _ ~)
// stay, every other byte is %XX (upper-case hex); "/" stays when keep_slash.
std::string UriEncode(std::string_view s, bool keep_slash);
// Decodes %XX escapes (and "+" as a space when plus_is_space). Malformed escapes stay as they are.
std::string UriDecode(std::string_view s, bool plus_is_space = false);

// The text of every <tag>...</tag> element in `xml` (not nested in a same-named element), with
// the five predefined entities and numeric character references decoded.
std::vector<std::string> XmlAll(std::string_view xml, std::string_view tag);
// The first one, or nullopt.
std::optional<std::string> XmlFirst(std::string_view xml, std::string_view tag);
// The raw inner text of every <tag>...</tag> block (entities not decoded), for nested queries.
std::vector<std::string_view> XmlBlocks(std::string_view xml, std::string_view tag);
std::string XmlEscape(std::string_view s);

// base64(MD5(concatenation of pieces)), the Content-MD5 header value.
std::string ContentMd5(std::span<const ByteView> pieces);

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
};

// Parses the text of an AWS shared credentials file and returns the named profile's keys, or
// nullopt when the profile is absent or lacks aws_access_key_id / aws_secret_access_key.
// Sections are "[name]" (or "[profile name]"); "#" and ";" start comment lines.
std::optional<Credentials> ParseCredentialsFile(std::string_view text, std::string_view profile);

// Credentials resolved as S3StoreOptions documents: options, then the environment, then the
// profile in the shared credentials file; nullopt: anonymous.
Result<std::optional<Credentials>> ResolveCredentials(const S3StoreOptions& options);

// Fills bucket, prefix, endpoint, region, addressing and profile from an
// "s3://bucket/prefix?endpoint=..&region=..&addressing=path|virtual&profile=.." URL.
Status ParseS3Url(std::string_view url, S3StoreOptions& options);

}  // namespace zarrpp::s3
