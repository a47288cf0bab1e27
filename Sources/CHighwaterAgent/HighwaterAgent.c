// The interposer: malloc and its family forwarded to glibc's allocator, with per-thread counters.
//
// Why __libc_malloc and not dlsym(RTLD_NEXT, "malloc"): dlsym allocates (its error buffer), so
// resolving the real malloc through it needs a bootstrap allocator; glibc exports its allocator
// under these names, and calling them leaves glibc's arenas, tcache and mmap thresholds exactly as
// they are without the agent. The agent itself never calls malloc: its tables are static.
#include "AgentInternal.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

extern void *__libc_malloc(size_t size);
extern void __libc_free(void *ptr);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void *__libc_valloc(size_t size);
extern void *__libc_pvalloc(size_t size);

// One test of `mode` on the hot path: a thread starts unregistered, and the slow path sorts it out.
HW_HIDDEN HW_TLS struct hw_thread_counts hw_self = {.mode = HW_UNREGISTERED, .slot = -1};

// The registry of live threads' counters is the live table (AgentLive.c): slots claimed by compare-and-swap, so
// neither a lock nor malloc is on any path (a fork while another thread registers cannot leave it locked).
static pthread_key_t hw_exit_key;
static int hw_exit_key_ready;

static void hw_thread_exit(void *value) {
    struct hw_thread_counts *t = value;
    t->mode = HW_EXITED;
    hw_sampling_thread_exit(t);
    hw_live_retire(t->slot, t->c);
    t->own = (highwater_agent_counters){0};
    t->c = &t->own;
}

__attribute__((constructor)) static void hw_agent_start(void) {
    // A key made this early gets an index below 32, whose pthread_setspecific needs no allocation.
    if (pthread_key_create(&hw_exit_key, hw_thread_exit) == 0) hw_exit_key_ready = 1;
    hw_live_start();
    hw_sampling_start();
}

