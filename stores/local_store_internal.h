// stores/local_store_internal.h - test hooks of LocalStore.
#pragma once

namespace zarrpp::internal {

// Whether LocalStore resolves paths with openat2 (true, the default where the kernel has it) or
// with its fallback (a component walk with O_NOFOLLOW; for reads, a check of the opened file's
// path), so tests can run the containment checks both ways. Process-wide.
void SetLocalStoreUsesOpenat2(bool use);

}  // namespace zarrpp::internal
