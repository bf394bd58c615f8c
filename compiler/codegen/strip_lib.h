/* compiler/codegen/strip_lib — the GEMM strip library: every strip variant
 * without an epilogue, compiled once when nnc is built (tools/strip_lib)
 * for the machine that builds it, and linked into each JIT instead of being
 * generated and compiled again per model (docs/performance.md, "Session 28:
 * the strip library"). Used when the running host's triple, CPU and
 * features are the build's, for vector widths it holds; NNC_STRIP_LIB=0,
 * or a switch that changes how strips are built set off its default
 * (NNC_GEMM_INLINE, NNC_TILE_BORROW, NNC_PACK_SHORT, NNC_PACK_FREEZE,
 * NNC_OPT_UNIFORM), gives every module its own strips, as does an
 * ahead-of-time object. The same IR either way, with the row stride and
 * the last vector's columns as arguments: results are the same bits. */
#ifndef NNC_STRIP_LIB_H
#define NNC_STRIP_LIB_H

#include <llvm-c/LLJIT.h>
#include <stddef.h>

#include "nnc.h"

enum { STRIP_LIB_WIDTHS = 3 }; /* vector widths 4, 8 and 16 */

/* One object per vector width, so a JIT links only its width's strips. */
typedef struct nnc_strip_library {
  const char *host; /* triple, CPU and features it was compiled for */
  struct {
    int width;                   /* floats per vector; 0: none */
    const unsigned char *object; /* an ELF object */
    size_t size;
  } part[STRIP_LIB_WIDTHS];
} nnc_strip_library;

/* The library linked into this build: tools/strip_lib's generated one, or
 * its empty stand-in in the generator itself. */
extern const nnc_strip_library nnc_strip_library_built;

/* The switches that change how strips are emitted, with their defaults
 * (NULL-terminated): set off its default, one keeps the library out, and
 * the generator builds with none set. */
typedef struct strip_lib_switch {
  const char *name, *def;
} strip_lib_switch;
extern const strip_lib_switch strip_lib_switches[];

/* CG_STRIPS_LIBRARY when modules of vector width vw take their strips
 * from the library here, else CG_STRIPS_OWN. */
int strip_lib_mode(int vw);

/* The library's object of width vw into a JIT's dylib (strip_lib_mode said so). */
int strip_lib_link(LLVMOrcLLJITRef jit, LLVMOrcJITDylibRef dylib, int vw, nnc_status *st);

/* The library's object of vector width vw, or NULL. */
const unsigned char *strip_lib_object(int vw, size_t *size);

/* Its functions for NNC_PERF_MAP (perf_map.h), before linking. */
struct perf_map_obj;
int strip_lib_perf_collect(int vw, struct perf_map_obj *out, nnc_status *st);

/* The library's object of vector width vw for this host (the generator):
 * malloc'd into *obj. */
int strip_lib_build(int vw, void **obj, size_t *len, nnc_status *st);
/* "triple cpu features" of this host (malloc'd; NULL without memory). */
char *strip_lib_host(void);

#endif
