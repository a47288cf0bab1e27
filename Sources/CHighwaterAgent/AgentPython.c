// Python frames in sampled stacks. In a process that runs CPython 3.11, a sampled allocation made by the thread that
// holds the GIL also records the interpreter's frames: read from its own structures, never through its API (which may
// allocate, take locks or run Python inside malloc), and only while this thread is the GIL's holder and the runtime is
// initialised and not finalising. Each frame is one word of the sample's stack, tagged above any user address: the
// code object's id in this process and the instruction it is at. Each code object goes to the events once, as a
// CODE record with its qualified name, file, first line and line table, so the parent computes lines after the
// process has gone. Another version, or an interpreter without the symbols, leaves native frames only, and a PYTHON
// record says why.
#include "AgentInternal.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

// Where CPython 3.11 keeps what the walk reads, on 64-bit (offsetof against its headers, Py_BUILD_CORE:
// Include/cpython/pystate.h, internal/pycore_frame.h, cpython/code.h, cpython/unicodeobject.h, cpython/bytesobject.h).
struct hw_python_layout {
    size_t tstate_cframe, tstate_thread_id, cframe_current_frame;
    size_t frame_code, frame_previous, frame_prev_instr, frame_is_entry, frame_owner;
    size_t code_firstlineno, code_filename, code_qualname, code_linetable, code_firsttraceable, code_code;
    size_t unicode_length, unicode_state, ascii_data, compact_data, bytes_size, bytes_data;
    char owned_by_generator;
};

static const struct hw_python_layout hw_python_311 = {
    .tstate_cframe = 56, .tstate_thread_id = 152, .cframe_current_frame = 8,
    .frame_code = 32, .frame_previous = 48, .frame_prev_instr = 56, .frame_is_entry = 68, .frame_owner = 69,
    .code_firstlineno = 72, .code_filename = 112, .code_qualname = 128, .code_linetable = 136,
    .code_firsttraceable = 168, .code_code = 184,
    .unicode_length = 16, .unicode_state = 32, .ascii_data = 48, .compact_data = 72, .bytes_size = 16, .bytes_data = 32,
    .owned_by_generator = 1,
};

static const struct hw_python_layout *const L = &hw_python_311;

enum { HW_PY_ABSENT, HW_PY_READY, HW_PY_UNSUPPORTED, HW_PY_NO_SYMBOLS, HW_PY_OFF };
static int hw_py_state = HW_PY_ABSENT;
static int hw_py_resolving;
static uint64_t hw_py_next_try_ns;
static uint64_t hw_py_version;  // Py_Version's encoding: 0x030B07F0 is 3.11.7 final
static int hw_py_only;          // HIGHWATER_AGENT_PYTHON=only: the parent folds Python frames alone
static int hw_py_pymalloc;      // PYTHONMALLOC left to pymalloc: objects of 512 bytes or less never reach malloc

static void *(*hw_py_current)(void);
static int (*hw_py_initialized)(void);
static int (*hw_py_finalizing)(void);
static uintptr_t hw_py_code_type, hw_py_unicode_type, hw_py_bytes_type;

static uint64_t hw_py_clock_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

// The version from Py_GetVersion's text ("3.10.12 (main, …)"), for interpreters before Py_Version (3.11): its buffer
// is static and filled with snprintf, no allocation.
static uint64_t hw_py_version_from_text(const char *text) {
    unsigned major = 0, minor = 0;
    const char *c = text;
    while (*c >= '0' && *c <= '9') major = major * 10 + (unsigned)(*c++ - '0');
    if (*c++ != '.') return 0;
    while (*c >= '0' && *c <= '9') minor = minor * 10 + (unsigned)(*c++ - '0');
    return ((uint64_t)major << 24) | ((uint64_t)minor << 16);
}

