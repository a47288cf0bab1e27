#ifndef HIGHWATER_AGENT_H
#define HIGHWATER_AGENT_H

#include <stdint.h>

// The allocation agent, built as libHighwaterAgent.so and preloaded (LD_PRELOAD) into a process:
// it interposes malloc and its family, forwards every call to glibc's own allocator (__libc_malloc
// and friends, so blocks get no header and glibc's arenas behave as without it), and keeps
// per-thread counters. The host finds these entry points with dlsym(RTLD_DEFAULT, …), so it
// runs the same with and without the agent.

/// Counts since the thread (or the process) started. Sizes are malloc_usable_size of each block,
/// so what a thread allocates and frees balances to the byte.
typedef struct {
    uint64_t allocs;       // malloc, calloc, the aligned family, and realloc to a new block
    uint64_t alloc_bytes;  // usable bytes of the blocks handed out
    uint64_t frees;        // free, and realloc of an old block
    uint64_t freed_bytes;  // usable bytes of the blocks given back
} highwater_agent_counters;

/// The calling thread's counters.
void highwater_agent_thread_counters(highwater_agent_counters *out);

/// The sum over every thread, those that ended included. Other threads' counts are read while they
/// run, so the sum is as of about now, not one instant.
void highwater_agent_total_counters(highwater_agent_counters *out);

/// The calling thread now serves request `request` (the host's number for it), or none (-1): the allocations
/// sampled on this thread until the next call are that request's. One store to a thread-local.
void highwater_agent_serving(int64_t request);

/// Writes the sampled allocations buffered so far to HIGHWATER_AGENT_OUT and the process's memory map
/// to HIGHWATER_AGENT_OUT.maps (also done at exit). Nothing when sampling is off.
void highwater_agent_flush(void);


#endif
