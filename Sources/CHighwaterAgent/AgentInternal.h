#ifndef HIGHWATER_AGENT_INTERNAL_H
#define HIGHWATER_AGENT_INTERNAL_H

// Shared between the agent's files: the per-thread state and the sampling entry points.
#include "HighwaterAgent.h"
#include "AgentLiveLayout.h"
#include <stddef.h>
#include <stdint.h>

#define HW_HIDDEN __attribute__((visibility("hidden")))
#define HW_EXPORT __attribute__((visibility("default")))
// Initial-exec: the agent is loaded at start-up, so its thread-locals sit in the static TLS block
// and are reached without __tls_get_addr, which may itself allocate.
#define HW_TLS __thread __attribute__((tls_model("initial-exec")))

enum { HW_COUNTING = 0, HW_UNREGISTERED = 1, HW_EXITED = 2 };

// until_sample of a thread not counting (ended): every allocation takes the slow path.
#define HW_ALWAYS_SLOW (INT64_MIN / 2)

struct hw_thread_counts {
    // The thread's slot in the live table (AgentLive.h), or `own` when the table is full; NULL before the thread
    // registers and after it ends, which sends its frees to the slow path.
    highwater_agent_counters *c;
    highwater_agent_counters own;
    // Bytes still to allocate before the next sample; below 0, the slow path samples and draws anew. Also below 0
    // before the thread registers (0 less the first block) and after it ends (HW_ALWAYS_SLOW).
    int64_t until_sample;
    // An ended thread's draw, which its slow path swaps in around hw_sample.
    int64_t after_exit_until;
    int mode;        // HW_COUNTING, or why not yet (HW_UNREGISTERED) or no longer (HW_EXITED)
    int slot;        // index in the registry; -1 when the registry was full
    int busy;        // inside the agent's own sampling: allocations made there are counted, never sampled
    int32_t tid;
    uint64_t random;
    // The request the thread serves, plus one (0: none), as the host last said (highwater_agent_serving), and the
    // one the events file last heard of for this thread: a REQUEST record is written only when they differ.
    uint64_t request;
    uint64_t request_written;
};

HW_HIDDEN extern HW_TLS struct hw_thread_counts hw_self;

/// Whether any sampled block is live: frees look a pointer up only then.
HW_HIDDEN extern uint64_t hw_sampled_live;

// A bit per hash of every address ever sampled, never cleared: a free whose bit is clear was never sampled and
// leaves the sampling alone. While any sampled block is live (in a server, always) free would otherwise take the
// slow path every time, to look up in the table blocks that were, nearly all, never sampled. 128 KiB, resident only
// where touched. Set before malloc returns the block, so a free of it (after any hand-off) sees the bit.
#define HW_SAMPLED_BITS (1u << 20)
HW_HIDDEN extern uint64_t hw_sampled_bits[HW_SAMPLED_BITS / 64];

static inline uint32_t hw_bit_of(uintptr_t p) { return (uint32_t)(((uint64_t)(p >> 4) * 0x9E3779B97F4A7C15ull) >> 44); }

static inline int hw_maybe_sampled(uintptr_t p) {
    uint32_t b = hw_bit_of(p);
    return (int)((__atomic_load_n(&hw_sampled_bits[b >> 6], __ATOMIC_RELAXED) >> (b & 63)) & 1);
}

/// Reads HIGHWATER_AGENT_OUT and HIGHWATER_AGENT_SAMPLE_BYTES and opens the events file.
HW_HIDDEN void hw_sampling_start(void);
/// A thread that may have sampled is ending (its unwinder's cache goes with it).
HW_HIDDEN void hw_sampling_thread_exit(struct hw_thread_counts *t);
/// Writes the buffered samples out (the caller is busy, outside the agent's lock).
HW_HIDDEN void hw_sampling_checkpoint(void);
/// The thread crossed its sampling threshold with block p of `size` usable bytes.
HW_HIDDEN void hw_sample(struct hw_thread_counts *t, void *p, size_t size);
/// p, about to be freed, may be a sampled block: its bit is set (hw_maybe_sampled, which the caller tests first).
HW_HIDDEN void hw_sample_free(struct hw_thread_counts *t, void *p, size_t size);

/// Every thread's counters, mapped from DIR/PID.shm when HIGHWATER_AGENT_SHM is set (AgentLive.c).
HW_HIDDEN extern struct hw_live_table hw_live;
/// Maps DIR/PID.shm over the table when HIGHWATER_AGENT_SHM is set (the constructor, before sampling starts).
HW_HIDDEN void hw_live_start(void);
/// The parent's request, served from an allocation of thread t outside every lock (the allocation slow path).
HW_HIDDEN void hw_live_serve(struct hw_thread_counts *t);
/// retired plus every claimed slot, consistent with threads that end meanwhile.
HW_HIDDEN void hw_live_totals(highwater_agent_counters *out);
/// Adds counts to the ended threads' total (`retired`), where an ended thread also counts its last frees.
HW_HIDDEN void hw_live_add_retired(const highwater_agent_counters *c);
/// A thread's counts (in `slot`, or its own when -1) go to `retired` and its slot is freed: the thread ended, or
/// did not cross a fork.
HW_HIDDEN void hw_live_retire(int slot, const highwater_agent_counters *c);
/// The decimal digits of a PID, without printf (the agent also writes them in a forked child); returns the length.
HW_HIDDEN int hw_pid_text(int pid, char out[16]);

#endif
