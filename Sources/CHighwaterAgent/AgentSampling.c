// Sampled allocation stacks: one allocation per HIGHWATER_AGENT_SAMPLE_BYTES on average (a geometric
// draw, as tcmalloc and jemalloc do), its return addresses captured with libunwind and appended, with
// its size, thread and time, to the events file HIGHWATER_AGENT_OUT; frees of sampled blocks are
// appended too, so what each site still holds is known. The process's /proc/self/maps goes beside it
// (OUT.maps) for symbolizing after the run, in the parent. Nothing here calls malloc: the buffer is
// static and the table of sampled pointers is mmapped.
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

#define HW_MAX_DEPTH 64
#define HW_DEFAULT_INTERVAL (512 * 1024)

// The records of the events file, each a struct hw_event. An allocation's stack is written once, as a STACK
// record (its id in `ptr`, `depth` return addresses after it), and the allocations made from it are ALLOC_AT
// records naming the id (in the bits above the kind), so a sample costs 32 bytes, not 32 + 8 x depth: every-
// allocation mode writes a record per malloc and per free, and the write was a third of its cost. ALLOC, with its
// addresses inline, is for a stack the table has no room for.
// An UNWINDERS record, written with every flush, carries in `size` the most threads that held an unwinder's cache at once.
// A REQUEST record says that thread `tid` now serves request `ptr` - 1 (0: none); it comes before the thread's first
// sample after the host said so (highwater_agent_serving), so a sample costs nothing more while the request lasts.
enum { HW_EVENT_ALLOC = 1, HW_EVENT_FREE = 2, HW_EVENT_STACK = 3, HW_EVENT_ALLOC_AT = 4, HW_EVENT_UNWINDERS = 5,
       HW_EVENT_REQUEST = 6 };

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

static int hw_out = -1;
static int64_t hw_interval = -1;  // below 0: sampling off
static char hw_maps_path[4096];
static int hw_sampling_on;
static int hw_started;  // the constructor ran: until then (the loader's and libc's first allocations) decide nothing

// The events buffer, flushed with write() when full and at exit; one lock for it and the table.
static char hw_buffer[256 * 1024];
static size_t hw_buffered;
static int hw_lock_word;

static void hw_lock(void) {
    while (__atomic_exchange_n(&hw_lock_word, 1, __ATOMIC_ACQUIRE)) {
        while (__atomic_load_n(&hw_lock_word, __ATOMIC_RELAXED)) sched_yield();
    }
}

static void hw_unlock(void) { __atomic_store_n(&hw_lock_word, 0, __ATOMIC_RELEASE); }

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

// Under the lock. Keeps the table at most half used, growing it when live entries fill a quarter.
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

struct hw_stack_slot {
    uint64_t hash;
    uint32_t id;     // 0: empty
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

static uint64_t hw_stack_hash(void *const *ips, int depth) {
    uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)depth;
    for (int i = 0; i < depth; i++) h = (h ^ (uint64_t)(uintptr_t)ips[i]) * 0x100000001b3ull;
    return h | 1;
}

static void hw_append_locked(const struct hw_event *e, void *const *ips, int depth);

