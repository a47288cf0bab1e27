// The live table (AgentLiveLayout.h): every thread's counters in one static table which, when HIGHWATER_AGENT_SHM
// names a directory, is replaced by a MAP_SHARED mapping of DIR/PID.shm at the same address, so the parent sums
// the counters of a running target whenever it samples. The threads keep pointers into the table, so nothing on
// the allocation path changes: the counts simply land in memory the parent can read. A forked child maps a file
// of its own (it starts with its parent's counts, as its heap starts as a copy of its parent's); a program exec'd
// in place replaces the file under the same name (a new file renamed over it), so the parent sees a new inode.
//
// On request (request_pending set by the parent), the next allocation of any thread, after glibc has returned it
// and outside the agent's own lock, calls mallinfo2 and malloc_info and bumps answer_seq: never in a signal
// handler of the agent's own, never on a thread of its own.
#include "AgentInternal.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

_Static_assert(sizeof(struct hw_live_header) == 352, "the header's offsets are the file format");
_Static_assert(sizeof(struct hw_live_slot) == HW_LIVE_SLOT_BYTES, "a slot is one cache line");
_Static_assert(sizeof(struct hw_live_table) == 256 * 1024, "the table is a whole number of pages of any size");

// Aligned to the largest page size, so a mapping can replace exactly its pages; zero-filled (bss), so it costs
// nothing on disk and only the pages of claimed slots in memory.
HW_HIDDEN struct hw_live_table hw_live __attribute__((aligned(65536)));

// glibc 2.33 and later; older ones have only mallinfo, whose int fields wrap past 2 GiB.
extern struct mallinfo2 mallinfo2(void) __attribute__((weak));

static char hw_live_dir[3072];
static int hw_live_mapped;

HW_HIDDEN int hw_pid_text(int pid, char out[16]) {
    int length = 0;
    for (unsigned v = (unsigned)pid; v > 0 || length == 0; v /= 10) out[length++] = (char)('0' + v % 10);
    for (int i = 0; i < length / 2; i++) {
        char c = out[i];
        out[i] = out[length - 1 - i];
        out[length - 1 - i] = c;
    }
    out[length] = 0;
    return length;
}

// DIR/<prefix>PID<suffix>, without printf (also run in a forked child, where only async-signal-safe calls are).
static void hw_live_path(char *out, size_t size, const char *prefix, int pid, const char *suffix) {
    char digits[16];
    hw_pid_text(pid, digits);
    out[0] = 0;
    if (strlen(hw_live_dir) + strlen(prefix) + strlen(digits) + strlen(suffix) + 2 > size) return;
    strcpy(out, hw_live_dir);
    strcat(out, "/");
    strcat(out, prefix);
    strcat(out, digits);
    strcat(out, suffix);
}

// Replaces the table's pages, at the same address, with a copy of them in a mapping of `fd` (MAP_SHARED) or, with
// fd < 0, in private memory. Mapped elsewhere first and moved over the table with one mremap, so a failure leaves
// the table as it was. Increments another thread makes between the copy and the move are lost: this runs in the
// constructor and in a forked child, where that thread is the only one, all but always.
static int hw_live_replace(int fd) {
    size_t size = sizeof(hw_live);
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0 || (uintptr_t)&hw_live % (uintptr_t)page != 0 || size % (size_t)page != 0) return 0;
    void *m = fd >= 0 ? mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
                      : mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return 0;
    size_t used = HW_LIVE_HEADER_BYTES + (size_t)__atomic_load_n(&hw_live.h.slots_end, __ATOMIC_ACQUIRE) * HW_LIVE_SLOT_BYTES;
    memcpy(m, &hw_live, used);
    if (mremap(m, size, size, MREMAP_MAYMOVE | MREMAP_FIXED, &hw_live) == MAP_FAILED) {
        munmap(m, size);
        return 0;
    }
    return 1;
}

