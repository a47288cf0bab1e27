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

struct hw_thread_counts {
    // The thread's slot in the live table (AgentLive.h), or `own` when the table is full or the thread has ended;
    // set before mode becomes HW_COUNTING.
    highwater_agent_counters *c;
    highwater_agent_counters own;
    // Bytes still to allocate before the next sample; below 0, the slow path samples and draws anew.
    int64_t until_sample;
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

// Python frames (AgentPython.c). The events file's other kinds are in AgentSampling.c. A CODE record names a code
// object (`ptr` its id; after it, words of lengths, then its qualified name, file name and line table); a PYTHON record
// says an interpreter was found (`ptr` its Py_Version, `size` the state and flags below), before the first sample
// that could carry its frames.
enum { HW_EVENT_PYTHON_CODE = 7, HW_EVENT_PYTHON = 8 };
#define HW_PYTHON_ONLY (1u << 8)      // HIGHWATER_AGENT_PYTHON=only: folded stacks keep the Python frames alone
#define HW_PYTHON_PYMALLOC (1u << 9)  // pymalloc serves small objects: they never reach malloc
// A Python frame in a stack: above every user-space address. Bits 54-24 the code object's id, 23-0 the instruction
// (code units); ENTRY marks the outermost frame run by one native activation of the evaluation loop.
#define HW_PYTHON_TAG 0xFE00000000000000ull
#define HW_PYTHON_ENTRY (1ull << 55)
#define HW_PYTHON_MAX_FRAMES 64

struct hw_python_frame {
    uintptr_t code;        // 0: an evaluation loop whose frame has not started
    uint32_t instruction;
    int entry;
};
struct hw_python_stack {
    int count;
    struct hw_python_frame frames[HW_PYTHON_MAX_FRAMES];
};
typedef void (*hw_python_append_fn)(uint32_t kind, uint64_t ptr, uint64_t size, const uint64_t *words, int count);
/// The calling thread's Python frames, innermost first, when it holds the GIL of a supported interpreter (else none).
/// Reads memory only: no lock, no allocation.
HW_HIDDEN void hw_python_capture(struct hw_python_stack *s);
/// Under the agent's lock: the frames as stack words into out (at most room), each new code object's CODE record
/// (and once the PYTHON record) written first through append. Returns the words written.
HW_HIDDEN int hw_python_words_locked(const struct hw_python_stack *s, void **out, int room, hw_python_append_fn append);

/// Whether a Python interpreter is tearing itself down (Py_FinalizeEx, after atexit): its frees of what the program
/// still held are left unrecorded, so a Python program's retained memory is what it held when it began to exit.
HW_HIDDEN int hw_python_exiting(void);

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