// Looks the interpreter up: from the constructor (a python executable has libpython, or the interpreter itself, loaded
// by then), and while none is found, from a sample at most once a second (a program that loads Python later).
static void hw_py_resolve(void) {
    if (__atomic_exchange_n(&hw_py_resolving, 1, __ATOMIC_ACQUIRE)) return;
    hw_py_next_try_ns = hw_py_clock_ns() + 1000000000ull;
    const uint32_t *version = dlsym(RTLD_DEFAULT, "Py_Version");
    const char *(*version_text)(void) = version == NULL ? dlsym(RTLD_DEFAULT, "Py_GetVersion") : NULL;
    int state = HW_PY_ABSENT;
    if (version != NULL || version_text != NULL) {
        hw_py_version = version != NULL ? *version : hw_py_version_from_text(version_text());
        const char *allocator = getenv("PYTHONMALLOC");
        hw_py_pymalloc = allocator == NULL || allocator[0] == 0 || strncmp(allocator, "pymalloc", 8) == 0;
        hw_py_current = dlsym(RTLD_DEFAULT, "_PyThreadState_UncheckedGet");
        hw_py_initialized = dlsym(RTLD_DEFAULT, "Py_IsInitialized");
        hw_py_finalizing = dlsym(RTLD_DEFAULT, "_Py_IsFinalizing");
        if (hw_py_finalizing == NULL) hw_py_finalizing = dlsym(RTLD_DEFAULT, "Py_IsFinalizing");
        hw_py_code_type = (uintptr_t)dlsym(RTLD_DEFAULT, "PyCode_Type");
        hw_py_unicode_type = (uintptr_t)dlsym(RTLD_DEFAULT, "PyUnicode_Type");
        hw_py_bytes_type = (uintptr_t)dlsym(RTLD_DEFAULT, "PyBytes_Type");
        const char *choice = getenv("HIGHWATER_AGENT_PYTHON");
        hw_py_only = choice != NULL && strcmp(choice, "only") == 0;
        if (choice != NULL && strcmp(choice, "off") == 0) {
            state = HW_PY_OFF;
        } else if ((hw_py_version >> 16) != 0x030B) {
            state = HW_PY_UNSUPPORTED;
        } else if (hw_py_current == NULL || hw_py_initialized == NULL || hw_py_finalizing == NULL || hw_py_code_type == 0
                   || hw_py_unicode_type == 0 || hw_py_bytes_type == 0) {
            state = HW_PY_NO_SYMBOLS;
        } else {
            state = HW_PY_READY;
        }
    }
    __atomic_store_n(&hw_py_state, state, __ATOMIC_RELEASE);
    __atomic_store_n(&hw_py_resolving, 0, __ATOMIC_RELEASE);
}

HW_HIDDEN int hw_python_exiting(void) {
    int state = __atomic_load_n(&hw_py_state, __ATOMIC_ACQUIRE);
    return state != HW_PY_ABSENT && hw_py_finalizing != NULL && hw_py_finalizing();
}

static inline uintptr_t hw_word(uintptr_t base, size_t offset) { return *(const uintptr_t *)(base + offset); }

HW_HIDDEN void hw_python_capture(struct hw_python_stack *s) {
    s->count = 0;
    int state = __atomic_load_n(&hw_py_state, __ATOMIC_ACQUIRE);
    if (state == HW_PY_ABSENT && hw_py_clock_ns() >= hw_py_next_try_ns) {
        hw_py_resolve();
        state = __atomic_load_n(&hw_py_state, __ATOMIC_ACQUIRE);
    }
    if (state != HW_PY_READY || !hw_py_initialized() || hw_py_finalizing()) return;
    // The thread state the GIL's holder installed: this thread's only while it holds the GIL (a thread that released
    // it, or never had a Python thread state, finds another's or none).
    uintptr_t tstate = (uintptr_t)hw_py_current();
    if (tstate == 0 || *(const unsigned long *)(tstate + L->tstate_thread_id) != (unsigned long)pthread_self()) return;
    uintptr_t cframe = hw_word(tstate, L->tstate_cframe);
    uintptr_t frame = cframe == 0 ? 0 : hw_word(cframe, L->cframe_current_frame);
    for (int steps = 0; frame != 0 && steps < 1024 && s->count < HW_PYTHON_MAX_FRAMES; steps++) {
        uintptr_t code = hw_word(frame, L->frame_code);
        // Anything but a code object is a frame this layout does not describe: stop rather than read on.
        if (code == 0 || hw_word(code, sizeof(uintptr_t)) != hw_py_code_type) break;
        int entry = *(const char *)(frame + L->frame_is_entry) != 0;
        uintptr_t start = code + L->code_code;
        uintptr_t at = hw_word(frame, L->frame_prev_instr);
        int traceable = *(const int *)(code + L->code_firsttraceable);
        int incomplete = *(const char *)(frame + L->frame_owner) != L->owned_by_generator && at < start + (uintptr_t)traceable * 2;
        if (!incomplete) {
            s->frames[s->count++] = (struct hw_python_frame){.code = code, .instruction = (uint32_t)((at - start) / 2), .entry = entry};
        } else if (entry) {
            // An evaluation loop that has not started its frame yet still stands for one native activation.
            s->frames[s->count++] = (struct hw_python_frame){.code = 0, .entry = 1};
        }
        frame = hw_word(frame, L->frame_previous);
    }
}

