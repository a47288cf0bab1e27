// Sampled allocation stacks: one allocation per HIGHWATER_AGENT_SAMPLE_BYTES on average (a geometric
// draw, as tcmalloc and jemalloc do), its return addresses captured with libunwind and appended, with
// its size, thread and time, to the events file HIGHWATER_AGENT_OUT; frees of sampled blocks are
// appended too, so what each site still holds is known. The process's /proc/self/maps goes beside it
// (OUT.maps) for symbolizing after the run, in the parent. The records go through each thread's ring (AgentEvents.c).
// Nothing here calls malloc: the tables are mmapped. With HIGHWATER_AGENT_SAMPLE_BYTES=0 every allocation and every
// free is recorded, and nothing on their path takes a lock: stacks are interned with compare-and-swap, and frees
// are recorded without the table of sampled pointers (every block is one).
#define UNW_LOCAL_ONLY
#include "AgentInternal.h"

#include <errno.h>
#include <fcntl.h>
#include <libunwind.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define HW_DEFAULT_INTERVAL (512 * 1024)

static int64_t hw_interval = -1;  // below 0: sampling off
static int hw_sampling_on;
static int hw_started;  // the constructor ran: until then (the loader's and libc's first allocations) decide nothing

// The table of sampled pointers (sampled mode only) is under this lock: a sample and a free of a sampled block
// take it, one per 512 KiB allocated on average.
static int hw_table_lock_word;

static void hw_table_lock(void) {
    while (__atomic_exchange_n(&hw_table_lock_word, 1, __ATOMIC_ACQUIRE)) {
        while (__atomic_load_n(&hw_table_lock_word, __ATOMIC_RELAXED)) sched_yield();
    }
}

static void hw_table_unlock(void) { __atomic_store_n(&hw_table_lock_word, 0, __ATOMIC_RELEASE); }

// The sampled pointers still live: open addressing, 0 empty, 1 a removed entry. Frees read it without
// the lock, so a replaced table stays mapped for two more replacements (each takes thousands of samples)
// before it is unmapped: a free still probing it by then would have stalled for all of them.
struct hw_table {
    uint64_t mask;
    uint64_t used;  // live entries and removed ones
    uintptr_t keys[];
};

static struct hw_table *hw_table;
static struct hw_table *hw_replaced[2];
HW_HIDDEN uint64_t hw_sampled_live;

// The bits hw_maybe_sampled reads (AgentInternal.h), set as a block is sampled.
HW_HIDDEN uint64_t hw_sampled_bits[HW_SAMPLED_BITS / 64];

static size_t hw_table_bytes(const struct hw_table *t) { return sizeof(struct hw_table) + (t->mask + 1) * sizeof(uintptr_t); }

static struct hw_table *hw_table_make(uint64_t capacity) {
    size_t bytes = sizeof(struct hw_table) + capacity * sizeof(uintptr_t);
    void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return NULL;
    struct hw_table *t = m;
    t->mask = capacity - 1;
    return t;
}

static inline uint64_t hw_hash(uintptr_t p) { return (uint64_t)(p >> 4) * 0x9E3779B97F4A7C15ull; }

static void hw_table_put(struct hw_table *t, uintptr_t p) {
    for (uint64_t i = hw_hash(p) & t->mask;; i = (i + 1) & t->mask) {
        if (t->keys[i] <= 1) {
            if (t->keys[i] == 0) t->used++;
            __atomic_store_n(&t->keys[i], p, __ATOMIC_RELAXED);
            return;
        }
    }
}

