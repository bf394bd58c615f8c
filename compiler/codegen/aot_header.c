/* The C header of an ahead-of-time object (docs/aot.md): its entry points,
 * the parameter layout, region sizes and I/O shapes, as macros and
 * declarations that need nothing but <stdint.h> (C11 and C++). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/codegen/aot_header.h"

/* name as an upper-case C identifier fragment: "dense_1/kernel" -> DENSE_1_KERNEL */
static void ident(char *out, size_t n, const char *name, int upper) {
  size_t k = 0;
  for (const char *p = name; *p && k + 1 < n; p++) {
    unsigned char ch = (unsigned char)*p;
    out[k++] = isalnum(ch) ? (char)(upper ? toupper(ch) : ch) : '_';
  }
  out[k] = 0;
}

/* a string literal: escapes what C needs escaped, octal for the rest; '/'
 * and '*' too, so a name also sits safely in a comment (no "*" "/") */
static void literal(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
    if (*p == '"' || *p == '\\')
      fprintf(f, "\\%c", *p);
    else if (*p < 0x20 || *p >= 0x7f || *p == '?' || *p == '/' || *p == '*')
      fprintf(f, "\\%03o", *p);
    else
      fputc(*p, f);
  }
  fputc('"', f);
}

static void shape(FILE *f, const int64_t *dims, int rank) {
  fputc('{', f);
  for (int i = 0; i < rank; i++) fprintf(f, "%s%lld", i ? ", " : "", (long long)dims[i]);
  if (rank == 0) fputc('1', f); /* a scalar: one element (C has no empty initializer) */
  fputc('}', f);
}

static int64_t count_of(const int64_t *dims, int rank) {
  int64_t c = 1;
  for (int i = 0; i < rank; i++) c *= dims[i];
  return c;
}

/* The weights' own floats (PARAMS_FLOATS counts the padding too). */
static int64_t weight_count(const nnc_program_table *t) {
  int64_t n = 0;
  for (int i = 0; i < t->n_variables; i++)
    if (t->variables[i].kind != NNC_VAR_SLOT) n += t->variables[i].count;
  return n;
}

static void io_macros(FILE *f, const char *P, const char *what, int k, const nnc_io_desc *d) {
  fprintf(f, "#define %s_%s%d_NAME ", P, what, k);
  literal(f, d->name);
  fprintf(f, "\n#define %s_%s%d_RANK %d /* per sample */\n", P, what, k, d->rank);
  fprintf(f, "#define %s_%s%d_SHAPE ", P, what, k);
  shape(f, d->shape, d->rank);
  fprintf(f, "\n#define %s_%s%d_FLOATS_PER_ROW %lld\n", P, what, k,
          (long long)count_of(d->shape, d->rank));
}