static void hw_register(struct hw_thread_counts *t) {
    t->c = &t->own;
    for (int i = 0; i < HW_LIVE_SLOTS; i++) {
        uint32_t expected = 0;
        if (__atomic_compare_exchange_n(&hw_live.slots[i].claimed, &expected, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
            t->slot = i;
            t->c = &hw_live.slots[i].c;
            uint32_t end = __atomic_load_n(&hw_live.h.slots_end, __ATOMIC_RELAXED);
            while (end < (uint32_t)i + 1 && !__atomic_compare_exchange_n(&hw_live.h.slots_end, &end, (uint32_t)i + 1, 1, __ATOMIC_RELEASE, __ATOMIC_RELAXED)) {}
            break;
        }
    }
    // With the table full the thread still counts (in `own`); its counts reach the totals when it ends.
    t->mode = HW_COUNTING;
    if (hw_exit_key_ready) pthread_setspecific(hw_exit_key, t);
}

// malloc_usable_size without the call: glibc keeps each chunk's size in the word before the block,
// with three flag bits below it; an mmapped chunk (bit 1) has a two-word header, an arena chunk
// lends its successor's first word. The same arithmetic as glibc's musable() for a block in use,
// which every block passed here is; the call through the PLT cost a third of a malloc-free pair.
static inline size_t hw_usable_size(const void *p) {
    size_t header = ((const size_t *)p)[-1];
    size_t chunk = header & ~(size_t)7;
    return (header & 2) ? chunk - 2 * sizeof(size_t) : chunk - sizeof(size_t);
}

// The rare paths, out of line so the common one keeps no registers to save.
__attribute__((noinline, cold)) static void hw_count_slow(size_t allocated, size_t freed) {
    struct hw_thread_counts *t = &hw_self;
    if (t->mode == HW_UNREGISTERED) hw_register(t);
    highwater_agent_counters one = {.allocs = allocated ? 1 : 0, .alloc_bytes = allocated,
                                    .frees = freed ? 1 : 0, .freed_bytes = freed};
    if (t->mode == HW_EXITED) {
        hw_live_add_retired(&one);
        return;
    }
    t->c->allocs += one.allocs;
    t->c->alloc_bytes += one.alloc_bytes;
    t->c->frees += one.frees;
    t->c->freed_bytes += one.freed_bytes;
}

// Plain thread-local additions; the relaxed stores only keep other threads' reads of the totals
// well defined (on x86-64 and arm64 they are ordinary stores, no lock prefix).
#define HW_BUMP(t, field, n) __atomic_store_n(&(t)->c->field, (t)->c->field + (n), __ATOMIC_RELAXED)

// The parent asked for mallinfo2 and the arena list (AgentLive.c): one relaxed load of a line nobody writes meanwhile.
#define HW_LIVE_REQUESTED (__atomic_load_n(&hw_live.h.request_pending, __ATOMIC_RELAXED) != 0)

static inline __attribute__((always_inline)) void hw_count_alloc(void *p) {
    if (__builtin_expect(p == NULL, 0)) return;
    struct hw_thread_counts *t = &hw_self;
    size_t n = hw_usable_size(p);
    if (__builtin_expect(t->mode != HW_COUNTING, 0)) {
        hw_count_slow(n, 0);
    } else {
        HW_BUMP(t, allocs, 1);
        HW_BUMP(t, alloc_bytes, n);
    }
    t->until_sample -= (int64_t)n;
    if (__builtin_expect(t->until_sample < 0, 0)) hw_sample(t, p, n);
    if (__builtin_expect(HW_LIVE_REQUESTED, 0)) hw_live_serve(t);
}

static inline __attribute__((always_inline)) void hw_count_free(void *p, size_t n) {
    struct hw_thread_counts *t = &hw_self;
    if (__builtin_expect(t->mode != HW_COUNTING, 0)) {
        hw_count_slow(0, n);
    } else {
        HW_BUMP(t, frees, 1);
        HW_BUMP(t, freed_bytes, n);
    }
    if (__builtin_expect(__atomic_load_n(&hw_sampled_live, __ATOMIC_RELAXED) != 0 && hw_maybe_sampled((uintptr_t)p), 0)) {
        hw_sample_free(t, p, n);
    }
}

// malloc and free, the calls that matter most, test everything the common case needs at once and
// leave the rest to out-of-line functions, so their fast paths save no registers and free ends in a
// tail call to glibc.
__attribute__((noinline)) static void *hw_malloc_slow(void *p) {
    hw_count_alloc(p);
    return p;
}

__attribute__((noinline)) static void hw_free_slow(void *ptr, size_t n) {
    hw_count_free(ptr, n);
    __libc_free(ptr);
}

HW_EXPORT void *malloc(size_t size) {
    void *p = __libc_malloc(size);
    if (__builtin_expect(p == NULL, 0)) return p;
    struct hw_thread_counts *t = &hw_self;
    size_t n = hw_usable_size(p);
    int64_t until = t->until_sample - (int64_t)n;
    if (__builtin_expect(t->mode != HW_COUNTING || until < 0 || HW_LIVE_REQUESTED, 0)) return hw_malloc_slow(p);
    t->until_sample = until;
    HW_BUMP(t, allocs, 1);
    HW_BUMP(t, alloc_bytes, n);
    return p;
}

HW_EXPORT void free(void *ptr) {
    if (ptr == NULL) return;
    struct hw_thread_counts *t = &hw_self;
    size_t n = hw_usable_size(ptr);
    if (__builtin_expect(t->mode != HW_COUNTING
                         || (__atomic_load_n(&hw_sampled_live, __ATOMIC_RELAXED) != 0 && hw_maybe_sampled((uintptr_t)ptr)), 0)) {
        return hw_free_slow(ptr, n);
    }
    HW_BUMP(t, frees, 1);
    HW_BUMP(t, freed_bytes, n);
    __libc_free(ptr);
}

HW_EXPORT void *calloc(size_t count, size_t size) {
    void *p = __libc_calloc(count, size);
    hw_count_alloc(p);
    return p;
}

HW_EXPORT void *realloc(void *ptr, size_t size) {
    // The old block is counted freed before glibc may hand its address to another thread, whose
    // sample of it must not meet this block's entry in the table of sampled pointers.
    size_t old = ptr != NULL ? hw_usable_size(ptr) : 0;
    if (ptr != NULL) hw_count_free(ptr, old);
    void *p = __libc_realloc(ptr, size);
    if (p != NULL) {
        hw_count_alloc(p);
    } else if (ptr != NULL && size != 0) {
        // A failed realloc leaves the old block as it was (realloc(p, 0) freed it): counted back in.
        hw_count_alloc(ptr);
    }
    return p;
}

HW_EXPORT void *memalign(size_t alignment, size_t size) {
    void *p = __libc_memalign(alignment, size);
    hw_count_alloc(p);
    return p;
}

HW_EXPORT void *aligned_alloc(size_t alignment, size_t size) {
    void *p = __libc_memalign(alignment, size);
    hw_count_alloc(p);
    return p;
}

HW_EXPORT int posix_memalign(void **out, size_t alignment, size_t size) {
    // glibc's own checks: a power of two, a multiple of sizeof(void *).
    if (alignment % sizeof(void *) != 0 || (alignment & (alignment - 1)) != 0 || alignment == 0) return EINVAL;
    void *p = __libc_memalign(alignment, size);
    if (p == NULL) return ENOMEM;
    hw_count_alloc(p);
    *out = p;
    return 0;
}

HW_EXPORT void *valloc(size_t size) {
    void *p = __libc_valloc(size);
    hw_count_alloc(p);
    return p;
}

HW_EXPORT void *pvalloc(size_t size) {
    void *p = __libc_pvalloc(size);
    hw_count_alloc(p);
    return p;
}

HW_EXPORT void highwater_agent_thread_counters(highwater_agent_counters *out) {
    const highwater_agent_counters *c = hw_self.c;
    *out = c != NULL ? *c : (highwater_agent_counters){0};
}

HW_EXPORT void highwater_agent_total_counters(highwater_agent_counters *out) { hw_live_totals(out); }

HW_EXPORT void highwater_agent_serving(int64_t request) { hw_self.request = request < 0 ? 0 : (uint64_t)request + 1; }

