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

// A thread starts unregistered (no counters, until_sample 0), and its first allocation's slow path sorts it out.
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
    // From here every call takes the slow path (its counts go to `retired`), with its own sampling draw.
    t->c = NULL;
    t->after_exit_until = t->until_sample;
    t->until_sample = HW_ALWAYS_SLOW;
}

__attribute__((constructor)) static void hw_agent_start(void) {
    // A key made this early gets an index below 32, whose pthread_setspecific needs no allocation.
    if (pthread_key_create(&hw_exit_key, hw_thread_exit) == 0) hw_exit_key_ready = 1;
    hw_live_start();
    hw_sampling_start();
}

static void hw_register(struct hw_thread_counts *t) {
    highwater_agent_counters *c = &t->own;
    for (int i = 0; i < HW_LIVE_SLOTS; i++) {
        uint32_t expected = 0;
        if (__atomic_compare_exchange_n(&hw_live.slots[i].claimed, &expected, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
            t->slot = i;
            c = &hw_live.slots[i].c;
            uint32_t end = __atomic_load_n(&hw_live.h.slots_end, __ATOMIC_RELAXED);
            while (end < (uint32_t)i + 1 && !__atomic_compare_exchange_n(&hw_live.h.slots_end, &end, (uint32_t)i + 1, 1, __ATOMIC_RELEASE, __ATOMIC_RELAXED)) {}
            break;
        }
    }
    // With the table full the thread still counts (in `own`); its counts reach the totals when it ends.
    t->c = c;
    t->mode = HW_COUNTING;
    if (hw_exit_key_ready) pthread_setspecific(hw_exit_key, t);
}

// glibc keeps each chunk's size in the word before the block, with three flag bits below it; a chunk in an arena
// lends its successor's first word (usable: size - 8), an mmapped one (bit 1) has a two-word header (size - 16).
// The same arithmetic as glibc's musable() for a block in use, without a call through the PLT.
#define HW_MMAPPED 2
static inline size_t hw_arena_usable(size_t header) { return (header & ~(size_t)7) - sizeof(size_t); }
static inline size_t hw_usable_size(const void *p) {
    size_t header = ((const size_t *)p)[-1];
    return hw_arena_usable(header) - ((header & HW_MMAPPED) ? sizeof(size_t) : 0);
}

// One add to a counter only this thread writes. On x86-64 a single add to memory (no lock prefix: no other thread
// writes it, and an aligned 8-byte store is never torn for the parent that reads it); elsewhere a relaxed store,
// which keeps those reads well defined.
#if defined(__x86_64__)
#define HW_BUMP(field, n) __asm__("addq %1, %0" : "+m"(field) : "er"((uint64_t)(n)))
#else
#define HW_BUMP(field, n) __atomic_store_n(&(field), (field) + (n), __ATOMIC_RELAXED)
#endif

// The parent asked for mallinfo2 and the arena list (AgentLive.c): one relaxed load of a line nobody writes meanwhile.
#define HW_LIVE_REQUESTED (__atomic_load_n(&hw_live.h.request_pending, __ATOMIC_RELAXED) != 0)

// Everything but the common case, out of line so the fast paths keep no registers to save: a thread not yet
// registered or already ended, an mmapped block, a sampling threshold crossed, the parent's request.
__attribute__((noinline, cold)) static void hw_alloc_slow(void *p) {
    struct hw_thread_counts *t = &hw_self;
    size_t n = hw_usable_size(p);
    if (t->mode == HW_UNREGISTERED) hw_register(t);
    if (t->mode == HW_EXITED) {
        hw_live_add_retired(&(highwater_agent_counters){.allocs = 1, .alloc_bytes = n});
        // The ended thread's own draw, swapped in for hw_sample, which keeps until_sample.
        t->after_exit_until -= (int64_t)n;
        if (t->after_exit_until < 0) {
            t->until_sample = t->after_exit_until;
            hw_sample(t, p, n);
            t->after_exit_until = t->until_sample;
            t->until_sample = HW_ALWAYS_SLOW;
        }
    } else {
        HW_BUMP(t->c->allocs, 1);
        HW_BUMP(t->c->alloc_bytes, n);
        t->until_sample -= (int64_t)n;
        if (t->until_sample < 0) hw_sample(t, p, n);
    }
    if (HW_LIVE_REQUESTED) hw_live_serve(t);
}

__attribute__((noinline, cold)) static void hw_free_slow(void *p) {
    struct hw_thread_counts *t = &hw_self;
    size_t n = hw_usable_size(p);
    if (t->mode == HW_UNREGISTERED) hw_register(t);
    if (t->mode == HW_EXITED) {
        hw_live_add_retired(&(highwater_agent_counters){.frees = 1, .freed_bytes = n});
    } else {
        HW_BUMP(t->c->frees, 1);
        HW_BUMP(t->c->freed_bytes, n);
    }
    if (__atomic_load_n(&hw_sampled_live, __ATOMIC_RELAXED) != 0 && hw_maybe_sampled((uintptr_t)p)) hw_sample_free(t, p, n);
}

// The common case of every allocation, inline in each entry point: one thread-local draw, one test of the parent's
// request, two adds. until_sample also stands for the thread's state: below 0 until it registers and after it ends.
static inline __attribute__((always_inline)) void hw_count_alloc(void *p) {
    if (__builtin_expect(p == NULL, 0)) return;
    size_t header = ((const size_t *)p)[-1];
    struct hw_thread_counts *t = &hw_self;
    size_t n = hw_arena_usable(header);
    int64_t until = t->until_sample - (int64_t)n;
    if (__builtin_expect((header & HW_MMAPPED) || until < 0 || HW_LIVE_REQUESTED, 0)) {
        hw_alloc_slow(p);
        return;
    }
    t->until_sample = until;
    highwater_agent_counters *c = t->c;
    HW_BUMP(c->allocs, 1);
    HW_BUMP(c->alloc_bytes, n);
}

// Whether free of p needs the slow path; otherwise counts it. c is NULL until the thread registers and after it ends.
static inline __attribute__((always_inline)) int hw_count_free(void *p) {
    size_t header = ((const size_t *)p)[-1];
    highwater_agent_counters *c = hw_self.c;
    if (__builtin_expect(c == NULL || (header & HW_MMAPPED)
                         || (__atomic_load_n(&hw_sampled_live, __ATOMIC_RELAXED) != 0 && hw_maybe_sampled((uintptr_t)p)), 0)) {
        return 1;
    }
    HW_BUMP(c->frees, 1);
    HW_BUMP(c->freed_bytes, hw_arena_usable(header));
    return 0;
}

HW_EXPORT void *malloc(size_t size) {
    void *p = __libc_malloc(size);
    hw_count_alloc(p);
    return p;
}

// The free is counted (and, sampled, recorded) before glibc may hand the block to another thread, whose record of
// it must come after this one.
__attribute__((noinline)) static void hw_free_slow_then_free(void *ptr) {
    hw_free_slow(ptr);
    __libc_free(ptr);
}

HW_EXPORT void free(void *ptr) {
    if (ptr == NULL) return;
    // The slow path ends in glibc's free itself, so the fast one saves no register and ends in a tail call.
    if (__builtin_expect(hw_count_free(ptr), 0)) return hw_free_slow_then_free(ptr);
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
    if (ptr != NULL && hw_count_free(ptr)) hw_free_slow(ptr);
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

