#ifndef HIGHWATER_AGENT_INTERNAL_H
#define HIGHWATER_AGENT_INTERNAL_H

// Shared between the agent's files: the per-thread state and the sampling entry points.
#include "HighwaterAgent.h"
#include "AgentLiveLayout.h"
#include <stddef.h>
#include <stdint.h>
#include <time.h>

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
    // The thread's ring of events (AgentEvents.c): claimed at its first record, given up when it ends (ring_gone).
    struct hw_ring *ring;
    int ring_gone;
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

// The records of the events file, each a struct hw_event. An allocation's stack is written once, as a STACK
// record (its id in `ptr`, `depth` return addresses after it), and the allocations made from it are ALLOC_AT
// records naming the id (in the bits above the kind), so a sample costs 32 bytes, not 32 + 8 x depth. ALLOC, with
// its addresses inline, is for a stack the table has no room for (or another thread is still writing).
// An UNWINDERS record, written with every write, carries in `size` the most threads that held an unwinder's cache at once.
// A REQUEST record says that thread `tid` now serves request `ptr` - 1 (0: none); it comes before the thread's first
// sample after the host said so (highwater_agent_serving), so a sample costs nothing more while the request lasts.
enum { HW_EVENT_ALLOC = 1, HW_EVENT_FREE = 2, HW_EVENT_STACK = 3, HW_EVENT_ALLOC_AT = 4, HW_EVENT_UNWINDERS = 5,
       HW_EVENT_REQUEST = 6 };

#define HW_MAX_DEPTH 64

// One record of the events file, followed by `depth` return addresses (ALLOC and STACK). Little-endian.
struct hw_event {
    uint32_t kind_depth;  // kind in the low 8 bits; above them the depth (ALLOC, STACK) or the stack id (ALLOC_AT)
    int32_t tid;
    uint64_t ptr;         // the block; a STACK record's id
    uint64_t size;
    uint64_t t_ns;
};

// The file's header: what the parent needs to scale samples back to totals.
struct hw_events_header {
    char magic[8];        // "HWEVENT2"
    int64_t interval;     // bytes between samples on average; 0 = every allocation
    int32_t pid;
    int32_t max_depth;
};

/// The events file (AgentEvents.c), -1 when none is open.
HW_HIDDEN extern int hw_out;
/// Appends one record (`bytes` of it, then `extra_bytes` more: a stack's addresses) for thread t, which is busy
/// (inside the agent). Records reach the file in the order they were appended, across threads.
HW_HIDDEN void hw_append_record(struct hw_thread_counts *t, const void *record, size_t bytes, const void *extra, size_t extra_bytes);
/// Writes every record appended so far, and the process's map when with_maps (else at most once a second).
HW_HIDDEN void hw_events_flush(struct hw_thread_counts *t, int with_maps);
/// Opens OUT (own_file) or OUT.PID and writes the header; `base` is OUT, or NULL for the one given before. 1 when open.
HW_HIDDEN int hw_events_open(const char *base, int own_file, int64_t interval);
/// Thread t ends: its ring goes to the writer, its later records through the writer's lock.
HW_HIDDEN void hw_events_thread_exit(struct hw_thread_counts *t);
/// In a forked child: the parent's records are the parent's to write; a file of the child's own.
HW_HIDDEN void hw_events_after_fork_in_child(struct hw_thread_counts *t, int64_t interval);
/// The most threads that held an unwinder's cache at once (AgentSampling.c).
HW_HIDDEN uint64_t hw_unwinders_peak(void);
HW_HIDDEN int32_t hw_tid(struct hw_thread_counts *t);

static inline uint64_t hw_clock_ns(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t hw_now_ns(void) { return hw_clock_ns(CLOCK_MONOTONIC); }

// An event's time only places the live heap on the timeline (and phases on it, whose bounds are milliseconds
// apart): the coarse clock, the kernel's tick read without the TSC, is enough.
static inline uint64_t hw_event_ns(void) { return hw_clock_ns(CLOCK_MONOTONIC_COARSE); }

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
typedef void (*hw_python_append_fn)(void *context, uint32_t kind, uint64_t ptr, uint64_t size, const uint64_t *words, int count);
/// The calling thread's Python frames, innermost first, when it holds the GIL of a supported interpreter (else none).
/// Reads memory only: no lock, no allocation.
HW_HIDDEN void hw_python_capture(struct hw_python_stack *s);
/// Under the agent's lock: the frames as stack words into out (at most room), each new code object's CODE record
/// (and once the PYTHON record) written first through append. Returns the words written.
HW_HIDDEN int hw_python_words(const struct hw_python_stack *s, void **out, int room, hw_python_append_fn append, void *context);

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
