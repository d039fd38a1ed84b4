// The S3 protocol pieces that need no server: credentials files and their resolution, s3:// URLs,
// URI encoding of keys, the XML S3 answers with, Content-MD5.
#include "stores/s3/s3_util.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

#define ZARRPP_STORE_CONFORMANCE_HELPERS_ONLY  // MakeTempDir only, not the suite
#include "support/store_conformance.h"

namespace {

using zarrpp::S3StoreOptions;
namespace s3 = zarrpp::s3;

constexpr const char* kCredentials = R"(# a comment
[default]
aws_access_key_id = AKDEFAULT
aws_secret_access_key=secret/default+1

; another comment
[profile work]
aws_access_key_id   =  AKWORK
aws_secret_access_key = secretwork
aws_session_token = token==
region = eu-west-1

[incomplete]
aws_access_key_id = AKONLY
)";

TEST(S3Credentials, ProfilesOfASharedCredentialsFileParse) {
  auto d = s3::ParseCredentialsFile(kCredentials, "default");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->access_key_id, "AKDEFAULT");
  EXPECT_EQ(d->secret_access_key, "secret/default+1");
  EXPECT_EQ(d->session_token, "");
  auto w = s3::ParseCredentialsFile(kCredentials, "work");
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->access_key_id, "AKWORK");
  EXPECT_EQ(w->secret_access_key, "secretwork");
  EXPECT_EQ(w->session_token, "token==");
  EXPECT_FALSE(s3::ParseCredentialsFile(kCredentials, "incomplete").has_value());
  EXPECT_FALSE(s3::ParseCredentialsFile(kCredentials, "missing").has_value());
  EXPECT_FALSE(s3::ParseCredentialsFile("", "default").has_value());
  EXPECT_FALSE(s3::ParseCredentialsFile("[default\naws_access_key_id=x\n", "default").has_value());
}

