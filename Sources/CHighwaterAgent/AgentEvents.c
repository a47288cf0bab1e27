// The events file: every thread appends its records to a ring of its own, without a lock, each stamped with a
// number from one process-wide counter; whichever thread finds its ring full (or the parent's checkpoint, a thread
// without a ring, the exit) takes the writer's lock and merges every ring's committed records into the file in the
// counter's order. So a free is in the file after the allocation it ends, and a stack before the first record that
// names it, though different threads recorded them; and no allocating thread waits on another's write(2).
//
// A record is numbered after the call it records has taken effect for other threads to see (an allocation: glibc
// returned the block; a free: before glibc gets the block back), so the counter's order is the order in which
// blocks changed hands. A thread between taking its number and committing its record is a few stores from done:
// the writer waits for it (`writing`), except for its own thread (a signal handler that flushes).
#include "AgentInternal.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

// 64 KiB a thread: about 1 300 records of every-allocation mode between merges; only the pages written are resident.
#define HW_RING_BYTES ((uint64_t)64 * 1024)
#define HW_RINGS 1024

enum { HW_RING_FREE = 0, HW_RING_OWNED = 1, HW_RING_ORPHANED = 2 };

struct hw_ring {
    uint32_t state;        // HW_RING_FREE, HW_RING_OWNED by a live thread, HW_RING_ORPHANED (its thread ended)
    uint32_t writing;      // the owner has taken a number and not yet committed its record
    uint64_t writing_seq;  // that number (or an older one: the writer then waits a little longer)
    uint64_t head;         // bytes committed, ever (the owner)
    uint64_t tail;         // bytes merged into the file, ever (the writer)
    char *data;            // HW_RING_BYTES, mapped when the ring is first claimed and kept for the next owner
} __attribute__((aligned(64)));

// Before each record in a ring: its length and number. A record never wraps around the ring's end (the copies in
// and out are then a few stores, not calls): the room left before the end is skipped with a pad, and every entry
// takes a multiple of 16 bytes, so that room always fits a pad's header.
struct hw_ring_entry {
    uint32_t length;  // of the record; a pad's, of the room it skips, itself included
    uint32_t pad;
    uint64_t seq;
};

static inline size_t hw_ring_stride(size_t length) { return (sizeof(struct hw_ring_entry) + length + 15) & ~(size_t)15; }
static inline struct hw_ring_entry *hw_ring_entry_at(const struct hw_ring *r, uint64_t at) {
    return (struct hw_ring_entry *)(r->data + (at & (HW_RING_BYTES - 1)));
}

// Copies of records: most are one struct hw_event, copied inline.
static inline void hw_copy_record(void *to, const void *from, size_t bytes) {
    if (bytes == sizeof(struct hw_event)) {
        __builtin_memcpy_inline(to, from, sizeof(struct hw_event));
    } else {
        memcpy(to, from, bytes);
    }
}

static struct hw_ring hw_rings[HW_RINGS];
static uint32_t hw_rings_end;  // one past the highest ring ever claimed
static uint64_t hw_seq;        // the next record's number

HW_HIDDEN int hw_out = -1;

// The writer's state, under hw_writer (the tid that holds it): records merged and not yet written.
static int32_t hw_writer;
static char hw_staged[256 * 1024];
static size_t hw_staged_bytes;
static char hw_maps_path[4096];
static uint64_t hw_maps_written_ns;

HW_HIDDEN int32_t hw_tid(struct hw_thread_counts *t) {
    if (t->tid == 0) t->tid = (int32_t)syscall(SYS_gettid);
    return t->tid;
}

