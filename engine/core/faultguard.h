#pragma once
/// Reading a mapped file that another process truncates raises SIGBUS. Every read of mapped
/// tensor bytes runs inside guardedRead(): a SIGBUS on this thread while the guard is active
/// unwinds to the guard (siglongjmp) and becomes an Error instead of a crash.
///
/// Rule for the guarded function: it may only read memory and write into storage that exists
/// before the call (no allocation, no locks, no objects with destructors created inside),
/// because a fault skips the rest of it without running destructors.
#include "result.h"

#include <string_view>
#include <type_traits>

namespace qs::core {

/// Runs fn(ctx). Returns Truncated with "`origin`: the file shrank while it was being read"
/// if a SIGBUS happened. Installs the process-wide SIGBUS handler on first use; a SIGBUS
/// outside any guard keeps its default action.
Status guardedRead(std::string_view origin, void (*fn)(void* ctx), void* ctx);

/// Convenience wrapper for a lambda; the same rule applies to the lambda's body.
template <class F>
Status guarded(std::string_view origin, F&& f)
{
    return guardedRead(origin, [](void* c) { (*static_cast<std::remove_reference_t<F>*>(c))(); }, &f);
}

} // namespace qs::core