// Sets environment variables for one scope and restores them.
class ScopedEnv {
 public:
  explicit ScopedEnv(std::vector<std::pair<std::string, const char*>> vars) {
    for (auto& [name, value] : vars) {
      const char* old = getenv(name.c_str());
      saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
      if (value) {
        setenv(name.c_str(), value, 1);
      } else {
        unsetenv(name.c_str());
      }
    }
  }
  ~ScopedEnv() {
    for (auto& [name, value] : saved_) {
      if (value) {
        setenv(name.c_str(), value->c_str(), 1);
      } else {
        unsetenv(name.c_str());
      }
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

TEST(S3Credentials, ResolutionOrderIsOptionsThenEnvironmentThenProfile) {
  const std::string dir = zarrpp::testing::MakeTempDir("s3cred");
  const std::string file = dir + "/credentials";
  std::ofstream(file) << kCredentials;
  {
    ScopedEnv env({{"AWS_SHARED_CREDENTIALS_FILE", file.c_str()},
                   {"AWS_ACCESS_KEY_ID", nullptr},
                   {"AWS_SECRET_ACCESS_KEY", nullptr},
                   {"AWS_SESSION_TOKEN", nullptr},
                   {"AWS_PROFILE", nullptr}});
    S3StoreOptions o;
    auto c = s3::ResolveCredentials(o);
    ASSERT_TRUE(c.ok()) << c.status();
    ASSERT_TRUE(c->has_value());
    EXPECT_EQ((*c)->access_key_id, "AKDEFAULT");
    {
      ScopedEnv profile({{"AWS_PROFILE", "work"}, {"AWS_ACCESS_KEY_ID", nullptr}});
      auto w = s3::ResolveCredentials(o);
      ASSERT_TRUE(w.ok() && w->has_value());
      EXPECT_EQ((*w)->access_key_id, "AKWORK");
      EXPECT_EQ((*w)->session_token, "token==");
    }
    {
      ScopedEnv keys({{"AWS_ACCESS_KEY_ID", "AKENV"},
                      {"AWS_SECRET_ACCESS_KEY", "secretenv"},
                      {"AWS_SESSION_TOKEN", "tokenenv"}});
      auto e = s3::ResolveCredentials(o);
      ASSERT_TRUE(e.ok() && e->has_value());
      EXPECT_EQ((*e)->access_key_id, "AKENV");
      EXPECT_EQ((*e)->session_token, "tokenenv");
      // An explicit profile wins over the key variables; options win over everything.
      S3StoreOptions p;
      p.profile = "work";
      EXPECT_EQ((*s3::ResolveCredentials(p))->access_key_id, "AKWORK");
      S3StoreOptions given;
      given.access_key_id = "AKGIVEN";
      given.secret_access_key = "s";
      EXPECT_EQ((*s3::ResolveCredentials(given))->access_key_id, "AKGIVEN");
      S3StoreOptions anonymous;
      anonymous.anonymous = true;
      EXPECT_FALSE(s3::ResolveCredentials(anonymous)->has_value());
    }
    S3StoreOptions missing;
    missing.profile = "nope";
    auto m = s3::ResolveCredentials(missing);
    EXPECT_TRUE(m.status().IsNotFound()) << m.status();
    EXPECT_NE(m.status().message().find("nope"), std::string::npos);
    EXPECT_EQ(m.status().message().find("secretwork"), std::string::npos) << m.status();
    EXPECT_EQ(m.status().message().find("secret/default"), std::string::npos) << m.status();
    S3StoreOptions half;
    half.access_key_id = "AK";
    EXPECT_TRUE(s3::ResolveCredentials(half).status().IsInvalidArgument());
  }
  {
    // No file, no variables: anonymous.
    ScopedEnv env({{"AWS_SHARED_CREDENTIALS_FILE", (dir + "/none").c_str()},
                   {"AWS_ACCESS_KEY_ID", nullptr},
                   {"AWS_SECRET_ACCESS_KEY", nullptr},
                   {"AWS_PROFILE", nullptr}});
    auto c = s3::ResolveCredentials(S3StoreOptions{});
    ASSERT_TRUE(c.ok());
    EXPECT_FALSE(c->has_value());
  }
}

TEST(S3Url, BucketPrefixAndQueryParameters) {
  S3StoreOptions o;
  ASSERT_TRUE(s3::ParseS3Url("s3://bkt/some/prefix?endpoint=http%3A%2F%2F127.0.0.1%3A7480&region="
                             "eu-west-1&addressing=path&profile=work",
                             o)
                  .ok());
  EXPECT_EQ(o.bucket, "bkt");
  EXPECT_EQ(o.prefix, "some/prefix/");
  EXPECT_EQ(o.endpoint, "http://127.0.0.1:7480");
  EXPECT_EQ(o.region, "eu-west-1");
  EXPECT_EQ(o.profile, "work");
  EXPECT_EQ(o.addressing, S3StoreOptions::Addressing::kPath);

  S3StoreOptions plain;
  ASSERT_TRUE(s3::ParseS3Url("s3://bkt", plain).ok());
  EXPECT_EQ(plain.prefix, "");
  ASSERT_TRUE(s3::ParseS3Url("s3://bkt/p/?addressing=virtual&endpoint=http://h:1", plain).ok());
  EXPECT_EQ(plain.prefix, "p/");
  EXPECT_EQ(plain.endpoint, "http://h:1");
  EXPECT_EQ(plain.addressing, S3StoreOptions::Addressing::kVirtual);

  S3StoreOptions bad;
  EXPECT_TRUE(s3::ParseS3Url("http://bkt/p", bad).IsInvalidArgument());
  EXPECT_TRUE(s3::ParseS3Url("s3:///p", bad).IsInvalidArgument());
  auto unknown = s3::ParseS3Url("s3://b/p?colour=red", bad);
  EXPECT_TRUE(unknown.IsInvalidArgument());
  EXPECT_NE(unknown.message().find("colour"), std::string::npos) << unknown;
  EXPECT_TRUE(s3::ParseS3Url("s3://b/p?addressing=sideways", bad).IsInvalidArgument());
}

TEST(S3Encoding, KeysAreUriEncodedAsS3CanonicalizesThem) {
  EXPECT_EQ(s3::UriEncode("a/b c/d+e", true), "a/b%20c/d%2Be");
  EXPECT_EQ(s3::UriEncode("a/b", false), "a%2Fb");
  EXPECT_EQ(s3::UriEncode("AZaz09-._~", false), "AZaz09-._~");
  EXPECT_EQ(s3::UriEncode("\xc3\xa9?=&#%", true), "%C3%A9%3F%3D%26%23%25");
  EXPECT_EQ(s3::UriDecode("a%2Fb%20c+d"), "a/b c+d");
  EXPECT_EQ(s3::UriDecode("a+b", true), "a b");
  EXPECT_EQ(s3::UriDecode("bad%zz%4"), "bad%zz%4");
}

TEST(S3Xml, ListingsErrorsAndEntities) {
  const std::string xml =
      "<ListBucketResult><IsTruncated>true</IsTruncated>"
      "<Contents><Key>a/x&amp;y</Key><Size>3</Size></Contents>"
      "<Contents><Key>a/&#233;&#x41;&lt;</Key></Contents>"
      "<CommonPrefixes><Prefix>a/b/</Prefix></CommonPrefixes>"
      "<NextContinuationToken>tok/+=</NextContinuationToken></ListBucketResult>";
  std::vector<std::string> keys;
  for (std::string_view block : s3::XmlBlocks(xml, "Contents"))
    keys.push_back(s3::XmlFirst(block, "Key").value_or(""));
  EXPECT_EQ(keys, (std::vector<std::string>{"a/x&y",
                                            "a/\xc3\xa9"
                                            "A<"}));
  EXPECT_EQ(s3::XmlAll(xml, "Prefix"), std::vector<std::string>{"a/b/"});
  EXPECT_EQ(s3::XmlFirst(xml, "NextContinuationToken"), "tok/+=");
  EXPECT_EQ(s3::XmlFirst(xml, "Missing"), std::nullopt);
  EXPECT_EQ(s3::XmlFirst("<Code>unterminated", "Code"), std::nullopt);
  EXPECT_EQ(s3::XmlEscape("a&b<c>\"d'"), "a&amp;b&lt;c&gt;&quot;d&apos;");
}

TEST(S3Integrity, ContentMd5IsTheBase64OfTheDigestOfAllPieces) {
  const std::string a = "hello ", b = "world";
  const std::vector<zarrpp::ByteView> pieces = {zarrpp::AsBytes(a), zarrpp::AsBytes(b)};
  EXPECT_EQ(s3::ContentMd5(pieces), "XrY7u+Ae7tCTyyK7j1rNww==");  // md5("hello world")
  EXPECT_EQ(s3::ContentMd5({}), "1B2M2Y8AsgTpgAmY7PhCfg==");      // md5("")
}

}  // namespace
