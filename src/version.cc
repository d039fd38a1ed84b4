#include "zarrpp/version.h"

namespace zarrpp {

const char* Version() {
  return ZARRPP_VERSION_STRING;
}

}  // namespace zarrpp
