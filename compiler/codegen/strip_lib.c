/* The GEMM strip library: which modules take it, linking it into a JIT,
 * and building it (strip_lib.h). */
#include "compiler/codegen/strip_lib.h"

#include <llvm-c/Core.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/TargetMachine.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "compiler/codegen/cg.h"
#include "compiler/codegen/module_split.h"
#include "compiler/codegen/pack_freeze.h"
#include "compiler/codegen/perf_map.h"

int codegen_host_object(LLVMModuleRef mod, LLVMMemoryBufferRef *obj, nnc_status *st);

char *strip_lib_host(void) {
  char *triple = LLVMGetDefaultTargetTriple(), *cpu = LLVMGetHostCPUName();
  char *features = LLVMGetHostCPUFeatures();
  size_t n = strlen(triple) + strlen(cpu) + strlen(features) + 3;
  char *s = malloc(n);
  if (s) snprintf(s, n, "%s %s %s", triple, cpu, features);
  LLVMDisposeMessage(triple);
  LLVMDisposeMessage(cpu);
  LLVMDisposeMessage(features);
  return s;
}

static pthread_once_t host_once = PTHREAD_ONCE_INIT;
static int host_matches;

static void check_host(void) {
  const nnc_strip_library *lib = &nnc_strip_library_built;
  if (!lib->host) return;
  char *here = strip_lib_host();
  host_matches = here && !strcmp(here, lib->host);
  free(here);
}

/* A variable that changes the strips' code from the library's: set to
 * anything but its default, each module builds its own. */
static int set_off_default(const char *name, const char *def) {
  const char *e = getenv(name);
  return e && *e && strcmp(e, def);
}

const unsigned char *strip_lib_object(int vw, size_t *size) {
  const nnc_strip_library *lib = &nnc_strip_library_built;
  for (int i = 0; i < STRIP_LIB_WIDTHS; i++)
    if (lib->part[i].width == vw && lib->part[i].size) {
      *size = lib->part[i].size;
      return lib->part[i].object;
    }
  *size = 0;
  return NULL;
}

const strip_lib_switch strip_lib_switches[] = {{"NNC_GEMM_INLINE", "0"}, {"NNC_TILE_BORROW", "1"},
                                               {"NNC_PACK_SHORT", "1"},  {"NNC_PACK_FREEZE", "1"},
                                               {"NNC_OPT_UNIFORM", "0"}, {NULL, NULL}};

int strip_lib_mode(int vw) {
  if (set_off_default("NNC_STRIP_LIB", "1")) return CG_STRIPS_OWN;
  for (const strip_lib_switch *w = strip_lib_switches; w->name; w++)
    if (set_off_default(w->name, w->def)) return CG_STRIPS_OWN;
  size_t size;
  if (!strip_lib_object(vw, &size)) return CG_STRIPS_OWN;
  pthread_once(&host_once, check_host);
  return host_matches ? CG_STRIPS_LIBRARY : CG_STRIPS_OWN;
}

/* The library's object of width vw as a memory buffer (not a copy). */
static LLVMMemoryBufferRef library_buffer(int vw, nnc_status *st) {
  size_t size;
  const unsigned char *object = strip_lib_object(vw, &size);
  if (!object) {
    nnc_fail(st, NNC_ERR_INTERNAL, "no strip library of width %d", vw);
    return NULL;
  }
  return LLVMCreateMemoryBufferWithMemoryRange((const char *)object, size, "nnc_strip_library.o",
                                               0);
}

int strip_lib_link(LLVMOrcLLJITRef jit, LLVMOrcJITDylibRef dylib, int vw, nnc_status *st) {
  LLVMMemoryBufferRef buf = library_buffer(vw, st);
  if (!buf) return st->code;
  LLVMErrorRef err = LLVMOrcLLJITAddObjectFile(jit, dylib, buf); /* takes buf */
  if (!err) return NNC_OK;
  char *msg = LLVMGetErrorMessage(err);
  nnc_fail(st, NNC_ERR_COMPILE, "linking the GEMM strip library: %s", msg);
  LLVMDisposeErrorMessage(msg);
  return NNC_ERR_COMPILE;
}

int strip_lib_perf_collect(int vw, perf_map_obj *out, nnc_status *st) {
  LLVMMemoryBufferRef buf = library_buffer(vw, st);
  if (!buf) return st->code;
  int rc = perf_map_collect(buf, out, st);
  LLVMDisposeMemoryBuffer(buf);
  return rc;
}

int strip_lib_build(int vw, void **obj, size_t *len, nnc_status *st) {
  *obj = NULL, *len = 0;
  LLVMContextRef ctx = codegen_context_create();
  LLVMModuleRef mod = LLVMModuleCreateWithNameInContext("nnc_strip_library", ctx);
  cg c;
  cg_init(&c, ctx, mod, vw, st);
  c.strips = CG_STRIPS_BUILD;
  pack_freeze_register(ctx);
  int rc = NNC_OK;
  if (cg_gemm_strip_library(&c) < 0)
    rc = nnc_fail(st, NNC_ERR_INTERNAL, "the strip library at width %d", vw);
  LLVMDisposeBuilder(c.b);
  LLVMMemoryBufferRef buf = NULL;
  if (!rc)
    rc = codegen_host_object(mod, &buf, st); /* takes mod */
  else
    LLVMDisposeModule(mod);
  if (!rc) {
    *len = LLVMGetBufferSize(buf);
    if (!(*obj = malloc(*len + 1)))
      rc = nnc_fail(st, NNC_ERR_NOMEM, "out of memory");
    else
      memcpy(*obj, LLVMGetBufferStart(buf), *len);
  }
  if (buf) LLVMDisposeMemoryBuffer(buf);
  LLVMContextDispose(ctx);
  return rc;
}
