#include "CHighwater.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <libunwind.h>
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <sys/prctl.h>
#include <fcntl.h>

hw_mallinfo_t hw_mallinfo(void) {
    struct mallinfo2 m = mallinfo2();
    hw_mallinfo_t r = {
        .arena = m.arena, .ordblks = m.ordblks, .hblks = m.hblks, .hblkhd = m.hblkhd,
        .uordblks = m.uordblks, .fordblks = m.fordblks, .keepcost = m.keepcost,
    };
    return r;
}

char *hw_malloc_info(size_t *length) {
    char *buffer = NULL;
    size_t size = 0;
    FILE *stream = open_memstream(&buffer, &size);
    if (stream == NULL) return NULL;
    int rc = malloc_info(0, stream);
    fclose(stream);
    if (rc != 0) {
        free(buffer);
        return NULL;
    }
    *length = size;
    return buffer;
}

int hw_arena_count(void) {
    size_t length = 0;
    char *xml = hw_malloc_info(&length);
    if (xml == NULL) return -1;
    int count = 0;
    for (const char *p = xml; (p = strstr(p, "<heap nr=")) != NULL; p += 9) count++;
    free(xml);
    return count;
}

int hw_set_arena_max(int n) { return mallopt(M_ARENA_MAX, n); }

int hw_malloc_trim(size_t pad) { return malloc_trim(pad); }

int32_t hw_gettid(void) { return (int32_t)syscall(SYS_gettid); }

int hw_capture_stack(uintptr_t *ips, int max, int skip) {
    unw_context_t context;
    unw_cursor_t cursor;
    if (unw_getcontext(&context) != 0) return 0;
    if (unw_init_local(&cursor, &context) != 0) return 0;
    int count = 0;
    while (count < max && unw_step(&cursor) > 0) {
        unw_word_t ip = 0;
        if (unw_get_reg(&cursor, UNW_REG_IP, &ip) != 0 || ip == 0) break;
        if (skip > 0) { skip--; continue; }
        ips[count++] = (uintptr_t)ip;
    }
    return count;
}

int hw_symbolize(uintptr_t ip, char *name, size_t length, uintptr_t *offset) {
    unw_context_t context;
    unw_cursor_t cursor;
    if (unw_getcontext(&context) != 0) return -1;
    if (unw_init_local(&cursor, &context) != 0) return -1;
    // Point the cursor at ip so libunwind looks up the procedure that holds it.
    if (unw_set_reg(&cursor, UNW_REG_IP, (unw_word_t)ip) != 0) return -1;
    unw_word_t off = 0;
    int rc = unw_get_proc_name(&cursor, name, length, &off);
    if (rc != 0 && rc != -UNW_ENOMEM) return -1;
    *offset = (uintptr_t)off;
    return 0;
}

int hw_set_thread_name(const char *name) {
    char truncated[16];
    strncpy(truncated, name, 15);
    truncated[15] = 0;
    return pthread_setname_np(pthread_self(), truncated);
}

int hw_dladdr(uintptr_t addr, const char **image, const char **symbol, uintptr_t *symbol_address) {
    Dl_info info;
    if (dladdr((void *)addr, &info) == 0) return 0;
    *image = info.dli_fname;
    *symbol = info.dli_sname;
    *symbol_address = (uintptr_t)info.dli_saddr;
    return 1;
}

int hw_affinity_cpu_count(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) != 0) return -1;
    return CPU_COUNT(&set);
}


static __thread void *hw_thread_pin;

int hw_pin_thread_arena(size_t size) {
    if (hw_thread_pin != NULL) return 0;
    hw_thread_pin = malloc(size);
    if (hw_thread_pin != NULL) memset(hw_thread_pin, 0xA5, size);
    return 1;
}

int hw_get_thread_name(char *buffer, size_t length) { return pthread_getname_np(pthread_self(), buffer, length); }

// Tells the compiler the pointer escapes, so malloc/memset/free are kept as written.
static inline void hw_escape(void *p) { __asm__ volatile("" : : "r"(p) : "memory"); }

void hw_alloc_churn(size_t working_set, size_t chunk, int pin, size_t pin_bytes) {
    size_t count = chunk > 0 ? working_set / chunk : 0;
    void **blocks = malloc(count * sizeof(void *));
    if (blocks == NULL) return;
    for (size_t i = 0; i < count; i++) {
        blocks[i] = malloc(chunk);
        if (blocks[i] != NULL) memset(blocks[i], (int)(i & 0xff), chunk);
        hw_escape(blocks[i]);
    }
    if (pin) hw_pin_thread_arena(pin_bytes);
    for (size_t i = 0; i < count; i++) free(blocks[i]);
    free(blocks);
}

