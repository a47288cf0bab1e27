#ifndef CHIGHWATER_H
#define CHIGHWATER_H

#include <stddef.h>
#include <stdint.h>

// What Swift cannot call directly: glibc's allocator introspection, gettid, and
// libunwind (whose unw_getcontext is a macro).

typedef struct {
    uint64_t arena;     // non-mmapped space obtained from the system (all arenas)
    uint64_t ordblks;   // free chunks
    uint64_t hblks;     // mmapped regions
    uint64_t hblkhd;    // bytes in mmapped regions
    uint64_t uordblks;  // bytes in use (non-mmapped)
    uint64_t fordblks;  // free bytes (non-mmapped)
    uint64_t keepcost;  // top-most releasable bytes
} hw_mallinfo_t;

/// glibc's mallinfo2 totals over every arena.
hw_mallinfo_t hw_mallinfo(void);

/// glibc's malloc_info XML, in a buffer the caller frees with free(). Returns NULL on failure.
char *hw_malloc_info(size_t *length);

/// The number of arenas malloc_info lists (`<heap nr=` elements), counted in C: the sampler asks every 10 ms,
/// and parsing the whole XML for one number cost more than the rest of a sample. -1 on failure.
int hw_arena_count(void);

/// mallopt(M_ARENA_MAX, n); returns 1 on success.
int hw_set_arena_max(int n);

/// malloc_trim(pad); returns 1 if memory was released to the system.
int hw_malloc_trim(size_t pad);

/// The kernel thread id of the caller.
int32_t hw_gettid(void);

/// Fills ips with up to max return addresses of the caller's stack, innermost first,
/// skipping `skip` frames. Returns the number written.
int hw_capture_stack(uintptr_t *ips, int max, int skip);

/// The name of the procedure containing ip (mangled), and the offset into it.
/// Returns 0 on success.
int hw_symbolize(uintptr_t ip, char *name, size_t length, uintptr_t *offset);

/// Names the calling thread (15 characters at most) so /proc/PID/task/TID/comm shows it.
int hw_set_thread_name(const char *name);

/// dladdr: the image holding addr and the nearest dynamic symbol. Returns 0 when none.
int hw_dladdr(uintptr_t addr, const char **image, const char **symbol, uintptr_t *symbol_address);

/// CPUs in this thread's affinity mask (CPU_COUNT of sched_getaffinity); -1 on failure.
int hw_affinity_cpu_count(void);

/// Allocates `size` bytes once per thread and keeps them for the thread's life, as a library's
/// thread-local cache does. Made after a request's working set, it sits above the freed memory
/// in the thread's arena and keeps the arena from shrinking. Returns 1 the first time on a thread.
int hw_pin_thread_arena(size_t size);

/// The calling thread's name into buffer (16 bytes at least). Returns 0 on success.
int hw_get_thread_name(char *buffer, size_t length);

/// The alloc-churn request: allocates `working_set` bytes in `chunk`-sized blocks, touches every
/// page, optionally pins the thread's arena, and frees them. In C, with a compiler barrier, so no
/// optimizer can elide allocations whose contents nobody reads.
void hw_alloc_churn(size_t working_set, size_t chunk, int pin, size_t pin_bytes);

/// Allocates `bytes`, touches them, and keeps them reachable forever: a leak on purpose.
void hw_leak(size_t bytes);

/// pipe2(fds, O_CLOEXEC): both ends closed on exec from the start, so no child spawned meanwhile inherits them.
int hw_pipe_cloexec(int fds[2]);

/// mkostemp(template, O_CLOEXEC); -1 with errno on failure.
int hw_mkstemp_cloexec(char *template_path);

/// The allocation agent's counters (libHighwaterAgent.so, see HighwaterAgent.h): the same layout.
typedef struct {
    uint64_t allocs;
    uint64_t alloc_bytes;
    uint64_t frees;
    uint64_t freed_bytes;
} hw_agent_counters_t;

/// Whether the allocation agent is preloaded into this process (looked up once with dlsym).
int hw_agent_loaded(void);

/// The calling thread's allocation counters from the agent. Returns 0, leaving out untouched, when the
/// agent is not loaded.
int hw_agent_thread_counters(hw_agent_counters_t *out);

/// The process's allocation counters over every thread. Returns 0 when the agent is not loaded.
int hw_agent_total_counters(hw_agent_counters_t *out);

/// Tells the agent which request the calling thread serves now (-1: none), so its samples carry it; nothing
/// without the agent, or with one too old to know requests.
void hw_agent_serving(int64_t request);

/// A live file of the agent (DIR/PID.shm, HIGHWATER_AGENT_SHM), mapped by the parent: the target's pid, or 0 when
/// `size` bytes at `map` are not a live file of the version this Highwater reads.
int32_t hw_agent_live_pid(const void *map, size_t size);

/// The target's counters summed now, from its mapped live file.
void hw_agent_live_sum(const void *map, hw_agent_counters_t *out);

/// Asks the target for mallinfo2 and its arena list, served by its next allocation; the request's number.
uint64_t hw_agent_live_ask(void *map, int with_arenas);

/// What the target answered: glibc's mallinfo2 fields, when (CLOCK_MONOTONIC), its counters at that moment, and
/// the errno that kept the arena list (DIR/PID.arenas.xml) from being written, or 0.
typedef struct {
    uint64_t arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;
    uint64_t t_ns;
    hw_agent_counters_t counters;
    int32_t error;
} hw_agent_live_answer_t;

/// 1 with the answer once request `seq` (or a later one) is answered, else 0.
int hw_agent_live_answer(const void *map, uint64_t seq, hw_agent_live_answer_t *out);

/// The live heap as jemalloc or tcmalloc count it themselves, read inside the process that has it preloaded.
/// jemalloc (mallctl, after an `epoch` refresh): allocated = stats.allocated, active = stats.active, resident =
/// stats.resident, retained = stats.retained (virtual memory kept, not resident). tcmalloc
/// (MallocExtension_GetNumericProperty): allocated = generic.current_allocated_bytes, resident = generic.heap_size
/// minus tcmalloc.pageheap_unmapped_bytes, retained = tcmalloc.pageheap_unmapped_bytes, active = resident minus
/// tcmalloc.pageheap_free_bytes. For both, free = resident minus allocated: what the allocator holds beyond the
/// live heap (dirty pages, its free page heap, its caches).
typedef struct {
    uint64_t allocated, active, resident, retained, free;
} hw_allocator_stats_t;

enum { HW_ALLOCATOR_NONE = 0, HW_ALLOCATOR_JEMALLOC = 1, HW_ALLOCATOR_TCMALLOC = 2 };

/// Which statistics interface the process has (looked up once with dlsym(RTLD_DEFAULT)): HW_ALLOCATOR_*.
int hw_allocator_interface(void);

/// Reads the allocator's own figures into out; returns its HW_ALLOCATOR_* kind, or HW_ALLOCATOR_NONE when the
/// interface is absent or refuses (a jemalloc built without statistics), leaving out zeroed.
int hw_allocator_stats(hw_allocator_stats_t *out);

#endif