// Under the table lock. Keeps the table at most half used, growing it when live entries fill a quarter.
static int hw_table_insert(uintptr_t p) {
    struct hw_table *t = hw_table;
    if (t == NULL || (t->used + 1) * 2 > t->mask + 1) {
        uint64_t capacity = t == NULL ? 1 << 16 : t->mask + 1;
        while (hw_sampled_live * 4 >= capacity) capacity *= 2;
        struct hw_table *n = hw_table_make(capacity);
        if (n == NULL) return 0;
        if (t != NULL) {
            for (uint64_t i = 0; i <= t->mask; i++) if (t->keys[i] > 1) hw_table_put(n, t->keys[i]);
        }
        __atomic_store_n(&hw_table, n, __ATOMIC_RELEASE);
        if (hw_replaced[1] != NULL) munmap(hw_replaced[1], hw_table_bytes(hw_replaced[1]));
        hw_replaced[1] = hw_replaced[0];
        hw_replaced[0] = t;
        t = n;
    }
    hw_table_put(t, p);
    uint32_t b = hw_bit_of(p);
    __atomic_fetch_or(&hw_sampled_bits[b >> 6], 1ull << (b & 63), __ATOMIC_RELAXED);
    __atomic_store_n(&hw_sampled_live, hw_sampled_live + 1, __ATOMIC_RELAXED);
    return 1;
}

// The stacks written so far, by their addresses: open addressing over ids, the addresses themselves in a reserved
// region filled in order. Both are mapped MAP_NORESERVE, so only what is used is resident (a program with ten
// thousand distinct stacks of 30 frames holds 2.4 MiB); full, a stack is written inline with its allocation.
#define HW_STACK_SLOTS (1u << 20)
#define HW_STACK_WORDS ((size_t)32 << 20)
#define HW_STACK_ID_MAX ((1u << 24) - 1)

// A slot is claimed by compare-and-swap on its hash and published by its id, set (release) once its STACK record
// is appended: a thread that finds the id appends after it, so the definition is in the file first. A thread that
// meets a slot still being written (its id 0) writes its stack inline, rather than wait.
#define HW_STACK_UNUSABLE UINT32_MAX

struct hw_stack_slot {
    uint64_t hash;   // 0: empty
    uint32_t id;     // 0: being written; HW_STACK_UNUSABLE: claimed when the table ran out
    uint32_t depth;
    uint64_t at;     // index of the first address in hw_stack_words
};

static struct hw_stack_slot *hw_stack_slots;
static uint64_t *hw_stack_words;
static size_t hw_stack_words_used;
static uint32_t hw_stacks;

static void *hw_reserve(size_t bytes) {
    void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return m == MAP_FAILED ? NULL : m;
}

// Mapped before any thread samples (the constructor, and a forked child before it returns to the program).
static void hw_stacks_reserve(void) {
    hw_stack_slots = hw_reserve(HW_STACK_SLOTS * sizeof(struct hw_stack_slot));
    hw_stack_words = hw_reserve(HW_STACK_WORDS * sizeof(uint64_t));
    hw_stack_words_used = 0;
    hw_stacks = 0;
}

static uint64_t hw_stack_hash(void *const *ips, int depth) {
    uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)depth;
    for (int i = 0; i < depth; i++) h = (h ^ (uint64_t)(uintptr_t)ips[i]) * 0x100000001b3ull;
    return h | 1;
}