struct hw_leaked { struct hw_leaked *next; };
static struct hw_leaked *hw_leaked_head;
static pthread_mutex_t hw_leak_lock = PTHREAD_MUTEX_INITIALIZER;

void hw_leak(size_t bytes) {
    if (bytes < sizeof(struct hw_leaked)) bytes = sizeof(struct hw_leaked);
    struct hw_leaked *block = malloc(bytes);
    if (block == NULL) return;
    memset(block, 0x5A, bytes);
    pthread_mutex_lock(&hw_leak_lock);
    block->next = hw_leaked_head;
    hw_leaked_head = block;
    pthread_mutex_unlock(&hw_leak_lock);
}

int hw_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int hw_mkstemp_cloexec(char *template_path) { return mkostemp(template_path, O_CLOEXEC); }

// The agent's entry points, found once: dlsym may allocate, so never on a request's path.
typedef void (*hw_agent_read_fn)(hw_agent_counters_t *);
static hw_agent_read_fn hw_agent_thread_fn;
static hw_agent_read_fn hw_agent_total_fn;
static void (*hw_agent_serving_fn)(int64_t);
static pthread_once_t hw_agent_once = PTHREAD_ONCE_INIT;

static void hw_agent_lookup(void) {
    hw_agent_thread_fn = (hw_agent_read_fn)dlsym(RTLD_DEFAULT, "highwater_agent_thread_counters");
    hw_agent_total_fn = (hw_agent_read_fn)dlsym(RTLD_DEFAULT, "highwater_agent_total_counters");
    hw_agent_serving_fn = (void (*)(int64_t))dlsym(RTLD_DEFAULT, "highwater_agent_serving");
}

int hw_agent_loaded(void) {
    pthread_once(&hw_agent_once, hw_agent_lookup);
    return hw_agent_thread_fn != NULL && hw_agent_total_fn != NULL;
}

int hw_agent_thread_counters(hw_agent_counters_t *out) {
    if (!hw_agent_loaded()) return 0;
    hw_agent_thread_fn(out);
    return 1;
}

int hw_agent_total_counters(hw_agent_counters_t *out) {
    if (!hw_agent_loaded()) return 0;
    hw_agent_total_fn(out);
    return 1;
}

void hw_agent_serving(int64_t request) {
    if (hw_agent_loaded() && hw_agent_serving_fn != NULL) hw_agent_serving_fn(request);
}

// The agent's live file, read through the agent's own definition of it (one layout, one sum).
#include "../CHighwaterAgent/AgentLiveLayout.h"

_Static_assert(sizeof(hw_agent_counters_t) == sizeof(highwater_agent_counters), "the agent's counters, field for field");

int32_t hw_agent_live_pid(const void *map, size_t size) {
    const struct hw_live_header *h = map;
    if (size < sizeof(struct hw_live_table) || memcmp(h->magic, "HWLIVE01", 8) != 0 || h->version != 1) return 0;
    if (h->header_bytes != HW_LIVE_HEADER_BYTES || h->slot_bytes != HW_LIVE_SLOT_BYTES || h->slot_count != HW_LIVE_SLOTS) return 0;
    return h->pid;
}

void hw_agent_live_sum(const void *map, hw_agent_counters_t *out) {
    highwater_agent_counters sum;
    hw_live_sum(map, &sum);
    memcpy(out, &sum, sizeof(sum));
}

uint64_t hw_agent_live_ask(void *map, int with_arenas) {
    struct hw_live_header *h = map;
    // The number, then the flag the target's allocations test.
    uint64_t seq = __atomic_add_fetch(&h->request_seq, 1, __ATOMIC_RELEASE);
    __atomic_store_n(&h->request_pending, with_arenas ? 2 : 1, __ATOMIC_RELEASE);
    return seq;
}