// Under the lock. The stack's id, writing its STACK record the first time it is seen; 0 when the table is full.
static uint32_t hw_stack_id_locked(void *const *ips, int depth) {
    if (hw_stack_slots == NULL) {
        hw_stack_slots = hw_reserve(HW_STACK_SLOTS * sizeof(struct hw_stack_slot));
        hw_stack_words = hw_reserve(HW_STACK_WORDS * sizeof(uint64_t));
        if (hw_stack_slots == NULL || hw_stack_words == NULL) return 0;
    }
    uint64_t h = hw_stack_hash(ips, depth);
    for (uint32_t i = (uint32_t)(h >> 40) & (HW_STACK_SLOTS - 1);; i = (i + 1) & (HW_STACK_SLOTS - 1)) {
        struct hw_stack_slot *slot = &hw_stack_slots[i];
        if (slot->id == 0) {
            // Kept at most half full, so a probe ends soon.
            if (hw_stacks >= HW_STACK_SLOTS / 2 || hw_stacks >= HW_STACK_ID_MAX || hw_stack_words_used + (size_t)depth > HW_STACK_WORDS) return 0;
            *slot = (struct hw_stack_slot){.hash = h, .id = ++hw_stacks, .depth = (uint32_t)depth, .at = hw_stack_words_used};
            memcpy(hw_stack_words + hw_stack_words_used, ips, (size_t)depth * sizeof(uint64_t));
            hw_stack_words_used += (size_t)depth;
            struct hw_event e = {.kind_depth = HW_EVENT_STACK | ((uint32_t)depth << 8), .ptr = slot->id};
            hw_append_locked(&e, ips, depth);
            return slot->id;
        }
        if (slot->hash == h && slot->depth == (uint32_t)depth
            && memcmp(hw_stack_words + slot->at, ips, (size_t)depth * sizeof(uint64_t)) == 0) {
            return slot->id;
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

static void hw_write_all(int fd, const char *data, size_t length) {
    while (length > 0) {
        ssize_t n = write(fd, data, length);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;  // a full disk: the samples after this are lost, the program goes on
        data += n;
        length -= (size_t)n;
    }
}

// /proc/self/maps copied beside the events, through a buffer on the stack.
static void hw_write_maps(void) {
    if (hw_maps_path[0] == 0) return;
    int in = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (in < 0) return;
    int out = open(hw_maps_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out >= 0) {
        char chunk[4096];
        ssize_t n;
        while ((n = read(in, chunk, sizeof(chunk))) > 0 || (n < 0 && errno == EINTR)) {
            if (n > 0) hw_write_all(out, chunk, (size_t)n);
        }
        close(out);
    }
    close(in);
}

// Under the lock. The map goes with a flush at most once a second (every-allocation sampling fills the buffer
// many times a second, and copying the map each time held every sampling thread on this lock): a program that
// ends with _exit (no destructors) still leaves addresses that can be named, up to its last map. An explicit
// flush and the one at exit always write it.
static uint64_t hw_maps_written_ns;
static uint64_t hw_now_ns(void);

// Threads that have captured a stack. libunwind's unw_backtrace keeps a trace cache of 16384 frames (256 KiB, all
// written) in each thread that calls it: resident memory the agent adds to its target outside the heap (40 sampling
// threads: +10.5 MiB RssAnon, measured), which the parent states beside its figures. Unwinding without that cache
// (unw_step, _Unwind_Backtrace) took 10-11 us a stack of 24 frames against 0.18 us.
static uint64_t hw_unwinding_threads;
// The most alive at once: libunwind frees a thread's cache when it ends, so a server that starts a thread per
// request holds a few at a time, not one per request.
static uint64_t hw_unwinding_peak;

HW_HIDDEN void hw_sampling_thread_exit(struct hw_thread_counts *t) {
    if (t->random != 0) __atomic_fetch_sub(&hw_unwinding_threads, 1, __ATOMIC_RELAXED);
}

static void hw_flush_locked(int with_maps) {
    if (hw_out >= 0 && hw_buffered > 0) {
        struct hw_event e = {.kind_depth = HW_EVENT_UNWINDERS, .size = __atomic_load_n(&hw_unwinding_peak, __ATOMIC_RELAXED)};
        memcpy(hw_buffer + hw_buffered, &e, sizeof(e));
        hw_buffered += sizeof(e);
        hw_write_all(hw_out, hw_buffer, hw_buffered);
    }
    if (hw_out >= 0 && (with_maps || hw_buffered > 0)) {
        uint64_t now = hw_now_ns();
        if (with_maps || hw_maps_written_ns == 0 || now - hw_maps_written_ns >= 1000000000ull) {
            hw_write_maps();
            hw_maps_written_ns = now;
        }
    }
    hw_buffered = 0;
}

static void hw_append_locked(const struct hw_event *e, void *const *ips, int depth) {
    size_t need = sizeof(*e) + (size_t)depth * sizeof(uint64_t);
    // Room is kept for the UNWINDERS record every flush ends with.
    if (hw_buffered + need + sizeof(struct hw_event) > sizeof(hw_buffer)) hw_flush_locked(0);
    memcpy(hw_buffer + hw_buffered, e, sizeof(*e));
    if (depth > 0) memcpy(hw_buffer + hw_buffered + sizeof(*e), ips, (size_t)depth * sizeof(uint64_t));
    hw_buffered += need;
}

// AgentPython.c's records (a code object, the interpreter found), through the one append path.
static void hw_append_python_locked(uint32_t kind, uint64_t ptr, uint64_t size, const uint64_t *words, int count) {
    struct hw_event e = {.kind_depth = kind | ((uint32_t)count << 8), .ptr = ptr, .size = size};
    hw_append_locked(&e, (void *const *)words, count);
}

static uint64_t hw_clock_ns(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t hw_now_ns(void) { return hw_clock_ns(CLOCK_MONOTONIC); }

// An event's time only places the live heap on the timeline (and phases on it, whose bounds are milliseconds
// apart): the coarse clock, the kernel's tick read without the TSC, is enough. The precise one cost a third of a
// malloc-free pair in every-allocation mode (150 -> 100 ns a pair, both events timed, on a 2-core VM).
static uint64_t hw_event_ns(void) { return hw_clock_ns(CLOCK_MONOTONIC_COARSE); }

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

// HIGHWATER_AGENT_OUT as given: the first process's events file. Its descendants write OUT.PID beside it.
static char hw_out_base[4000];

// Opens this process's events file (OUT, or OUT.PID for a descendant) and writes its header; 1 when it is open.
static int hw_open_events(int own_file) {
    char path[4096];
    strcpy(path, hw_out_base);
    if (!own_file) {
        char pid_text[16];
        hw_pid_text(getpid(), pid_text);
        strcat(path, ".");
        strcat(path, pid_text);
    }
    hw_out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (hw_out < 0) return 0;
    strcpy(hw_maps_path, path);
    strcat(hw_maps_path, ".maps");
    hw_maps_written_ns = 0;
    struct hw_events_header h = {.magic = "HWEVENT2", .interval = hw_interval, .pid = getpid(), .max_depth = HW_MAX_DEPTH};
    hw_write_all(hw_out, (const char *)&h, sizeof(h));
    return 1;
}

static void hw_after_fork_in_child(void) {
    // A forked child (a pre-forking server's worker) samples into a file of its own: what it buffered and the stacks
    // it had written are its parent's, which writes them; only the forking thread lives on here.
    hw_lock_word = 0;
    hw_buffered = 0;
    if (!hw_sampling_on) return;
    if (hw_out >= 0) close(hw_out);
    hw_out = -1;
    if (hw_stack_slots != NULL) munmap(hw_stack_slots, HW_STACK_SLOTS * sizeof(struct hw_stack_slot));
    if (hw_stack_words != NULL) munmap(hw_stack_words, HW_STACK_WORDS * sizeof(uint64_t));
    hw_stack_slots = NULL;
    hw_stack_words = NULL;
    hw_stack_words_used = 0;
    hw_stacks = 0;
    hw_unwinding_threads = hw_self.random != 0 ? 1 : 0;
    hw_unwinding_peak = hw_unwinding_threads;
    // The new file has heard of no request yet: the thread's next sample says which it serves.
    hw_self.request_written = UINT64_MAX;
    hw_sampling_on = hw_open_events(0);
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
    if (out != NULL && out[0] != 0 && hw_interval >= 0 && strlen(out) + 32 < sizeof(hw_out_base)) {
        strcpy(hw_out_base, out);
        // setenv allocates: counted like any allocation, never sampled (busy).
        if (owner == NULL) setenv("HIGHWATER_AGENT_OWNER", pid_text, 1);
        if (hw_open_events(own_file)) {
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
        t->tid = (int32_t)syscall(SYS_gettid);
        t->random = (hw_now_ns() ^ ((uint64_t)t->tid << 32) ^ (uintptr_t)p) | 1;
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
    struct hw_event e = {.tid = t->tid, .ptr = (uintptr_t)p, .size = size, .t_ns = hw_event_ns()};
    hw_lock();
    if (hw_table_insert((uintptr_t)p)) {
        if (t->request != t->request_written) {
            struct hw_event r = {.kind_depth = HW_EVENT_REQUEST, .tid = t->tid, .ptr = t->request, .t_ns = e.t_ns};
            hw_append_locked(&r, NULL, 0);
            t->request_written = t->request;
        }
        depth += hw_python_words_locked(&python, ips + depth, HW_PYTHON_MAX_FRAMES, hw_append_python_locked);
        uint32_t id = hw_stack_id_locked(ips, depth);
        e.kind_depth = id != 0 ? HW_EVENT_ALLOC_AT | (id << 8) : HW_EVENT_ALLOC | ((uint32_t)depth << 8);
        hw_append_locked(&e, ips, id != 0 ? 0 : depth);
    }
    hw_unlock();
    // Past the threshold by more than one interval (a large block): the overshoot is forgiven, as in
    // tcmalloc, so the next draw starts from here.
    t->until_sample = hw_next_interval(t);
    t->busy = 0;
}

HW_HIDDEN void hw_sample_free(struct hw_thread_counts *t, void *p, size_t size) {
    // Inside the agent's own path (a signal handler that frees while the thread holds the lock):
    // the free goes unrecorded, the block stays counted as held, and nothing waits. (The caller has checked the
    // block's bit: hw_maybe_sampled.)
    if (t->busy || !hw_sampling_on) return;
    struct hw_table *table = __atomic_load_n(&hw_table, __ATOMIC_ACQUIRE);
    if (table == NULL || hw_table_find(table, (uintptr_t)p) == NULL) return;
    if (hw_python_exiting()) return;
    t->busy = 1;
    hw_lock();
    uintptr_t *slot = hw_table == NULL ? NULL : hw_table_find(hw_table, (uintptr_t)p);
    if (slot != NULL) {
        *slot = 1;
        __atomic_store_n(&hw_sampled_live, hw_sampled_live - 1, __ATOMIC_RELAXED);
        if (t->tid == 0) t->tid = (int32_t)syscall(SYS_gettid);
        struct hw_event e = {.kind_depth = HW_EVENT_FREE, .tid = t->tid, .ptr = (uintptr_t)p, .size = size,
                             .t_ns = hw_event_ns()};
        hw_append_locked(&e, NULL, 0);
    }
    hw_unlock();
    t->busy = 0;
}

HW_EXPORT void highwater_agent_flush(void) {
    if (!hw_sampling_on) return;
    struct hw_thread_counts *t = &hw_self;
    int was = t->busy;
    t->busy = 1;
    hw_lock();
    hw_flush_locked(1);
    hw_unlock();
    t->busy = was;
}

// A checkpoint on the parent's request (AgentLive.c serves one every census tick): what is buffered goes to the events
// file, the map with it at most once a second, so a target that dies without exit handlers (SIGKILL, Python's default
// SIGTERM, _exit) leaves its samples up to then, not only what filled the buffer.
HW_HIDDEN void hw_sampling_checkpoint(void) {
    if (!hw_sampling_on) return;
    hw_lock();
    hw_flush_locked(0);
    hw_unlock();
}

__attribute__((destructor)) static void hw_sampling_end(void) { highwater_agent_flush(); }