// The stack's id, appending its STACK record (for thread t) the first time it is seen; 0 when the stack is to be
// written inline (the table full, or the slot still being written by another thread).
static uint32_t hw_stack_id(struct hw_thread_counts *t, void *const *ips, int depth) {
    if (hw_stack_slots == NULL || hw_stack_words == NULL) return 0;
    uint64_t h = hw_stack_hash(ips, depth);
    for (uint32_t i = (uint32_t)(h >> 40) & (HW_STACK_SLOTS - 1);; i = (i + 1) & (HW_STACK_SLOTS - 1)) {
        struct hw_stack_slot *slot = &hw_stack_slots[i];
        uint64_t seen = __atomic_load_n(&slot->hash, __ATOMIC_ACQUIRE);
        if (seen == 0) {
            // Kept at most half full, so a probe ends soon.
            if (__atomic_load_n(&hw_stacks, __ATOMIC_RELAXED) >= HW_STACK_SLOTS / 2) return 0;
            if (__atomic_compare_exchange_n(&slot->hash, &seen, h, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
                size_t at = __atomic_fetch_add(&hw_stack_words_used, (size_t)depth, __ATOMIC_RELAXED);
                uint32_t id = __atomic_add_fetch(&hw_stacks, 1, __ATOMIC_RELAXED);
                if (at + (size_t)depth > HW_STACK_WORDS || id > HW_STACK_ID_MAX) {
                    __atomic_store_n(&slot->id, HW_STACK_UNUSABLE, __ATOMIC_RELEASE);
                    return 0;
                }
                memcpy(hw_stack_words + at, ips, (size_t)depth * sizeof(uint64_t));
                slot->depth = (uint32_t)depth;
                slot->at = at;
                struct hw_event e = {.kind_depth = HW_EVENT_STACK | ((uint32_t)depth << 8), .ptr = id};
                hw_append_record(t, &e, sizeof(e), ips, (size_t)depth * sizeof(uint64_t));
                __atomic_store_n(&slot->id, id, __ATOMIC_RELEASE);
                return id;
            }
            // Another thread claimed it first: `seen` is its hash, compared below.
        }
        if (seen == h) {
            uint32_t id = __atomic_load_n(&slot->id, __ATOMIC_ACQUIRE);
            if (id == 0) return 0;
            if (id != HW_STACK_UNUSABLE && slot->depth == (uint32_t)depth
                && memcmp(hw_stack_words + slot->at, ips, (size_t)depth * sizeof(uint64_t)) == 0) {
                return id;
            }
        }
    }
}

static uintptr_t *hw_table_find(struct hw_table *t, uintptr_t p) {
    for (uint64_t i = hw_hash(p) & t->mask;; i = (i + 1) & t->mask) {
        uintptr_t k = __atomic_load_n(&t->keys[i], __ATOMIC_RELAXED);
        if (k == p) return &t->keys[i];
        if (k == 0) return NULL;
    }
}

// Threads that have captured a stack. libunwind's unw_backtrace keeps a trace cache of 16384 frames (256 KiB, all
// written) in each thread that calls it: resident memory the agent adds to its target outside the heap, which the
// parent states beside its figures. Unwinding without that cache (unw_step, _Unwind_Backtrace) took 10-11 us a
// stack of 24 frames against 0.18 us.
static uint64_t hw_unwinding_threads;
// The most alive at once: libunwind frees a thread's cache when it ends, so a server that starts a thread per
// request holds a few at a time, not one per request.
static uint64_t hw_unwinding_peak;

HW_HIDDEN uint64_t hw_unwinders_peak(void) { return __atomic_load_n(&hw_unwinding_peak, __ATOMIC_RELAXED); }

HW_HIDDEN void hw_sampling_thread_exit(struct hw_thread_counts *t) {
    if (t->random != 0) __atomic_fetch_sub(&hw_unwinding_threads, 1, __ATOMIC_RELAXED);
    hw_events_thread_exit(t);
}

// AgentPython.c's records (a code object, the interpreter found), through the thread's one append path. Only a
// thread holding the GIL records Python frames, so the GIL, not a lock of the agent's, keeps the code table whole.
static void hw_append_python(void *context, uint32_t kind, uint64_t ptr, uint64_t size, const uint64_t *words, int count) {
    struct hw_event e = {.kind_depth = kind | ((uint32_t)count << 8), .ptr = ptr, .size = size};
    hw_append_record((struct hw_thread_counts *)context, &e, sizeof(e), words, (size_t)count * sizeof(uint64_t));
}

// Bytes to the next sample: exponentially distributed with mean hw_interval, so each byte is
// equally likely to be sampled whatever the sizes around it (xorshift64* for the uniform draw).
static int64_t hw_next_interval(struct hw_thread_counts *t) {
    if (hw_interval <= 0) return 0;
    t->random ^= t->random >> 12;
    t->random ^= t->random << 25;
    t->random ^= t->random >> 27;
    uint64_t r = t->random * 2685821657736338717ull;
    double u = ((double)(r >> 11) + 0.5) / 9007199254740992.0;
    double next = -log(u) * (double)hw_interval;
    return next > 9e18 ? INT64_MAX / 2 : (int64_t)next;
}

// Every allocation recorded: every free is one of a recorded block (or of one from before the agent started, which
// the reader passes over), so free's fast path sends them all to the slow one, which records them without a table.
static void hw_watch_every_free(void) {
    memset(hw_sampled_bits, 0xff, sizeof(hw_sampled_bits));
    __atomic_store_n(&hw_sampled_live, 1, __ATOMIC_RELAXED);
}

static void hw_after_fork_in_child(void) {
    // A forked child (a pre-forking server's worker) samples into a file of its own: what was recorded before and
    // the stacks written are its parent's, which writes them; only the forking thread lives on here.
    hw_table_lock_word = 0;
    if (!hw_sampling_on) return;
    struct hw_thread_counts *t = &hw_self;
    if (hw_stack_slots != NULL) munmap(hw_stack_slots, HW_STACK_SLOTS * sizeof(struct hw_stack_slot));
    if (hw_stack_words != NULL) munmap(hw_stack_words, HW_STACK_WORDS * sizeof(uint64_t));
    hw_stacks_reserve();
    hw_unwinding_threads = t->random != 0 ? 1 : 0;
    hw_unwinding_peak = hw_unwinding_threads;
    // The new file has heard of no request yet: the thread's next sample says which it serves.
    t->request_written = UINT64_MAX;
    hw_events_after_fork_in_child(t, hw_interval);
    hw_sampling_on = hw_out >= 0;
}

HW_HIDDEN void hw_sampling_start(void) {
    struct hw_thread_counts *t = &hw_self;
    t->busy = 1;
    const char *out = getenv("HIGHWATER_AGENT_OUT");
    const char *every = getenv("HIGHWATER_AGENT_SAMPLE_BYTES");
    hw_interval = HW_DEFAULT_INTERVAL;
    if (every != NULL && strcmp(every, "off") == 0) {
        hw_interval = -1;
    } else if (every != NULL && every[0] >= '0' && every[0] <= '9') {
        int64_t n = 0;
        for (const char *c = every; *c >= '0' && *c <= '9' && n < (INT64_MAX / 10 - 10); c++) n = n * 10 + (*c - '0');
        hw_interval = n;
    }
    // The events file belongs to the first process that opens it, and to the programs it execs in its place (same
    // PID: `unshare … highwater host`); a descendant with a PID of its own (a server's workers, started or forked)
    // writes OUT.PID beside it, which the parent merges into one profile.
    const char *owner = getenv("HIGHWATER_AGENT_OWNER");
    char pid_text[16];
    hw_pid_text(getpid(), pid_text);
    int own_file = owner == NULL || strcmp(owner, pid_text) == 0;
    if (out != NULL && out[0] != 0 && hw_interval >= 0) {
        // setenv allocates: counted like any allocation, never sampled (busy).
        if (owner == NULL) setenv("HIGHWATER_AGENT_OWNER", pid_text, 1);
        if (hw_events_open(out, own_file, hw_interval)) {
            // libunwind's cache of DWARF register states, global by default, is taken under a lock that blocks
            // every signal around it (two sigprocmask calls) whenever the unwinder leaves its trace cache: per
            // thread, it needs neither.
            unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
            hw_stacks_reserve();
            if (hw_interval == 0) hw_watch_every_free();
            pthread_atfork(NULL, NULL, hw_after_fork_in_child);
            hw_sampling_on = 1;
        }
    }
    __atomic_store_n(&hw_started, 1, __ATOMIC_RELEASE);
    t->busy = 0;
}

HW_HIDDEN void hw_sample(struct hw_thread_counts *t, void *p, size_t size) {
    if (!hw_sampling_on) {
        t->until_sample = __atomic_load_n(&hw_started, __ATOMIC_ACQUIRE) ? INT64_MAX / 2 : 0;
        return;
    }
    if (t->busy) {
        t->until_sample = 0;
        return;
    }
    t->busy = 1;
    if (t->random == 0) {
        // First sample on this thread: seed from the thread and the clock.
        t->random = (hw_now_ns() ^ ((uint64_t)hw_tid(t) << 32) ^ (uintptr_t)p) | 1;
        uint64_t now = __atomic_add_fetch(&hw_unwinding_threads, 1, __ATOMIC_RELAXED);
        uint64_t peak = __atomic_load_n(&hw_unwinding_peak, __ATOMIC_RELAXED);
        while (now > peak && !__atomic_compare_exchange_n(&hw_unwinding_peak, &peak, now, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {}
        if (hw_interval > 0) {
            // The thread's first threshold is drawn, not crossed: this block is not sampled.
            t->until_sample = hw_next_interval(t);
            t->busy = 0;
            return;
        }
    }
    void *ips[HW_MAX_DEPTH + HW_PYTHON_MAX_FRAMES];
    int depth = unw_backtrace(ips, HW_MAX_DEPTH);
    if (depth < 0) depth = 0;
    struct hw_python_stack python;
    hw_python_capture(&python);
    struct hw_event e = {.tid = hw_tid(t), .ptr = (uintptr_t)p, .size = size, .t_ns = hw_event_ns()};
    int recorded = 1;
    if (hw_interval > 0) {
        hw_table_lock();
        recorded = hw_table_insert((uintptr_t)p);
        hw_table_unlock();
    }
    if (recorded) {
        if (t->request != t->request_written) {
            struct hw_event r = {.kind_depth = HW_EVENT_REQUEST, .tid = e.tid, .ptr = t->request, .t_ns = e.t_ns};
            hw_append_record(t, &r, sizeof(r), NULL, 0);
            t->request_written = t->request;
        }
        depth += hw_python_words(&python, ips + depth, HW_PYTHON_MAX_FRAMES, hw_append_python, t);
        uint32_t id = hw_stack_id(t, ips, depth);
        e.kind_depth = id != 0 ? HW_EVENT_ALLOC_AT | (id << 8) : HW_EVENT_ALLOC | ((uint32_t)depth << 8);
        hw_append_record(t, &e, sizeof(e), ips, id != 0 ? 0 : (size_t)depth * sizeof(uint64_t));
    }
    // Past the threshold by more than one interval (a large block): the overshoot is forgiven, as in
    // tcmalloc, so the next draw starts from here.
    t->until_sample = hw_next_interval(t);
    t->busy = 0;
}

HW_HIDDEN void hw_sample_free(struct hw_thread_counts *t, void *p, size_t size) {
    // Inside the agent's own path (a signal handler that frees while the thread samples): the free goes unrecorded,
    // the block stays counted as held, and nothing waits. (The caller has checked the block's bit: hw_maybe_sampled.)
    if (t->busy || !hw_sampling_on) return;
    if (hw_python_exiting()) return;
    if (hw_interval > 0) {
        struct hw_table *table = __atomic_load_n(&hw_table, __ATOMIC_ACQUIRE);
        if (table == NULL || hw_table_find(table, (uintptr_t)p) == NULL) return;
        t->busy = 1;
        hw_table_lock();
        uintptr_t *slot = hw_table == NULL ? NULL : hw_table_find(hw_table, (uintptr_t)p);
        if (slot != NULL) {
            *slot = 1;
            __atomic_store_n(&hw_sampled_live, hw_sampled_live - 1, __ATOMIC_RELAXED);
        }
        hw_table_unlock();
        if (slot == NULL) {
            t->busy = 0;
            return;
        }
    }
    t->busy = 1;
    struct hw_event e = {.kind_depth = HW_EVENT_FREE, .tid = hw_tid(t), .ptr = (uintptr_t)p, .size = size, .t_ns = hw_event_ns()};
    hw_append_record(t, &e, sizeof(e), NULL, 0);
    t->busy = 0;
}

HW_EXPORT void highwater_agent_flush(void) {
    if (!hw_sampling_on) return;
    struct hw_thread_counts *t = &hw_self;
    int was = t->busy;
    t->busy = 1;
    hw_events_flush(t, 1);
    t->busy = was;
}

// A checkpoint on the parent's request (AgentLive.c serves one every census tick): what is recorded goes to the
// events file, the map with it at most once a second, so a target that dies without exit handlers (SIGKILL, Python's
// default SIGTERM, _exit) leaves its samples up to then, not only what filled the rings. The caller is busy.
HW_HIDDEN void hw_sampling_checkpoint(void) {
    if (hw_sampling_on) hw_events_flush(&hw_self, 0);
}

__attribute__((destructor)) static void hw_sampling_end(void) { highwater_agent_flush(); }