int aot_header_text(const aot_header_request *r, char **text, size_t *len, nnc_status *st) {
  const nnc_program_table *t = r->table;
  FILE *f = open_memstream(text, len);
  if (!f) return nnc_fail(st, NNC_ERR_NOMEM, "out of memory");
  char P[160], guard[200];
  ident(P, sizeof P, r->prefix, 1);
  snprintf(guard, sizeof guard, "NNC_AOT_%s_H", P);
  const char *p = r->prefix;
  fprintf(f, "/* The header of %s's ahead-of-time object: model ", p);
  literal(f, t->model_name ? t->model_name : "");
  fprintf(f, ",\n * made by nnc %s (nnc compile -o) for %s, CPU %s.\n", r->nnc_version, r->triple,
          r->cpu);
  fprintf(f,
          " * docs/aot.md describes it. Generated: edit the model, not this file. */\n"
          "#ifndef %s\n#define %s\n\n#include <stdint.h>\n\n"
          "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n",
          guard, guard);
  fprintf(f,
          "/* The program table's version (NNC_PROGRAM_VERSION of nnc_program.h) and\n"
          " * sizeof(nnc_program_table) this object was made for: a host using\n"
          " * libnnc_runtime can _Static_assert both; nnc_model_from_table refuses\n"
          " * another version. */\n"
          "#define %s_PROGRAM_VERSION %d\n#define %s_PROGRAM_TABLE_SIZE %zu\n\n",
          P, NNC_PROGRAM_VERSION, P, sizeof(nnc_program_table));
  fprintf(f,
          "/* ---- regions (floats) ---- */\n"
          "/* Each variable starts on a 64-byte line: the regions hold padding floats\n"
          " * between variables (zeros); address a variable by its _OFFSET. */\n"
          "#define %s_PARAMS_FLOATS %lld /* every variable, trainable and state */\n"
          "#define %s_SLOTS_FLOATS %lld  /* optimizer slots */\n"
          "#define %s_N_STATS %d\n\n",
          P, (long long)t->params_floats, P, (long long)t->slots_floats, P, t->n_stats);
  fprintf(f, "/* ---- inputs, targets and outputs (per sample; the batch axis not counted) */\n");
  fprintf(f, "#define %s_N_INPUTS %d\n#define %s_N_TARGETS %d\n#define %s_N_OUTPUTS %d\n", P,
          t->n_inputs, P, t->n_targets, P, t->n_outputs);
  for (int k = 0; k < t->n_inputs; k++) io_macros(f, P, "INPUT", k, &t->inputs[k]);
  for (int k = 0; k < t->n_targets; k++) io_macros(f, P, "TARGET", k, &t->targets[k]);
  for (int k = 0; k < t->n_outputs; k++) io_macros(f, P, "OUTPUT", k, &t->outputs[k]);

  int n_weights = 0;
  for (int i = 0; i < t->n_variables; i++) n_weights += t->variables[i].kind != NNC_VAR_SLOT;
  fprintf(f,
          "\n/* ---- parameter layout: variable i of regions[PARAMS] (Keras order) ----\n"
          " * NAME (Keras's), OFFSET and COUNT in floats, RANK and SHAPE; TRAINABLE 0 for\n"
          " * a state variable (a moving mean). %s_VARIABLES(X) calls\n"
          " * X(index, name, offset, count, rank, trainable) for each. */\n"
          "#define %s_N_VARIABLES %d\n",
          P, P, n_weights);
  char vid[200], other[200];
  for (int i = 0, k = 0; i < t->n_variables; i++) {
    const nnc_variable *v = &t->variables[i];
    if (v->kind == NNC_VAR_SLOT) continue;
    ident(vid, sizeof vid, v->name, 1);
    /* "a/b" and "a_b" make one identifier: the later one gets its index too */
    for (int j = 0; j < i; j++) {
      ident(other, sizeof other, t->variables[j].name, 1);
      if (t->variables[j].kind != NNC_VAR_SLOT && !strcmp(other, vid)) {
        size_t len = strlen(vid);
        snprintf(vid + len, sizeof vid - len, "_%d", k);
        break;
      }
    }
    fprintf(f, "#define %s_VAR_%s_INDEX %d\n#define %s_VAR_%s_NAME ", P, vid, k++, P, vid);
    literal(f, v->name);
    fprintf(f, "\n#define %s_VAR_%s_OFFSET %lld\n#define %s_VAR_%s_COUNT %lld\n", P, vid,
            (long long)v->offset, P, vid, (long long)v->count);
    fprintf(f, "#define %s_VAR_%s_RANK %d\n#define %s_VAR_%s_SHAPE ", P, vid, v->rank, P, vid);
    shape(f, v->shape, v->rank);
    fprintf(f, "\n#define %s_VAR_%s_TRAINABLE %d\n", P, vid, v->kind == NNC_VAR_TRAINABLE);
  }
  fprintf(f, "#define %s_VARIABLES(X)", P);
  for (int i = 0, k = 0; i < t->n_variables; i++) {
    const nnc_variable *v = &t->variables[i];
    if (v->kind == NNC_VAR_SLOT) continue;
    fprintf(f, " \\\n  X(%d, ", k++);
    literal(f, v->name);
    fprintf(f, ", %lld, %lld, %d, %d)", (long long)v->offset, (long long)v->count, v->rank,
            v->kind == NNC_VAR_TRAINABLE);
  }
  fprintf(f, "\n\n");

  fprintf(f,
          "/* ---- the program table, for libnnc_runtime: nnc_model_from_table(%s_program(),\n"
          " * &model, &status) (nnc_program.h declares the struct). */\n"
          "struct nnc_program_table;\n"
          "const struct nnc_program_table *%s_program(void);\n\n",
          p, p);
  fprintf(f,
          "/* %s_weights: the %lld parameters nnc had after loading the model (a saved\n"
          " * model's weights, else the initializers drawn from seed %llu), laid out as\n"
          " * above (each at its _OFFSET; the padding between them zeros). */\n"
          "extern const float %s_weights[%s_PARAMS_FLOATS];\n\n",
          p, (long long)weight_count(t), (unsigned long long)r->seed, p, P);
  static const char *const names[NNC_ENTRY_COUNT] = {"train", "test", "predict"};
  static const char *const upper[NNC_ENTRY_COUNT] = {"TRAIN", "TEST", "PREDICT"};
  fprintf(f, "/* ---- steps (the calling convention of nnc_program.h: nnc_step_fn) ---- */\n");
  for (int i = 0; i < NNC_ENTRY_COUNT; i++) {
    fprintf(f, "#define %s_HAS_%s_STEP %d\n", P, upper[i], r->has_step[i]);
    if (!r->has_step[i]) continue;
    const nnc_entry *e = &t->entries[i];
    fprintf(f,
            "#define %s_%s_FIXED_FLOATS %lld\n#define %s_%s_BATCH_FLOATS_PER_ROW %lld\n"
            "#define %s_%s_SCRATCH_FLOATS %lld /* per thread: regions[NNC_REGION_SCRATCH] */\n"
            "void %s_%s_step(float **regions, const float *scalars, int64_t rows, uint64_t rng,\n"
            "    int64_t tid, int64_t nthreads, void (*barrier)(void *), void *barrier_ctx);\n",
            P, upper[i], (long long)e->fixed_floats, P, upper[i],
            (long long)e->batch_floats_per_row, P, upper[i], (long long)r->scratch_floats[i], p,
            names[i]);
  }
  if (r->has_step[NNC_ENTRY_PREDICT]) {
    fprintf(f,
            "\n/* ---- predict with libc and libm alone ----\n"
            " * %s_predict(params, inputs, outputs, rows, workspace) runs the predict step\n"
            " * on the calling thread for rows samples: params holds %s_PARAMS_FLOATS\n"
            " * floats (%s_weights, or trained ones), inputs[k] rows x\n"
            " * %s_INPUT<k>_FLOATS_PER_ROW floats, outputs[k] rows x\n"
            " * %s_OUTPUT<k>_FLOATS_PER_ROW floats (written), workspace\n"
            " * %s_PREDICT_WORKSPACE_FLOATS(rows) floats of scratch. Nothing is checked\n"
            " * (shapes, index ranges of an Embedding): nnc_model_predict does that. The\n"
            " * step sets MXCSR (flush-to-zero, round to nearest) and restores it. */\n"
            "#define %s_PREDICT_WORKSPACE_FLOATS(rows) \\\n"
            "  (%s_PREDICT_FIXED_FLOATS + %s_PREDICT_BATCH_FLOATS_PER_ROW * (int64_t)(rows) + "
            "%s_N_STATS + 1 + %s_PREDICT_SCRATCH_FLOATS + 16)\n"
            "void %s_predict(const float *params, const float *const *inputs, float *const "
            "*outputs,\n"
            "    int64_t rows, float *workspace);\n",
            p, P, p, P, P, P, P, P, P, P, P, p);
  }
  fprintf(f, "\n#ifdef __cplusplus\n}\n#endif\n#endif\n");
  if (fclose(f)) {
    free(*text);
    *text = NULL;
    return nnc_fail(st, NNC_ERR_NOMEM, "out of memory");
  }
  return NNC_OK;
}
