// stores/local_store_internal.h - test hooks of LocalStore.
#pragma once

namespace zarrpp::internal {

// Whether LocalStore resolves paths with openat2 (true, the default where the kernel has it) or
// with its fallback (a component walk with O_NOFOLLOW; for reads, a check of the opened file's
// path), so tests can run the containment checks both ways. Process-wide.
void SetLocalStoreUsesOpenat2(bool use);

// Whether the mark an in-place patch sets on a file (its sticky bit) is kept. False makes
// LocalStore behave as on a file system that ignores mode changes, where patches are applied
// by rewriting the whole value instead. Process-wide.
void SetLocalStoreKeepsPatchMarks(bool keep);

}  // namespace zarrpp::internal
