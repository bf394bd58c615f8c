/* The object cache's key from the planned graphs (cache_key.h). */
#define _GNU_SOURCE /* dl_iterate_phdr */
#include "compiler/codegen/cache_key.h"

#include <elf.h>
#include <link.h>
#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>
#include <llvm/Config/llvm-config.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The structs hashed as raw bytes must hold no pointers (the key would have
 * the address, not what it points to): when a size changes, check the new
 * field, hash what it points to if it is a pointer, then update the size. */
_Static_assert(sizeof(nnc_shape) == 72, "nnc_shape changed: see cache_key.c");
_Static_assert(sizeof(nnc_params) == 136, "nnc_params changed: see cache_key.c");
_Static_assert(sizeof(nnc_node) == 376, "nnc_node changed: see cache_key.c");
/* Hashed field by field below: a new field must be added there. */
_Static_assert(sizeof(nnc_graph) == 56, "nnc_graph changed: hash the new field in graph_key");
/* Everything codegen reads besides the graphs: a new option that changes
 * the code must go into cache_switches. */
_Static_assert(sizeof(nnc_codegen_options) == 48,
               "nnc_codegen_options changed: does the new field change the code? see cache_key.c");

const char *const cache_key_env_code[] = {
    "NNC_VECTOR_WIDTH",   "NNC_KERNEL_SHARING", "NNC_CODEGEN_SPLIT",    "NNC_OPT_UNIFORM",
    "NNC_CONV_EPILOGUE",  "NNC_DENSE_EPILOGUE", "NNC_GEMM_INLINE",      "NNC_EPILOGUE_FOLLOW",
    "NNC_UPDATE_ON_TILE", "NNC_SERIAL_KERNELS", "NNC_STRIP_STEAL",      "NNC_PACK_FREEZE",
    "NNC_PACK_SHORT",     "NNC_CHEAP_CODEGEN",  "NNC_SPLIT_CHEAP",      "NNC_ROW_PIPELINE",
    "NNC_TILE_BORROW",    "NNC_FUSE_SCHEDULE",  "NNC_FUSE_ONE_ELEMENT", "NNC_STRIP_LIB",
    "NNC_ROW_LANES",      "NNC_DRIVER_CODEGEN", "NNC_KSPLIT",           NULL,
};
const char *const cache_key_env_other[] = {
    "NNC_CACHE",        "NNC_CACHE_MAX_MB", "NNC_CODEGEN_SERIAL", "NNC_SPLIT_SMALL_STEPS",
    "NNC_GATHER_AHEAD", "NNC_HUGE_HEAP",    "NNC_PERF_MAP",       NULL};

/* What each code switch's text means, so that values meaning the same code
 * give one key: unset, empty (VAR=) and the default's own text are one
 * entry. Every reader of these switches compares the text with "0" or "1"
 * (or a width), so the empty value is the default for each (env_check.h);
 * `unset` is the text that means the default, NULL for three states (unset
 * is neither 0 nor 1). NNC_VECTOR_WIDTH means the width codegen_vector_width
 * resolves, already in the key (cache_switches). A switch not described
 * here is hashed as raw text (never a stale hit, only a spare entry);
 * test_warm20 compiles each value and checks that values meaning the same
 * make the same object, and that the others change it. */
const cache_switch_meaning cache_key_switch_meanings[] = {
    {"NNC_VECTOR_WIDTH", NULL, 1},    {"NNC_KERNEL_SHARING", "1", 0},
    {"NNC_CODEGEN_SPLIT", "1", 0},    {"NNC_OPT_UNIFORM", "0", 0},
    {"NNC_CONV_EPILOGUE", "1", 0},    {"NNC_DENSE_EPILOGUE", "1", 0},
    {"NNC_GEMM_INLINE", "0", 0},      {"NNC_EPILOGUE_FOLLOW", "1", 0},
    {"NNC_UPDATE_ON_TILE", NULL, 0},  {"NNC_SERIAL_KERNELS", "1", 0},
    {"NNC_STRIP_STEAL", "1", 0},      {"NNC_PACK_FREEZE", "1", 0},
    {"NNC_PACK_SHORT", "1", 0},       {"NNC_CHEAP_CODEGEN", "1", 0},
    {"NNC_SPLIT_CHEAP", "1", 0},      {"NNC_ROW_PIPELINE", "1", 0},
    {"NNC_TILE_BORROW", "1", 0},      {"NNC_FUSE_SCHEDULE", "0", 0},
    {"NNC_FUSE_ONE_ELEMENT", "1", 0}, {"NNC_STRIP_LIB", "1", 0},
    {"NNC_ROW_LANES", "1", 0},        {"NNC_DRIVER_CODEGEN", "1", 0},
    {"NNC_KSPLIT", "1", 0},           {NULL, NULL, 0}};