// The code objects written to this process's events file, by address: open addressing in a region mapped
// MAP_NORESERVE. A code object freed and another made at its address differs in its names or first line, and gets
// an id of its own.
#define HW_CODE_SLOTS (1u << 16)
struct hw_code_slot {
    uintptr_t code, qualname, filename;
    uint32_t id;
    int32_t firstlineno;
};
static struct hw_code_slot *hw_code_slots;
static uint32_t hw_codes;
static int hw_py_state_written;

// A CODE record's payload: lengths, then the qualified name, the file name and the line table, padded to words.
#define HW_CODE_PAYLOAD_MAX 8192
static uint64_t hw_code_payload[HW_CODE_PAYLOAD_MAX / 8];

// A str's text as UTF-8 into out (at most room bytes), read from its compact representation; 0 when it is not one.
static size_t hw_py_text(uintptr_t str, char *out, size_t room) {
    if (str == 0 || hw_word(str, sizeof(uintptr_t)) != hw_py_unicode_type) return 0;
    uint32_t state = *(const uint32_t *)(str + L->unicode_state);
    unsigned kind = (state >> 2) & 7, compact = (state >> 5) & 1, ascii = (state >> 6) & 1;
    if (!compact) return 0;
    size_t length = (size_t)*(const int64_t *)(str + L->unicode_length);
    const unsigned char *data = (const unsigned char *)(str + (ascii ? L->ascii_data : L->compact_data));
    size_t n = 0;
    for (size_t i = 0; i < length; i++) {
        uint32_t c = kind == 1 ? data[i] : kind == 2 ? ((const uint16_t *)data)[i] : ((const uint32_t *)data)[i];
        char bytes[4];
        size_t k;
        if (c < 0x80) { bytes[0] = (char)c; k = 1; }
        else if (c < 0x800) { bytes[0] = (char)(0xC0 | (c >> 6)); bytes[1] = (char)(0x80 | (c & 0x3F)); k = 2; }
        else if (c < 0x10000) { bytes[0] = (char)(0xE0 | (c >> 12)); bytes[1] = (char)(0x80 | ((c >> 6) & 0x3F)); bytes[2] = (char)(0x80 | (c & 0x3F)); k = 3; }
        else { bytes[0] = (char)(0xF0 | (c >> 18)); bytes[1] = (char)(0x80 | ((c >> 12) & 0x3F)); bytes[2] = (char)(0x80 | ((c >> 6) & 0x3F)); bytes[3] = (char)(0x80 | (c & 0x3F)); k = 4; }
        if (n + k > room) break;
        memcpy(out + n, bytes, k);
        n += k;
    }
    return n;
}

// Writes code's CODE record with a new id; only a thread holding the GIL gets here, so the GIL orders the table.
static uint32_t hw_code_write(uintptr_t code, hw_python_append_fn append, void *context) {
    char *bytes = (char *)(hw_code_payload + 2);
    size_t room = sizeof(hw_code_payload) - 16;
    uint32_t qualname = (uint32_t)hw_py_text(hw_word(code, L->code_qualname), bytes, 512);
    uint32_t filename = (uint32_t)hw_py_text(hw_word(code, L->code_filename), bytes + qualname, 1024);
    uintptr_t table = hw_word(code, L->code_linetable);
    uint32_t lines = 0;
    if (table != 0 && hw_word(table, sizeof(uintptr_t)) == hw_py_bytes_type) {
        size_t size = (size_t)*(const int64_t *)(table + L->bytes_size), left = room - qualname - filename;
        // A longer table is cut: the lines past its end read as the code's first line.
        lines = (uint32_t)(size < left ? size : left);
        memcpy(bytes + qualname + filename, (const char *)(table + L->bytes_data), lines);
    }
    hw_code_payload[0] = (uint64_t)qualname | ((uint64_t)filename << 32);
    hw_code_payload[1] = (uint64_t)lines | ((uint64_t)(uint32_t)*(const int32_t *)(code + L->code_firstlineno) << 32);
    size_t words = 2 + (qualname + filename + lines + 7) / 8;
    uint32_t id = ++hw_codes;
    append(context, HW_EVENT_PYTHON_CODE, id, 0, hw_code_payload, (int)words);
    return id;
}

