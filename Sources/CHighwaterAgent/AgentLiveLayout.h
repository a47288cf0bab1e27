#ifndef HIGHWATER_AGENT_LIVE_LAYOUT_H
#define HIGHWATER_AGENT_LIVE_LAYOUT_H

// The live table: every thread's counters in one page-aligned table, which the agent maps MAP_SHARED from a file
// when HIGHWATER_AGENT_SHM names a directory (DIR/PID.shm), so the parent reads the live heap of a running target
// by summing it, with no thread, lock or syscall added to the target. Without the variable it stays a private
// static table and behaves as the registry of counters did.
//
// The file format (little-endian, version 1). Highwater reads it through this header too (CHighwater.c includes it).
//   0  magic "HWLIVE01"          8  u32 version     12 i32 pid          16 u32 header_bytes  20 u32 slot_bytes
//   24 u32 slot_count            28 u32 slots_end (one past the highest slot ever claimed)
//   32 u64 exits_begun           40 u64 exits_done (a thread's counts move from its slot to `retired` in between)
//   64 u32 request_pending       (the parent sets it, 1 for mallinfo2, 2 with the arena list; the next allocation of any thread serves it)
//   128 u64 request_seq (parent) 136 u64 answer_seq (agent)  144 i32 answer_error (errno of the arena list, 0)
//   192 mallinfo2 at the answer: arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost (u64)
//   272 u64 answer_t_ns (CLOCK_MONOTONIC)  280 the counters summed at the answer (4 x u64)
//   320 retired: the counters of threads that ended (4 x u64)
//   header_bytes + i * slot_bytes: slot i, its thread's counters (4 x u64) then u32 claimed
// The arena list (malloc_info's XML) of an answer goes beside it, to DIR/PID.arenas.xml.
// Included from the parent's shim as well, so the path is relative to this file.
#include "include/HighwaterAgent.h"
#include <stdint.h>

#define HW_LIVE_HEADER_BYTES 4096
#define HW_LIVE_SLOT_BYTES 64
// 256 KiB in all: a multiple of every page size Linux runs (4, 16 or 64 KiB), so the file can be mapped over it.
#define HW_LIVE_SLOTS ((256 * 1024 - HW_LIVE_HEADER_BYTES) / HW_LIVE_SLOT_BYTES)

struct hw_live_slot {
    highwater_agent_counters c;
    uint32_t claimed;
    char pad[HW_LIVE_SLOT_BYTES - sizeof(highwater_agent_counters) - sizeof(uint32_t)];
};

struct hw_live_header {
    char magic[8];
    uint32_t version;
    int32_t pid;
    uint32_t header_bytes;
    uint32_t slot_bytes;
    uint32_t slot_count;
    uint32_t slots_end;
    uint64_t exits_begun;
    uint64_t exits_done;
    char pad0[64 - 48];
    // Its own cache line: every allocation reads it, and nothing else in it is written while the target runs.
    uint32_t request_pending;
    char pad1[128 - 68];
    uint64_t request_seq;
    uint64_t answer_seq;
    int32_t answer_error;
    char pad2[192 - 148];
    uint64_t mallinfo[10];
    uint64_t answer_t_ns;
    highwater_agent_counters answer_counters;
    char pad3[320 - 312];
    highwater_agent_counters retired;
};

struct hw_live_table {
    struct hw_live_header h;
    char pad[HW_LIVE_HEADER_BYTES - sizeof(struct hw_live_header)];
    struct hw_live_slot slots[HW_LIVE_SLOTS];
};

// retired plus every slot ever claimed (free slots hold zeros), retried while a thread's counts move from its slot
// to `retired`: the agent's totals and the parent's reading of a target are this one function.
static inline void hw_live_sum(const struct hw_live_table *table, highwater_agent_counters *out) {
    const struct hw_live_header *h = &table->h;
    for (int attempt = 0;; attempt++) {
        uint64_t begun = __atomic_load_n(&h->exits_begun, __ATOMIC_ACQUIRE);
        uint64_t done = __atomic_load_n(&h->exits_done, __ATOMIC_ACQUIRE);
        const highwater_agent_counters *r = &h->retired;
        highwater_agent_counters sum = {
            .allocs = __atomic_load_n(&r->allocs, __ATOMIC_RELAXED),
            .alloc_bytes = __atomic_load_n(&r->alloc_bytes, __ATOMIC_RELAXED),
            .frees = __atomic_load_n(&r->frees, __ATOMIC_RELAXED),
            .freed_bytes = __atomic_load_n(&r->freed_bytes, __ATOMIC_RELAXED),
        };
        // Only the slots ever claimed: a server has tens of threads, not thousands.
        uint32_t end = __atomic_load_n(&h->slots_end, __ATOMIC_ACQUIRE);
        for (uint32_t i = 0; i < end && i < HW_LIVE_SLOTS; i++) {
            const highwater_agent_counters *c = &table->slots[i].c;
            sum.allocs += __atomic_load_n(&c->allocs, __ATOMIC_RELAXED);
            sum.alloc_bytes += __atomic_load_n(&c->alloc_bytes, __ATOMIC_RELAXED);
            sum.frees += __atomic_load_n(&c->frees, __ATOMIC_RELAXED);
            sum.freed_bytes += __atomic_load_n(&c->freed_bytes, __ATOMIC_RELAXED);
        }
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        // No thread ended meanwhile (or threads kept ending for a hundred tries: the sum is as of about now anyway).
        if ((begun == done && __atomic_load_n(&h->exits_begun, __ATOMIC_RELAXED) == begun) || attempt >= 100) {
            *out = sum;
            return;
        }
    }
}

#endif
