/*
 * uml-xstate.so: preloaded into linux.uml by lab-run, so that Debian 12's
 * User-Mode Linux (6.1) boots on hosts whose CPUs have large XSAVE areas.
 *
 * Why: UML saves and restores the FPU registers of its processes with
 * PTRACE_GETREGSET/PTRACE_SETREGSET(NT_X86_XSTATE) on a buffer of its own,
 * sized for x87, SSE and AVX (struct _xstate, 832 bytes).  The host kernel
 * accepts a short buffer for GETREGSET (it copies what fits) but refuses a
 * SETREGSET that is not exactly the host's whole user XSAVE size with EFAULT.
 * On a host with AVX-512 and AMX (11 KiB of XSAVE state) the first restore
 * fails, UML prints "userspace - ptrace set fp regs failed, errno = 14" and
 * its init dies with SIGSEGV: the lab cannot boot.  Newer UML kernels size
 * the buffer from the host; this is the same repair from outside.
 *
 * What: every ptrace() call goes through unchanged.  Only when a SETREGSET
 * of NT_X86_XSTATE fails with EFAULT, the target's whole current XSAVE area
 * is read into a buffer of the host's size, UML's bytes are laid over its
 * start (the legacy area, the header and AVX, exactly what UML manages) and
 * the whole area is written back.  The state beyond UML's 832 bytes
 * (AVX-512, AMX) is left as the host process holds it: UML 6.1 never knew
 * of it, so nothing it expects is lost.
 *
 * Only UML's kernel thread calls ptrace (it is the tracer of every guest
 * process), so one static buffer suffices and no allocation happens inside
 * UML's kernel, whose malloc is not libc's.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/uio.h>

typedef long (*ptrace_function)(enum __ptrace_request, pid_t, void *, void *);

static ptrace_function real_ptrace;

/* Larger than any x86 XSAVE area so far (AMX: about 11 KiB). */
static unsigned char whole_area[64 * 1024] __attribute__((aligned(64)));

__attribute__((constructor)) static void find_real_ptrace(void)
{
    real_ptrace = (ptrace_function)dlsym(RTLD_NEXT, "ptrace");
}

static long set_whole_xstate(pid_t pid, void *regset, const struct iovec *partial)
{
    struct iovec whole = {whole_area, sizeof whole_area};
    if (real_ptrace(PTRACE_GETREGSET, pid, regset, &whole) == -1)
        return -1;
    size_t n = partial->iov_len < whole.iov_len ? partial->iov_len : whole.iov_len;
    memcpy(whole_area, partial->iov_base, n);
    return real_ptrace(PTRACE_SETREGSET, pid, regset, &whole);
}

long ptrace(enum __ptrace_request request, ...)
{
    va_list args;
    va_start(args, request);
    pid_t pid = va_arg(args, pid_t);
    void *addr = va_arg(args, void *);
    void *data = va_arg(args, void *);
    va_end(args);

    if (real_ptrace == NULL) {
        errno = ENOSYS;
        return -1;
    }
    long result = real_ptrace(request, pid, addr, data);
    if (result == -1 && errno == EFAULT && request == PTRACE_SETREGSET &&
        (uintptr_t)addr == NT_X86_XSTATE && data != NULL) {
        int saved = errno;
        result = set_whole_xstate(pid, addr, data);
        if (result == -1)
            errno = saved;
    }
    return result;
}