// Maps a new file, DIR/.PID.shm.new, over the table; hw_live_publish renames it to DIR/PID.shm once its header is
// right, so the parent never finds a file that is not whole, and a program exec'd in place leaves a new inode under
// the same name.
static int hw_live_map(int pid) {
    char fresh[4096];
    hw_live_path(fresh, sizeof(fresh), ".", pid, ".shm.new");
    if (fresh[0] == 0) return 0;
    int fd = open(fresh, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return 0;
    int ok = ftruncate(fd, sizeof(hw_live)) == 0 && hw_live_replace(fd);
    close(fd);
    if (!ok) unlink(fresh);
    return ok;
}

// Mapped but not renamed: counted as before, only not readable by the parent.
static void hw_live_publish(int pid) {
    char fresh[4096], final[4096];
    hw_live_path(fresh, sizeof(fresh), ".", pid, ".shm.new");
    hw_live_path(final, sizeof(final), "", pid, ".shm");
    if (final[0] == 0 || rename(fresh, final) != 0) unlink(fresh);
}

static void hw_live_header(int pid) {
    memcpy(hw_live.h.magic, "HWLIVE01", 8);
    hw_live.h.version = 1;
    hw_live.h.pid = pid;
    hw_live.h.header_bytes = HW_LIVE_HEADER_BYTES;
    hw_live.h.slot_bytes = HW_LIVE_SLOT_BYTES;
    hw_live.h.slot_count = HW_LIVE_SLOTS;
}

// In a forked child, which has only the thread that forked: its own table (a file, or private memory when there
// is no directory), the other threads' counts folded into `retired` and their slots free again.
static void hw_live_after_fork_in_child(void) {
    int pid = getpid();
    // Until the table is replaced, its pages are the parent's: nothing is written to them here.
    int published = 0;
    if (hw_live_mapped) {
        published = hw_live_map(pid);
        if (!published) {
            // Anything is better than counting into the parent's pages.
            hw_live_mapped = 0;
            hw_live_replace(-1);
        }
    }
    hw_live.h.pid = pid;
    __atomic_store_n(&hw_live.h.request_pending, 0, __ATOMIC_RELAXED);
    hw_live.h.request_seq = 0;
    hw_live.h.answer_seq = 0;
    int mine = hw_self.slot;
    uint32_t end = hw_live.h.slots_end;
    for (uint32_t i = 0; i < end; i++) {
        // The parent's other threads did not cross the fork: their counts are history here.
        if ((int)i != mine && hw_live.slots[i].claimed != 0) hw_live_retire((int)i, &hw_live.slots[i].c);
    }
    if (published) hw_live_publish(pid);
}

HW_HIDDEN void hw_live_start(void) {
    int pid = getpid();
    hw_live_header(pid);
    pthread_atfork(NULL, NULL, hw_live_after_fork_in_child);
    const char *dir = getenv("HIGHWATER_AGENT_SHM");
    if (dir == NULL || dir[0] == 0 || strlen(dir) >= sizeof(hw_live_dir)) return;
    strcpy(hw_live_dir, dir);
    hw_live_mapped = hw_live_map(pid);
    if (hw_live_mapped) hw_live_publish(pid);
}

HW_HIDDEN void hw_live_totals(highwater_agent_counters *out) { hw_live_sum(&hw_live, out); }

HW_HIDDEN void hw_live_add_retired(const highwater_agent_counters *c) {
    highwater_agent_counters *r = &hw_live.h.retired;
    __atomic_fetch_add(&r->allocs, c->allocs, __ATOMIC_RELAXED);
    __atomic_fetch_add(&r->alloc_bytes, c->alloc_bytes, __ATOMIC_RELAXED);
    __atomic_fetch_add(&r->frees, c->frees, __ATOMIC_RELAXED);
    __atomic_fetch_add(&r->freed_bytes, c->freed_bytes, __ATOMIC_RELAXED);
}

HW_HIDDEN void hw_live_retire(int slot, const highwater_agent_counters *c) {
    // Readers of the totals retry while the counts are between the slot and `retired`.
    __atomic_fetch_add(&hw_live.h.exits_begun, 1, __ATOMIC_ACQ_REL);
    hw_live_add_retired(c);
    if (slot >= 0) {
        struct hw_live_slot *s = &hw_live.slots[slot];
        __atomic_store_n(&s->c.allocs, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&s->c.alloc_bytes, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&s->c.frees, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&s->c.freed_bytes, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&s->claimed, 0, __ATOMIC_RELEASE);
    }
    __atomic_fetch_add(&hw_live.h.exits_done, 1, __ATOMIC_RELEASE);
}

// malloc_info's XML to DIR/PID.arenas.xml (a new file renamed over the last). fopen's buffer is an allocation
// like any other: counted, and not sampled (the thread is busy). Returns 0 or the errno that stopped it.
static int hw_live_write_arenas(void) {
    char fresh[4096], final[4096];
    int pid = getpid();
    hw_live_path(fresh, sizeof(fresh), ".", pid, ".arenas.xml.new");
    hw_live_path(final, sizeof(final), "", pid, ".arenas.xml");
    if (fresh[0] == 0 || final[0] == 0) return ENAMETOOLONG;
    FILE *f = fopen(fresh, "we");
    if (f == NULL) return errno;
    int failed = malloc_info(0, f) != 0;
    failed |= fclose(f) != 0;
    if (failed || rename(fresh, final) != 0) {
        int error = errno != 0 ? errno : EIO;
        unlink(fresh);
        return error;
    }
    return 0;
}

HW_HIDDEN void hw_live_serve(struct hw_thread_counts *t) {
    // Inside the agent's own paths (a signal handler that allocates while the thread samples): the next call serves.
    if (t->busy || !hw_live_mapped) return;
    // 1: mallinfo2 only (the sampler's ticks); 2: the arena list too, which walks every arena under its lock.
    uint32_t pending = __atomic_load_n(&hw_live.h.request_pending, __ATOMIC_RELAXED);
    if (pending == 0 || !__atomic_compare_exchange_n(&hw_live.h.request_pending, &pending, 0, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) return;
    t->busy = 1;
    int saved_errno = errno;
    uint64_t seq = __atomic_load_n(&hw_live.h.request_seq, __ATOMIC_ACQUIRE);
    uint64_t *m = hw_live.h.mallinfo;
    if (mallinfo2 != NULL) {
        struct mallinfo2 i = mallinfo2();
        size_t fields[10] = {i.arena, i.ordblks, i.smblks, i.hblks, i.hblkhd, i.usmblks, i.fsmblks, i.uordblks, i.fordblks, i.keepcost};
        for (int k = 0; k < 10; k++) m[k] = fields[k];
    } else {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
        struct mallinfo i = mallinfo();
#pragma GCC diagnostic pop
        int fields[10] = {i.arena, i.ordblks, i.smblks, i.hblks, i.hblkhd, i.usmblks, i.fsmblks, i.uordblks, i.fordblks, i.keepcost};
        for (int k = 0; k < 10; k++) m[k] = (uint64_t)(unsigned)fields[k];
    }
    hw_live_totals(&hw_live.h.answer_counters);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    hw_live.h.answer_t_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
    hw_live.h.answer_error = pending == 2 ? hw_live_write_arenas() : 0;
    __atomic_store_n(&hw_live.h.answer_seq, seq, __ATOMIC_RELEASE);
    hw_sampling_checkpoint();
    errno = saved_errno;
    t->busy = 0;
}