static uint32_t hw_code_id(uintptr_t code, hw_python_append_fn append, void *context) {
    if (hw_code_slots == NULL) {
        void *m = mmap(NULL, HW_CODE_SLOTS * sizeof(struct hw_code_slot), PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (m == MAP_FAILED) return 0;
        hw_code_slots = m;
    }
    uintptr_t qualname = hw_word(code, L->code_qualname), filename = hw_word(code, L->code_filename);
    int32_t first = *(const int32_t *)(code + L->code_firstlineno);
    for (uint32_t i = (uint32_t)(((uint64_t)(code >> 4) * 0x9E3779B97F4A7C15ull) >> 48) & (HW_CODE_SLOTS - 1);;
         i = (i + 1) & (HW_CODE_SLOTS - 1)) {
        struct hw_code_slot *slot = &hw_code_slots[i];
        if (slot->code == code) {
            if (slot->qualname != qualname || slot->filename != filename || slot->firstlineno != first) {
                slot->qualname = qualname; slot->filename = filename; slot->firstlineno = first;
                slot->id = hw_code_write(code, append, context);
            }
            return slot->id;
        }
        if (slot->code == 0) {
            // Kept at most half full; past that, frames of new code objects go unrecorded.
            if (hw_codes >= HW_CODE_SLOTS / 2) return 0;
            *slot = (struct hw_code_slot){.code = code, .qualname = qualname, .filename = filename, .firstlineno = first};
            slot->id = hw_code_write(code, append, context);
            return slot->id;
        }
    }
}

HW_HIDDEN int hw_python_words(const struct hw_python_stack *s, void **out, int room, hw_python_append_fn append, void *context) {
    int state = __atomic_load_n(&hw_py_state, __ATOMIC_ACQUIRE);
    if (state == HW_PY_ABSENT) return 0;
    // Once per process, by whichever thread samples first (with the GIL or without: hence the exchange).
    if (!__atomic_exchange_n(&hw_py_state_written, 1, __ATOMIC_ACQ_REL)) {
        // What the parent says in the run's notes: the interpreter found, and whether its frames are recorded.
        uint64_t status = (uint64_t)state | (hw_py_only ? HW_PYTHON_ONLY : 0) | (hw_py_pymalloc ? HW_PYTHON_PYMALLOC : 0);
        append(context, HW_EVENT_PYTHON, hw_py_version, status, NULL, 0);
    }
    int n = 0;
    for (int i = 0; i < s->count && n < room; i++) {
        uint32_t id = s->frames[i].code == 0 ? 0 : hw_code_id(s->frames[i].code, append, context);
        if (id == 0 && !s->frames[i].entry) continue;
        uint64_t word = HW_PYTHON_TAG | (s->frames[i].entry ? HW_PYTHON_ENTRY : 0) | ((uint64_t)(id & 0x7FFFFFFF) << 24)
                        | (s->frames[i].instruction < 0xFFFFFF ? s->frames[i].instruction : 0xFFFFFF);
        out[n++] = (void *)(uintptr_t)word;
    }
    return n;
}

// A forked child writes an events file of its own: its code objects and the interpreter's state go there anew.
static void hw_python_after_fork_in_child(void) {
    if (hw_code_slots != NULL) munmap(hw_code_slots, HW_CODE_SLOTS * sizeof(struct hw_code_slot));
    hw_code_slots = NULL;
    hw_codes = 0;
    hw_py_state_written = 0;
}

__attribute__((constructor)) static void hw_python_start(void) {
    hw_py_resolve();
    pthread_atfork(NULL, NULL, hw_python_after_fork_in_child);
}