int hw_agent_live_answer(const void *map, uint64_t seq, hw_agent_live_answer_t *out) {
    const struct hw_live_header *h = map;
    if (__atomic_load_n(&h->answer_seq, __ATOMIC_ACQUIRE) < seq) return 0;
    const uint64_t *m = h->mallinfo;
    *out = (hw_agent_live_answer_t){
        .arena = m[0], .ordblks = m[1], .smblks = m[2], .hblks = m[3], .hblkhd = m[4], .usmblks = m[5],
        .fsmblks = m[6], .uordblks = m[7], .fordblks = m[8], .keepcost = m[9], .t_ns = h->answer_t_ns,
        .error = h->answer_error,
    };
    memcpy(&out->counters, &h->answer_counters, sizeof(out->counters));
    return 1;
}

// jemalloc's and tcmalloc's statistics entry points, found once. Neither is linked: the process has them only
// when the allocator is preloaded, and glibc has neither.
typedef int (*hw_mallctl_fn)(const char *, void *, size_t *, void *, size_t);
typedef int (*hw_tc_property_fn)(const char *, size_t *);
static hw_mallctl_fn hw_mallctl;
static hw_tc_property_fn hw_tc_property;
static pthread_once_t hw_allocator_once = PTHREAD_ONCE_INIT;

static void hw_allocator_resolve(void) {
    hw_mallctl = (hw_mallctl_fn)dlsym(RTLD_DEFAULT, "mallctl");
    hw_tc_property = (hw_tc_property_fn)dlsym(RTLD_DEFAULT, "MallocExtension_GetNumericProperty");
}

int hw_allocator_interface(void) {
    pthread_once(&hw_allocator_once, hw_allocator_resolve);
    if (hw_mallctl != NULL) return HW_ALLOCATOR_JEMALLOC;
    if (hw_tc_property != NULL) return HW_ALLOCATOR_TCMALLOC;
    return HW_ALLOCATOR_NONE;
}

static int hw_je_size(const char *name, uint64_t *out) {
    size_t value = 0, length = sizeof(value);
    if (hw_mallctl(name, &value, &length, NULL, 0) != 0) return 0;
    *out = value;
    return 1;
}

static int hw_tc_size(const char *name, uint64_t *out) {
    size_t value = 0;
    if (!hw_tc_property(name, &value)) return 0;
    *out = value;
    return 1;
}

int hw_allocator_stats(hw_allocator_stats_t *out) {
    memset(out, 0, sizeof(*out));
    switch (hw_allocator_interface()) {
    case HW_ALLOCATOR_JEMALLOC: {
        // jemalloc's statistics are a snapshot taken at the last epoch: advance it first.
        uint64_t epoch = 1;
        size_t length = sizeof(epoch);
        if (hw_mallctl("epoch", &epoch, &length, &epoch, length) != 0) return HW_ALLOCATOR_NONE;
        if (!hw_je_size("stats.allocated", &out->allocated) || !hw_je_size("stats.active", &out->active)
            || !hw_je_size("stats.resident", &out->resident)) {
            memset(out, 0, sizeof(*out));
            return HW_ALLOCATOR_NONE;
        }
        hw_je_size("stats.retained", &out->retained);
        out->free = out->resident > out->allocated ? out->resident - out->allocated : 0;
        return HW_ALLOCATOR_JEMALLOC;
    }
    case HW_ALLOCATOR_TCMALLOC: {
        uint64_t heap = 0;
        if (!hw_tc_size("generic.current_allocated_bytes", &out->allocated) || !hw_tc_size("generic.heap_size", &heap)) {
            memset(out, 0, sizeof(*out));
            return HW_ALLOCATOR_NONE;
        }
        // gperftools derives current_allocated_bytes by subtracting its caches from the heap, read without one lock:
        // while other threads allocate the difference can wrap below zero (seen: 2^64 - 269712). Such a reading
        // is torn, not a figure; the caller keeps its last good one.
        if (out->allocated > heap) {
            memset(out, 0, sizeof(*out));
            return HW_ALLOCATOR_NONE;
        }
        hw_tc_size("tcmalloc.pageheap_unmapped_bytes", &out->retained);
        hw_tc_size("tcmalloc.pageheap_free_bytes", &out->free);
        out->resident = heap > out->retained ? heap - out->retained : 0;
        out->active = out->resident > out->free ? out->resident - out->free : 0;
        // What tcmalloc holds beyond the live heap: its free page heap and its thread and central caches.
        out->free = out->resident > out->allocated ? out->resident - out->allocated : 0;
        return HW_ALLOCATOR_TCMALLOC;
    }
    default:
        return HW_ALLOCATOR_NONE;
    }
}
