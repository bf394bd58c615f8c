/* Internal to compiler/codegen: the JIT's functions named for `perf`
 * (perf_map.c). NNC_PERF_MAP=1 appends one line per function of each
 * compile's objects to /tmp/perf-PID.map, the file `perf report` reads to
 * name addresses in code that no ELF file on disk holds. */
#ifndef NNC_PERF_MAP_H
#define NNC_PERF_MAP_H

#include <llvm-c/Core.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Object.h>

#include "base/base.h"

/* The functions of one object before the JIT links it: name, offset in the
 * object's text section and size. */
typedef struct perf_map_fn {
  char *name;
  uint64_t offset, size;
} perf_map_fn;
typedef struct perf_map_obj {
  int n;
  perf_map_fn *fn;
} perf_map_obj;

int perf_map_wanted(void);
/* The functions of obj (the buffer stays the caller's). */
int perf_map_collect(LLVMMemoryBufferRef obj, perf_map_obj *out, nnc_status *st);
/* After the JIT linked the object: its text's address from the first
 * function the JIT can look up, then one line per function, appended to
 * /tmp/perf-PID.map (or to `path` if not NULL: tests). */
int perf_map_write(const perf_map_obj *o, LLVMOrcLLJITRef jit, const char *path, nnc_status *st);
void perf_map_free(perf_map_obj *o);

#endif
