/* compiler/codegen/aot_header — the C header of an ahead-of-time object. */
#ifndef NNC_CODEGEN_AOT_HEADER_H
#define NNC_CODEGEN_AOT_HEADER_H

#include <stddef.h>

#include "base/base.h"
#include "nnc_program.h"

typedef struct aot_header_request {
  const nnc_program_table *table;
  const char *prefix; /* a C identifier */
  int has_step[NNC_ENTRY_COUNT];
  const char *triple, *cpu, *nnc_version;
  uint64_t seed;                           /* the seed of the exported initial weights */
  int64_t scratch_floats[NNC_ENTRY_COUNT]; /* per thread, the object's (aot_request) */
} aot_header_request;

/* The header's text (malloc'ed, *len bytes). */
int aot_header_text(const aot_header_request *r, char **text, size_t *len, nnc_status *st);

#endif