static void switch_key(obj_key *key, const char *name, const char *v) {
  const cache_switch_meaning *m = cache_key_switch_meanings;
  while (m->name && strcmp(m->name, name)) m++;
  if (!m->name) { /* not described: the raw text; unset differs from "" */
    obj_key_add_str(key, v ? "set" : "unset");
    obj_key_add_str(key, v);
  } else if (m->resolved) {
    obj_key_add_str(key, "resolved"); /* its meaning is hashed with the switches */
  } else if (!v || !v[0] || (m->unset && !strcmp(v, m->unset))) {
    obj_key_add_str(key, "default");
  } else {
    obj_key_add_str(key, "value");
    obj_key_add_str(key, v);
  }
}

static void graph_key(obj_key *key, const nnc_graph *g) {
  obj_key_add(key, g->name, strnlen(g->name, sizeof g->name));
  int64_t head[5] = {g->n, g->loss, g->n_groups, g->fixed_floats, g->batch_floats_per_row};
  obj_key_add(key, head, sizeof head);
  obj_key_add(key, g->nodes, (size_t)g->n * sizeof *g->nodes);
}

typedef struct build_id_search {
  uintptr_t addr;
  unsigned char *buf;
  int n, len;
} build_id_search;

/* The NT_GNU_BUILD_ID note among the PT_NOTE segments of one object. */
static int note_build_id(const struct dl_phdr_info *info, build_id_search *s) {
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_NOTE) continue;
    const unsigned char *p = (const unsigned char *)(info->dlpi_addr + ph->p_vaddr);
    const unsigned char *end = p + ph->p_memsz;
    while (p + sizeof(ElfW(Nhdr)) <= end) {
      ElfW(Nhdr) nh;
      memcpy(&nh, p, sizeof nh);
      const unsigned char *name = p + sizeof nh;
      const unsigned char *desc = name + ((nh.n_namesz + 3) & ~3u);
      const unsigned char *next = desc + ((nh.n_descsz + 3) & ~3u);
      if (next > end) break;
      if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && !memcmp(name, "GNU", 4) &&
          nh.n_descsz > 0 && (int)nh.n_descsz <= s->n) {
        memcpy(s->buf, desc, nh.n_descsz);
        return (int)nh.n_descsz;
      }
      p = next;
    }
  }
  return -1;
}

static int find_object(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  build_id_search *s = data;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
    if (ph->p_type == PT_LOAD && s->addr >= lo && s->addr < lo + ph->p_memsz) {
      s->len = note_build_id(info, s);
      return 1; /* the object holding addr: stop, with or without an id */
    }
  }
  return 0;
}

int cache_key_build_id(const void *addr, unsigned char *buf, int n) {
  build_id_search s = {(uintptr_t)addr, buf, n, -1};
  dl_iterate_phdr(find_object, &s);
  return s.len;
}

/* nnc's code (this function's object) and LLVM's (LLVMContextCreate's). */
static int code_identity(obj_key *key) {
  unsigned char id[64];
  union {
    int (*fn)(obj_key *, const nnc_graph *const *, int, const cache_switches *);
    const void *p;
  } self = {.fn = cache_key_compute};
  union {
    LLVMContextRef (*fn)(void);
    const void *p;
  } llvm = {.fn = LLVMContextCreate};
  int len = cache_key_build_id(self.p, id, sizeof id);
  if (len <= 0) return -1;
  obj_key_add(key, id, (size_t)len);
  len = cache_key_build_id(llvm.p, id, sizeof id);
  if (len <= 0) return -1;
  obj_key_add(key, id, (size_t)len);
  obj_key_add_str(key, LLVM_VERSION_STRING);
  return 0;
}

/* The target host_machine (jit.c) builds from: triple, CPU name, features. */
static void host_identity(obj_key *key) {
  char *triple = LLVMGetDefaultTargetTriple(), *cpu = LLVMGetHostCPUName(),
       *features = LLVMGetHostCPUFeatures();
  obj_key_add_str(key, triple);
  obj_key_add_str(key, cpu);
  obj_key_add_str(key, features);
  LLVMDisposeMessage(triple);
  LLVMDisposeMessage(cpu);
  LLVMDisposeMessage(features);
}

int cache_key_compute(obj_key *key, const nnc_graph *const *graphs, int n,
                      const cache_switches *sw) {
  obj_key_init(key);
  obj_key_add_str(key, "nnc cache key 3"); /* the layout of this function */
  if (code_identity(key)) return -1;
  host_identity(key);
  int32_t s[3] = {sw->vector_width, sw->accumulate_f64, sw->strips};
  obj_key_add(key, s, sizeof s);
  for (int i = 0; cache_key_env_code[i]; i++)
    switch_key(key, cache_key_env_code[i], getenv(cache_key_env_code[i]));
  int32_t count = n;
  obj_key_add(key, &count, sizeof count);
  for (int i = 0; i < n; i++) graph_key(key, graphs[i]);
  return 0;
}
