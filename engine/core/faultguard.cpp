#include "faultguard.h"

#include <csetjmp>
#include <csignal>
#include <mutex>
#include <string>

namespace qs::core {

namespace {

// Per thread: where to jump back to, and whether a guard is active on this thread.
thread_local sigjmp_buf t_jump;
thread_local volatile sig_atomic_t t_active = 0;

void onSigbus(int sig, siginfo_t*, void*)
{
    if (t_active) {
        t_active = 0;
        siglongjmp(t_jump, 1);
    }
    // Not ours: restore the default action and let the signal kill the process as usual.
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, nullptr);
    raise(sig);
}

void installHandler()
{
    static std::once_flag once;
    std::call_once(once, [] {
        struct sigaction sa {};
        sa.sa_sigaction = onSigbus;
        sa.sa_flags = SA_SIGINFO | SA_NODEFER;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGBUS, &sa, nullptr);
    });
}

} // namespace

Status guardedRead(std::string_view origin, void (*fn)(void* ctx), void* ctx)
{
    installHandler();
    if (t_active) { // nested guard: the outer one catches the fault
        fn(ctx);
        return {};
    }
    if (sigsetjmp(t_jump, 1) != 0)
        return Error{ErrorCode::Truncated,
                     std::string(origin) + ": the file shrank while it was being read"};
    t_active = 1;
    fn(ctx);
    t_active = 0;
    return {};
}

} // namespace qs::core