static void hw_write_all(int fd, const char *data, size_t length) {
    while (length > 0) {
        ssize_t n = write(fd, data, length);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;  // a full disk: the records after this are lost, the program goes on
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

// Under the writer's lock. The staged records go out, ending with an UNWINDERS record; the map goes with them at
// most once a second (every-allocation mode writes many times a second), so a program that ends with _exit still
// leaves addresses that can be named, up to its last map. An explicit flush and the one at exit always write it.
static void hw_write_staged(int with_maps) {
    if (hw_out < 0) return;
    int wrote = hw_staged_bytes > 0;
    if (wrote) {
        struct hw_event e = {.kind_depth = HW_EVENT_UNWINDERS, .size = hw_unwinders_peak()};
        memcpy(hw_staged + hw_staged_bytes, &e, sizeof(e));
        hw_write_all(hw_out, hw_staged, hw_staged_bytes + sizeof(e));
        hw_staged_bytes = 0;
    }
    if (with_maps || wrote) {
        uint64_t now = hw_now_ns();
        if (with_maps || hw_maps_written_ns == 0 || now - hw_maps_written_ns >= 1000000000ull) {
            hw_write_maps();
            hw_maps_written_ns = now;
        }
    }
}

// Under the writer's lock. Room is kept for the UNWINDERS record every write ends with.
static inline char *hw_stage(size_t bytes) {
    if (__builtin_expect(hw_staged_bytes + bytes + sizeof(struct hw_event) > sizeof(hw_staged), 0)) hw_write_staged(0);
    char *at = hw_staged + hw_staged_bytes;
    hw_staged_bytes += bytes;
    return at;
}

// The ring's next record at *cursor (a pad passed over), or NULL when it has none before `head`.
static inline struct hw_ring_entry *hw_ring_next(const struct hw_ring *r, uint64_t *cursor, uint64_t head) {
    if (*cursor == head) return NULL;
    struct hw_ring_entry *h = hw_ring_entry_at(r, *cursor);
    if (h->pad) {
        *cursor += h->length;
        if (*cursor == head) return NULL;
        h = hw_ring_entry_at(r, *cursor);
    }
    return h;
}

// Under the writer's lock: every record numbered below the counter as it is now goes to the staged records, in
// number order; records numbered later stay for the next merge (a thread may still be committing one before them).
static void hw_merge(void) {
    uint64_t target = __atomic_load_n(&hw_seq, __ATOMIC_SEQ_CST);
    // Read after the counter: a ring claimed by a thread whose record is numbered below `target` is counted.
    uint32_t end = __atomic_load_n(&hw_rings_end, __ATOMIC_SEQ_CST);
    struct hw_ring *mine = hw_self.ring;
    // Static, as only the lock's holder merges: a thread's stack may be small.
    static uint64_t cursor[HW_RINGS], head[HW_RINGS], next_seq[HW_RINGS];
    static uint32_t state[HW_RINGS], active[HW_RINGS];
    uint32_t count = 0;
    for (uint32_t i = 0; i < end; i++) {
        struct hw_ring *r = &hw_rings[i];
        // An orphan stays one until the writer frees it; a ring claimed from here on has nothing numbered below target.
        state[i] = __atomic_load_n(&r->state, __ATOMIC_ACQUIRE);
        if (state[i] == HW_RING_FREE) continue;
        // A record numbered below target is a few stores from committed; a thread stopped there for long (a
        // signal handler that blocks) is left behind after a while rather than waited for without end.
        for (int spins = 0; r != mine && spins < 100000 && __atomic_load_n(&r->writing, __ATOMIC_ACQUIRE)
                            && __atomic_load_n(&r->writing_seq, __ATOMIC_RELAXED) < target; spins++) {
            sched_yield();
        }
        cursor[i] = r->tail;
        head[i] = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
        struct hw_ring_entry *h = hw_ring_next(r, &cursor[i], head[i]);
        if (h == NULL || h->seq >= target) continue;
        next_seq[i] = h->seq;
        active[count++] = i;
    }
    // Each ring is in order already: take the lowest-numbered head of them until none is below target.
    while (count > 0) {
        uint32_t best = 0;
        for (uint32_t k = 1; k < count; k++) if (next_seq[active[k]] < next_seq[active[best]]) best = k;
        uint32_t i = active[best];
        struct hw_ring *r = &hw_rings[i];
        // The lowest ring's records up to the next ring's lowest, in a run.
        uint64_t bound = target;
        for (uint32_t k = 0; k < count; k++) if (k != best && next_seq[active[k]] < bound) bound = next_seq[active[k]];
        struct hw_ring_entry *h = hw_ring_entry_at(r, cursor[i]);
        do {
            hw_copy_record(hw_stage(h->length), h + 1, h->length);
            cursor[i] += hw_ring_stride(h->length);
            h = hw_ring_next(r, &cursor[i], head[i]);
        } while (h != NULL && h->seq < bound);
        if (h != NULL && h->seq < target) {
            next_seq[i] = h->seq;
        } else {
            active[best] = active[--count];
        }
    }
    for (uint32_t i = 0; i < end; i++) {
        struct hw_ring *r = &hw_rings[i];
        if (state[i] == HW_RING_FREE) continue;
        if (cursor[i] != r->tail) __atomic_store_n(&r->tail, cursor[i], __ATOMIC_RELEASE);
        // An ended thread's ring, emptied, goes to the next thread that needs one.
        if (state[i] == HW_RING_ORPHANED && cursor[i] == head[i]) __atomic_store_n(&r->state, HW_RING_FREE, __ATOMIC_RELEASE);
    }
}

// 0 when the calling thread holds the lock already: a signal handler interrupted it while it wrote.
static int hw_writer_lock(struct hw_thread_counts *t) {
    int32_t me = hw_tid(t), expected = 0;
    while (!__atomic_compare_exchange_n(&hw_writer, &expected, me, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
        if (expected == me) return 0;
        expected = 0;
        sched_yield();
    }
    return 1;
}

static void hw_writer_unlock(void) { __atomic_store_n(&hw_writer, 0, __ATOMIC_RELEASE); }

// A ring for the thread: its own, or a free one claimed, mapped the first time; NULL when its thread has ended or
// all are taken (the record then goes through the writer's lock).
static struct hw_ring *hw_ring_of(struct hw_thread_counts *t) {
    if (t->ring != NULL || t->ring_gone) return t->ring;
    for (uint32_t i = 0; i < HW_RINGS; i++) {
        struct hw_ring *r = &hw_rings[i];
        uint32_t expected = HW_RING_FREE;
        if (__atomic_load_n(&r->state, __ATOMIC_RELAXED) != HW_RING_FREE
            || !__atomic_compare_exchange_n(&r->state, &expected, HW_RING_OWNED, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
            continue;
        }
        if (r->data == NULL) {
            void *m = mmap(NULL, HW_RING_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (m == MAP_FAILED) {
                __atomic_store_n(&r->state, HW_RING_FREE, __ATOMIC_RELEASE);
                return NULL;
            }
            r->data = m;
        }
        uint32_t end = __atomic_load_n(&hw_rings_end, __ATOMIC_RELAXED);
        while (end < i + 1 && !__atomic_compare_exchange_n(&hw_rings_end, &end, i + 1, 1, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {}
        t->ring = r;
        return r;
    }
    return NULL;
}

// The room a record of `stride` bytes takes at the ring's head: a pad to the end first when it would wrap.
static inline uint64_t hw_ring_room(const struct hw_ring *r, size_t stride) {
    uint64_t to_end = HW_RING_BYTES - (r->head & (HW_RING_BYTES - 1));
    return stride <= to_end ? stride : to_end + stride;
}

HW_HIDDEN void hw_append_record(struct hw_thread_counts *t, const void *record, size_t bytes, const void *extra, size_t extra_bytes) {
    if (hw_out < 0) return;
    size_t length = bytes + extra_bytes, stride = hw_ring_stride(length);
    struct hw_ring *r = hw_ring_of(t);
    if (r != NULL && r->head + hw_ring_room(r, stride) - __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE) > HW_RING_BYTES) {
        // Full: merge everything numbered so far, this ring's records among them (none of them is in flight).
        if (!hw_writer_lock(t)) return;
        hw_merge();
        hw_writer_unlock();
        if (r->head + hw_ring_room(r, stride) - __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE) > HW_RING_BYTES) r = NULL;
    }
    if (r == NULL) {
        // No ring: under the writer's lock, after everything numbered before it.
        if (!hw_writer_lock(t)) return;
        hw_merge();
        char *at = hw_stage(length);
        hw_copy_record(at, record, bytes);
        if (extra_bytes > 0) memcpy(at + bytes, extra, extra_bytes);
        hw_writer_unlock();
        return;
    }
    uint64_t at = r->head, to_end = HW_RING_BYTES - (at & (HW_RING_BYTES - 1));
    if (stride > to_end) {
        *hw_ring_entry_at(r, at) = (struct hw_ring_entry){.length = (uint32_t)to_end, .pad = 1};
        at += to_end;
    }
    struct hw_ring_entry *h = hw_ring_entry_at(r, at);
    __atomic_store_n(&r->writing, 1, __ATOMIC_RELAXED);
    // Also the release of `writing`: a writer that reads the counter past this number sees this ring busy.
    uint64_t seq = __atomic_fetch_add(&hw_seq, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&r->writing_seq, seq, __ATOMIC_RELAXED);
    *h = (struct hw_ring_entry){.length = (uint32_t)length, .seq = seq};
    hw_copy_record(h + 1, record, bytes);
    if (extra_bytes > 0) memcpy((char *)(h + 1) + bytes, extra, extra_bytes);
    __atomic_store_n(&r->head, at + stride, __ATOMIC_RELEASE);
    __atomic_store_n(&r->writing, 0, __ATOMIC_RELEASE);
}

HW_HIDDEN void hw_events_thread_exit(struct hw_thread_counts *t) {
    // What it recorded stays in its ring until the next merge; what it records from here on goes through the lock.
    if (t->ring != NULL) __atomic_store_n(&t->ring->state, HW_RING_ORPHANED, __ATOMIC_RELEASE);
    t->ring = NULL;
    t->ring_gone = 1;
}

HW_HIDDEN void hw_events_flush(struct hw_thread_counts *t, int with_maps) {
    if (hw_out < 0 || !hw_writer_lock(t)) return;
    hw_merge();
    hw_write_staged(with_maps);
    hw_writer_unlock();
}

// HIGHWATER_AGENT_OUT as given: the first process's events file. Its descendants write OUT.PID beside it.
static char hw_out_base[4000];

HW_HIDDEN int hw_events_open(const char *base, int own_file, int64_t interval) {
    if (base != NULL) {
        if (strlen(base) + 32 >= sizeof(hw_out_base)) return 0;
        strcpy(hw_out_base, base);
    }
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
    struct hw_events_header h = {.interval = interval, .pid = getpid(), .max_depth = HW_MAX_DEPTH};
    memcpy(h.magic, "HWEVENT2", sizeof(h.magic));
    hw_write_all(hw_out, (const char *)&h, sizeof(h));
    return 1;
}

HW_HIDDEN void hw_events_after_fork_in_child(struct hw_thread_counts *t, int64_t interval) {
    // Only the forking thread lives on here: every ring, the staged records and the lock are the parent's, which
    // writes them. The child numbers on from its copy of the counter, into a file of its own.
    hw_writer = 0;
    hw_staged_bytes = 0;
    for (uint32_t i = 0; i < HW_RINGS; i++) {
        hw_rings[i].state = HW_RING_FREE;
        hw_rings[i].writing = 0;
        hw_rings[i].head = hw_rings[i].tail = 0;
    }
    t->ring = NULL;
    t->tid = 0;
    if (hw_out >= 0) close(hw_out);
    hw_out = -1;
    hw_events_open(NULL, 0, interval);
}
