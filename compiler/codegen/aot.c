/* The program table of an ahead-of-time object as LLVM constant data, and
 * its entry points (docs/aot.md).
 *
 * Each C struct of include/nnc_program.h is emitted as an LLVM literal
 * struct of the same fields in the same order; LLVM lays it out by the
 * target's ABI alignment rules, which for the x86-64 targets nnc emits
 * (aot_cli.c refuses others) are C's. Every field is given with its C
 * offsetof and every struct with its sizeof: a field added to the header
 * without being added here, or laid out differently, fails the compile
 * instead of giving the runtime a shifted table. */
#include <llvm-c/Core.h>
#include <llvm-c/Target.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/codegen/aot.h"

typedef struct aot {
  LLVMContextRef ctx;
  LLVMModuleRef mod;
  LLVMTargetDataRef td;
  LLVMTypeRef i8p, i32, i64, f64, f32;
  const aot_request *req;
  nnc_status *st;
  int failed;
  int n_globals;
} aot;

/* ---- one C struct: fields with their C offsets ---- */
enum { SB_MAX = 48 };
typedef struct sb {
  LLVMTypeRef types[SB_MAX];
  LLVMValueRef vals[SB_MAX];
  size_t offs[SB_MAX];
  int n;
} sb;

static void sb_add(sb *s, size_t off, LLVMValueRef v) {
  if (s->n >= SB_MAX) return; /* caught by the size check */
  s->types[s->n] = LLVMTypeOf(v);
  s->vals[s->n] = v;
  s->offs[s->n++] = off;
}
static void sb_i32(aot *a, sb *s, size_t off, long long v) {
  sb_add(s, off, LLVMConstInt(a->i32, (unsigned long long)v, 1));
}
static void sb_i64(aot *a, sb *s, size_t off, int64_t v) {
  sb_add(s, off, LLVMConstInt(a->i64, (unsigned long long)v, 1));
}
static void sb_f64(aot *a, sb *s, size_t off, double v) {
  sb_add(s, off, LLVMConstReal(a->f64, v));
}
static void sb_i64s(aot *a, sb *s, size_t off, const int64_t *v, int n) {
  LLVMValueRef e[NNC_MAX_RANK];
  for (int i = 0; i < n && i < NNC_MAX_RANK; i++)
    e[i] = LLVMConstInt(a->i64, (unsigned long long)v[i], 1);
  sb_add(s, off, LLVMConstArray(a->i64, e, (unsigned)n));
}

/* The struct's constant; a layout that is not C's is an internal error. */
static LLVMValueRef sb_end(aot *a, sb *s, size_t c_size, const char *what) {
  LLVMTypeRef t = LLVMStructTypeInContext(a->ctx, s->types, (unsigned)s->n, 0);
  int ok = s->n < SB_MAX && LLVMABISizeOfType(a->td, t) == c_size;
  for (int i = 0; ok && i < s->n; i++)
    ok = LLVMOffsetOfElement(a->td, t, (unsigned)i) == s->offs[i];
  if (!ok && !a->failed) {
    a->failed = 1;
    nnc_fail(a->st, NNC_ERR_INTERNAL,
             "the target lays out %s unlike this nnc's C (size %llu, C's %zu): "
             "no object is written",
             what, (unsigned long long)LLVMABISizeOfType(a->td, t), c_size);
  }
  return LLVMConstStructInContext(a->ctx, s->vals, (unsigned)s->n, 0);
}

/* A private constant global holding init; its address as i8*. */
static LLVMValueRef global_of(aot *a, LLVMValueRef init, const char *kind) {
  char name[64];
  snprintf(name, sizeof name, "%s.%s.%d", a->req->prefix, kind, a->n_globals++);
  LLVMValueRef g = LLVMAddGlobal(a->mod, LLVMTypeOf(init), name);
  LLVMSetInitializer(g, init);
  LLVMSetGlobalConstant(g, 1);
  LLVMSetLinkage(g, LLVMPrivateLinkage);
  return LLVMConstBitCast(g, a->i8p);
}

static LLVMValueRef null_ptr(aot *a) {
  return LLVMConstNull(a->i8p);
}

static LLVMValueRef str(aot *a, const char *s) {
  if (!s) return null_ptr(a);
  return global_of(a, LLVMConstStringInContext(a->ctx, s, (unsigned)strlen(s), 0), "str");
}

/* An array of n elements (each a constant of one type) as a pointer; NULL when n is 0. */
static LLVMValueRef array_of(aot *a, LLVMValueRef *elems, int n, const char *kind) {
  if (n <= 0) return null_ptr(a);
  return global_of(a, LLVMConstArray(LLVMTypeOf(elems[0]), elems, (unsigned)n), kind);
}

static LLVMValueRef structs(aot *a, int n, const void *base, size_t stride,
                            LLVMValueRef (*fn)(aot *a, const void *p), const char *kind);
static LLVMValueRef double_v(aot *a, const void *p);
static LLVMValueRef io_v(aot *a, const void *p);
static LLVMValueRef doubles(aot *a, const double *v, int n) {
  return structs(a, n, v, sizeof *v, double_v, "f64");
}

/* ---- the structs of nnc_program.h ---- */

static LLVMValueRef io_desc(aot *a, const nnc_io_desc *d) {
  sb s = {0};
  sb_add(&s, offsetof(nnc_io_desc, name), str(a, d->name));
  sb_i32(a, &s, offsetof(nnc_io_desc, dtype), d->dtype);
  sb_i32(a, &s, offsetof(nnc_io_desc, rank), d->rank);
  sb_i64s(a, &s, offsetof(nnc_io_desc, shape), d->shape, NNC_MAX_RANK);
  sb_i64(a, &s, offsetof(nnc_io_desc, classes), d->classes);
  sb_i32(a, &s, offsetof(nnc_io_desc, output), d->output);
  sb_i32(a, &s, offsetof(nnc_io_desc, has_ignore_class), d->has_ignore_class);
  sb_i64(a, &s, offsetof(nnc_io_desc, ignore_class), d->ignore_class);
  return sb_end(a, &s, sizeof(nnc_io_desc), "nnc_io_desc");
}

static LLVMValueRef io_array(aot *a, const nnc_io_desc *d, int n) {
  return structs(a, n, d, sizeof *d, io_v, "io");
}

static LLVMValueRef initializer(aot *a, const nnc_initializer *in) {
  sb s = {0};
  sb_i32(a, &s, offsetof(nnc_initializer, rule), in->rule);
  sb_f64(a, &s, offsetof(nnc_initializer, value), in->value);
  sb_f64(a, &s, offsetof(nnc_initializer, minval), in->minval);
  sb_f64(a, &s, offsetof(nnc_initializer, maxval), in->maxval);
  sb_f64(a, &s, offsetof(nnc_initializer, mean), in->mean);
  sb_f64(a, &s, offsetof(nnc_initializer, stddev), in->stddev);
  sb_f64(a, &s, offsetof(nnc_initializer, scale), in->scale);
  sb_i32(a, &s, offsetof(nnc_initializer, fan), in->fan);
  sb_i32(a, &s, offsetof(nnc_initializer, distribution), in->distribution);
  sb_i32(a, &s, offsetof(nnc_initializer, has_seed), in->has_seed);
  sb_i64(a, &s, offsetof(nnc_initializer, seed), in->seed);
  sb_f64(a, &s, offsetof(nnc_initializer, gain), in->gain);
  return sb_end(a, &s, sizeof(nnc_initializer), "nnc_initializer");
}

static LLVMValueRef variable(aot *a, const nnc_variable *v) {
  sb s = {0};
  sb_add(&s, offsetof(nnc_variable, name), str(a, v->name));
  sb_add(&s, offsetof(nnc_variable, layer), str(a, v->layer));
  sb_add(&s, offsetof(nnc_variable, weight), str(a, v->weight));
  sb_i32(a, &s, offsetof(nnc_variable, kind), v->kind);
  sb_i32(a, &s, offsetof(nnc_variable, rank), v->rank);
  sb_i64s(a, &s, offsetof(nnc_variable, shape), v->shape, NNC_MAX_RANK);
  sb_i64(a, &s, offsetof(nnc_variable, offset), v->offset);
  sb_i64(a, &s, offsetof(nnc_variable, count), v->count);
  sb_add(&s, offsetof(nnc_variable, init), initializer(a, &v->init));
  sb_add(&s, offsetof(nnc_variable, average_of), str(a, v->average_of));
  return sb_end(a, &s, sizeof(nnc_variable), "nnc_variable");
}

static LLVMValueRef log_key(aot *a, const nnc_log_key *k) {
  sb s = {0};
  sb_add(&s, offsetof(nnc_log_key, name), str(a, k->name));
  sb_i32(a, &s, offsetof(nnc_log_key, result), k->result);
  LLVMValueRef st2[2] = {LLVMConstInt(a->i32, (unsigned long long)k->stat[0], 1),
                         LLVMConstInt(a->i32, (unsigned long long)k->stat[1], 1)};
  sb_add(&s, offsetof(nnc_log_key, stat), LLVMConstArray(a->i32, st2, 2));
  sb_i32(a, &s, offsetof(nnc_log_key, first_stat), k->first_stat);
  sb_i32(a, &s, offsetof(nnc_log_key, n_stats), k->n_stats);
  sb_i32(a, &s, offsetof(nnc_log_key, n_args), k->n_args);
  sb_add(&s, offsetof(nnc_log_key, args), doubles(a, k->args, k->n_args));
  sb_i32(a, &s, offsetof(nnc_log_key, direction), k->direction);
  return sb_end(a, &s, sizeof(nnc_log_key), "nnc_log_key");
}

static LLVMValueRef summary_row(aot *a, const nnc_summary_row *r) {
  sb s = {0};
  sb_add(&s, offsetof(nnc_summary_row, name), str(a, r->name));
  sb_add(&s, offsetof(nnc_summary_row, class_name), str(a, r->class_name));
  sb_i32(a, &s, offsetof(nnc_summary_row, rank), r->rank);
  sb_i64s(a, &s, offsetof(nnc_summary_row, shape), r->shape, NNC_MAX_RANK);
  sb_i64(a, &s, offsetof(nnc_summary_row, params), r->params);
  sb_i64(a, &s, offsetof(nnc_summary_row, trainable), r->trainable);
  sb_add(&s, offsetof(nnc_summary_row, connected), str(a, r->connected));
  return sb_end(a, &s, sizeof(nnc_summary_row), "nnc_summary_row");
}

static LLVMValueRef probe(aot *a, const nnc_probe *p) {
  sb s = {0};
  sb_add(&s, offsetof(nnc_probe, label), str(a, p->label));
  sb_add(&s, offsetof(nnc_probe, op), str(a, p->op));
  sb_add(&s, offsetof(nnc_probe, layer), str(a, p->layer));
  sb_i32(a, &s, offsetof(nnc_probe, region), p->region);
  sb_i64(a, &s, offsetof(nnc_probe, offset), p->offset);
  sb_i64(a, &s, offsetof(nnc_probe, count), p->count);
  sb_i32(a, &s, offsetof(nnc_probe, batched), p->batched);
  return sb_end(a, &s, sizeof(nnc_probe), "nnc_probe");
}

static LLVMValueRef schedule(aot *a, const nnc_schedule *c) {
  sb s = {0};
  sb_i32(a, &s, offsetof(nnc_schedule, kind), c->kind);
  sb_f64(a, &s, offsetof(nnc_schedule, initial_learning_rate), c->initial_learning_rate);
  sb_f64(a, &s, offsetof(nnc_schedule, decay_steps), c->decay_steps);
  sb_f64(a, &s, offsetof(nnc_schedule, decay_rate), c->decay_rate);
  sb_f64(a, &s, offsetof(nnc_schedule, end_learning_rate), c->end_learning_rate);
  sb_f64(a, &s, offsetof(nnc_schedule, power), c->power);
  sb_f64(a, &s, offsetof(nnc_schedule, alpha), c->alpha);
  sb_f64(a, &s, offsetof(nnc_schedule, warmup_target), c->warmup_target);
  sb_f64(a, &s, offsetof(nnc_schedule, warmup_steps), c->warmup_steps);
  sb_f64(a, &s, offsetof(nnc_schedule, t_mul), c->t_mul);
  sb_f64(a, &s, offsetof(nnc_schedule, m_mul), c->m_mul);
  sb_i32(a, &s, offsetof(nnc_schedule, staircase), c->staircase);
  sb_i32(a, &s, offsetof(nnc_schedule, cycle), c->cycle);
  sb_i32(a, &s, offsetof(nnc_schedule, n_boundaries), c->n_boundaries);
  sb_add(&s, offsetof(nnc_schedule, boundaries), doubles(a, c->boundaries, c->n_boundaries));
  sb_add(&s, offsetof(nnc_schedule, values),
         doubles(a, c->values, c->values ? c->n_boundaries + 1 : 0));
  return sb_end(a, &s, sizeof(nnc_schedule), "nnc_schedule");
}

static LLVMValueRef entry(aot *a, const nnc_entry *e, LLVMValueRef fn, int64_t scratch) {
  sb s = {0};
  sb_add(&s, offsetof(nnc_entry, fn), fn ? LLVMConstBitCast(fn, a->i8p) : null_ptr(a));
  sb_i64(a, &s, offsetof(nnc_entry, fixed_floats), fn ? e->fixed_floats : 0);
  sb_i64(a, &s, offsetof(nnc_entry, batch_floats_per_row), fn ? e->batch_floats_per_row : 0);
  sb_i64(a, &s, offsetof(nnc_entry, parallel_rows), fn ? e->parallel_rows : 0);
  sb_i64(a, &s, offsetof(nnc_entry, scratch_floats), fn ? scratch : 0);
  sb_i64(a, &s, offsetof(nnc_entry, sure_rows), fn ? e->sure_rows : 0);
  return sb_end(a, &s, sizeof(nnc_entry), "nnc_entry");
}

/* n structs of stride bytes from base, each made by fn, as an array's address. */
typedef LLVMValueRef (*elem_fn)(aot *a, const void *p);
static LLVMValueRef structs(aot *a, int n, const void *base, size_t stride, elem_fn fn,
                            const char *kind) {
  if (n <= 0 || !base) return null_ptr(a);
  LLVMValueRef *e = nnc_calloc((size_t)n, sizeof *e, a->st);
  if (!e) {
    a->failed = 1;
    return null_ptr(a);
  }
  for (int i = 0; i < n; i++) e[i] = fn(a, (const char *)base + (size_t)i * stride);
  LLVMValueRef r = array_of(a, e, n, kind);
  free(e);
  return r;
}
static LLVMValueRef io_v(aot *a, const void *p) {
  return io_desc(a, p);
}
static LLVMValueRef var_v(aot *a, const void *p) {
  return variable(a, p);
}
static LLVMValueRef key_v(aot *a, const void *p) {
  return log_key(a, p);
}
static LLVMValueRef row_v(aot *a, const void *p) {
  return summary_row(a, p);
}
static LLVMValueRef probe_v(aot *a, const void *p) {
  return probe(a, p);
}
static LLVMValueRef stat_v(aot *a, const void *p) {
  return LLVMConstInt(a->i32, (unsigned)*(const nnc_stat_reduction *)p, 0);
}
static LLVMValueRef warning_v(aot *a, const void *p) {
  return str(a, *(const char *const *)p);
}
static LLVMValueRef double_v(aot *a, const void *p) {
  return LLVMConstReal(a->f64, *(const double *)p);
}

static LLVMValueRef table_value(aot *a, LLVMValueRef steps[NNC_ENTRY_COUNT]) {
  const nnc_program_table *t = a->req->table;
  sb s = {0};
  sb_i32(a, &s, offsetof(nnc_program_table, version), t->version);
  sb_add(&s, offsetof(nnc_program_table, model_name), str(a, t->model_name));
  sb_i32(a, &s, offsetof(nnc_program_table, functional), t->functional);
  sb_i32(a, &s, offsetof(nnc_program_table, n_inputs), t->n_inputs);
  sb_i32(a, &s, offsetof(nnc_program_table, n_targets), t->n_targets);
  sb_i32(a, &s, offsetof(nnc_program_table, n_outputs), t->n_outputs);
  sb_add(&s, offsetof(nnc_program_table, inputs), io_array(a, t->inputs, t->n_inputs));
  sb_add(&s, offsetof(nnc_program_table, targets), io_array(a, t->targets, t->n_targets));
  sb_add(&s, offsetof(nnc_program_table, outputs), io_array(a, t->outputs, t->n_outputs));
  sb_i32(a, &s, offsetof(nnc_program_table, n_variables), t->n_variables);
  sb_add(&s, offsetof(nnc_program_table, variables),
         structs(a, t->n_variables, t->variables, sizeof *t->variables, var_v, "var"));
  sb_i64(a, &s, offsetof(nnc_program_table, params_floats), t->params_floats);
  sb_i64(a, &s, offsetof(nnc_program_table, slots_floats), t->slots_floats);
  sb_i32(a, &s, offsetof(nnc_program_table, n_stats), t->n_stats);
  sb_add(&s, offsetof(nnc_program_table, stats),
         structs(a, t->n_stats, t->stats, sizeof *t->stats, stat_v, "stats"));
  sb_i32(a, &s, offsetof(nnc_program_table, n_log_keys), t->n_log_keys);
  sb_add(&s, offsetof(nnc_program_table, log_keys),
         structs(a, t->n_log_keys, t->log_keys, sizeof *t->log_keys, key_v, "key"));
  sb_i32(a, &s, offsetof(nnc_program_table, n_summary_rows), t->n_summary_rows);
  sb_add(&s, offsetof(nnc_program_table, summary),
         structs(a, t->n_summary_rows, t->summary, sizeof *t->summary, row_v, "row"));
  sb_i32(a, &s, offsetof(nnc_program_table, n_warnings), t->n_warnings);
  sb_add(&s, offsetof(nnc_program_table, warnings),
         structs(a, t->n_warnings, t->warnings, sizeof *t->warnings, warning_v, "warn"));
  sb_f64(a, &s, offsetof(nnc_program_table, learning_rate), t->learning_rate);
  LLVMValueRef entries[NNC_ENTRY_COUNT];
  for (int i = 0; i < NNC_ENTRY_COUNT; i++)
    entries[i] = entry(a, &t->entries[i], steps[i], a->req->scratch_floats[i]);
  sb_add(&s, offsetof(nnc_program_table, entries),
         LLVMConstArray(LLVMTypeOf(entries[0]), entries, NNC_ENTRY_COUNT));
  sb_i32(a, &s, offsetof(nnc_program_table, n_probes), t->n_probes);
  sb_add(&s, offsetof(nnc_program_table, probes),
         structs(a, t->n_probes, t->probes, sizeof *t->probes, probe_v, "probe"));
  sb_add(&s, offsetof(nnc_program_table, schedule), schedule(a, &t->schedule));
  sb_i32(a, &s, offsetof(nnc_program_table, n_sample_weights), t->n_sample_weights);
  sb_add(&s, offsetof(nnc_program_table, sample_weights),
         io_array(a, t->sample_weights, t->n_sample_weights));
  sb_i32(a, &s, offsetof(nnc_program_table, outputs_in_train), t->outputs_in_train);
  return sb_end(a, &s, sizeof(nnc_program_table), "nnc_program_table");
}

/* ---- functions ---- */

static LLVMValueRef exported(aot *a, const char *suffix, LLVMTypeRef type) {
  char name[256];
  snprintf(name, sizeof name, "%s_%s", a->req->prefix, suffix);
  LLVMValueRef f = LLVMAddFunction(a->mod, name, type);
  LLVMSetLinkage(f, LLVMExternalLinkage);
  LLVMSetVisibility(f, LLVMDefaultVisibility);
  return f;
}

/* const nnc_program_table *PREFIX_program(void) */
static void emit_program_fn(aot *a, LLVMValueRef table) {
  LLVMValueRef f = exported(a, "program", LLVMFunctionType(a->i8p, NULL, 0, 0));
  LLVMBuilderRef b = LLVMCreateBuilderInContext(a->ctx);
  LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(a->ctx, f, "entry"));
  LLVMBuildRet(b, table);
  LLVMDisposeBuilder(b);
}

/* void PREFIX_predict(const float *params, const float *const *inputs,
 *                     float *const *outputs, int64_t rows, float *workspace):
 * the predict step on one thread with a barrier that does nothing. */
static void emit_predict_fn(aot *a, LLVMValueRef step) {
  const nnc_program_table *t = a->req->table;
  const nnc_entry *e = &t->entries[NNC_ENTRY_PREDICT];
  LLVMTypeRef fp = LLVMPointerType(a->f32, 0), fpp = LLVMPointerType(fp, 0);
  LLVMTypeRef void_t = LLVMVoidTypeInContext(a->ctx);
  LLVMTypeRef barrier_t = LLVMFunctionType(void_t, &a->i8p, 1, 0);
  LLVMValueRef barrier = LLVMAddFunction(a->mod, "nnc_aot_no_barrier", barrier_t);
  LLVMSetLinkage(barrier, LLVMInternalLinkage);
  LLVMBuilderRef b = LLVMCreateBuilderInContext(a->ctx);
  LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(a->ctx, barrier, "entry"));
  LLVMBuildRetVoid(b);

  LLVMTypeRef params[5] = {fp, fpp, fpp, a->i64, fp};
  LLVMValueRef f = exported(a, "predict", LLVMFunctionType(void_t, params, 5, 0));
  LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(a->ctx, f, "entry"));
  int n_regions = NNC_REGION_IO + t->n_inputs + t->n_targets + t->n_outputs + t->n_sample_weights;
  LLVMValueRef regions =
      LLVMBuildArrayAlloca(b, fp, LLVMConstInt(a->i32, (unsigned)n_regions, 0), "regions");
  LLVMValueRef rows = LLVMGetParam(f, 3), ws = LLVMGetParam(f, 4);
  LLVMValueRef fixed = LLVMConstInt(a->i64, (unsigned long long)e->fixed_floats, 0);
  LLVMValueRef batch = LLVMBuildGEP2(b, a->f32, ws, &fixed, 1, "batch");
  LLVMValueRef per_row = LLVMConstInt(a->i64, (unsigned long long)e->batch_floats_per_row, 0);
  LLVMValueRef batch_len = LLVMBuildMul(b, per_row, rows, "");
  LLVMValueRef stats = LLVMBuildGEP2(b, a->f32, batch, &batch_len, 1, "stats");
  /* the scratch of one thread after the statistics, on a 64-byte line (the
   * workspace macro counts 16 floats more for it) */
  LLVMValueRef n_stats = LLVMConstInt(a->i64, (unsigned long long)t->n_stats + 1, 0);
  LLVMValueRef end =
      LLVMBuildPtrToInt(b, LLVMBuildGEP2(b, a->f32, stats, &n_stats, 1, ""), a->i64, "");
  end = LLVMBuildAnd(b, LLVMBuildAdd(b, end, LLVMConstInt(a->i64, 63, 0), ""),
                     LLVMConstInt(a->i64, ~63ull, 0), "");
  LLVMValueRef scratch = LLVMBuildIntToPtr(b, end, fp, "scratch");
  for (int r = 0; r < n_regions; r++) {
    LLVMValueRef v = LLVMConstNull(fp);
    if (r == NNC_REGION_PARAMS) v = LLVMGetParam(f, 0);
    if (r == NNC_REGION_STATS) v = stats;
    if (r == NNC_REGION_FIXED) v = ws;
    if (r == NNC_REGION_BATCH) v = batch;
    if (r == NNC_REGION_SCRATCH) v = scratch;
    int io = r - NNC_REGION_IO, out0 = t->n_inputs + t->n_targets;
    if (io >= 0 && io < t->n_inputs) {
      LLVMValueRef k = LLVMConstInt(a->i64, (unsigned)io, 0);
      v = LLVMBuildLoad2(b, fp, LLVMBuildGEP2(b, fp, LLVMGetParam(f, 1), &k, 1, ""), "in");
    } else if (io >= out0 && io < out0 + t->n_outputs) {
      LLVMValueRef k = LLVMConstInt(a->i64, (unsigned)(io - out0), 0);
      v = LLVMBuildLoad2(b, fp, LLVMBuildGEP2(b, fp, LLVMGetParam(f, 2), &k, 1, ""), "out");
    }
    LLVMValueRef k = LLVMConstInt(a->i64, (unsigned)r, 0);
    LLVMBuildStore(b, v, LLVMBuildGEP2(b, fp, regions, &k, 1, ""));
  }
  LLVMValueRef scalars =
      LLVMBuildArrayAlloca(b, a->f32, LLVMConstInt(a->i32, NNC_SCALAR_COUNT, 0), "scalars");
  LLVMValueRef sv[NNC_SCALAR_COUNT] = {LLVMConstReal(a->f32, t->learning_rate),
                                       LLVMConstReal(a->f32, 1.0),
                                       LLVMBuildSIToFP(b, rows, a->f32, "")};
  for (int i = 0; i < NNC_SCALAR_COUNT; i++) {
    LLVMValueRef k = LLVMConstInt(a->i64, (unsigned)i, 0);
    LLVMBuildStore(b, sv[i], LLVMBuildGEP2(b, a->f32, scalars, &k, 1, ""));
  }
  LLVMValueRef args[8] = {regions,
                          scalars,
                          rows,
                          LLVMConstInt(a->i64, 0, 0),
                          LLVMConstInt(a->i64, 0, 0),
                          LLVMConstInt(a->i64, 1, 0),
                          barrier,
                          LLVMConstNull(a->i8p)};
  LLVMBuildCall2(b, LLVMGlobalGetValueType(step), step, args, 8, "");
  LLVMBuildRetVoid(b);
  LLVMDisposeBuilder(b);
}

static const char *const graph_names[NNC_ENTRY_COUNT] = {"train", "test", "predict"};

/* The scratch per thread of graph `name`'s step in this module: what
 * nnc_<graph>_scratch_floats() returns (emit_driver.c; a constant after any
 * pipeline), or -1. The function itself is removed: the object exports its
 * number in the table and the header instead. */
static int64_t module_scratch(LLVMModuleRef mod, const char *name) {
  char fn_name[64];
  snprintf(fn_name, sizeof fn_name, "nnc_%s_scratch_floats", name);
  LLVMValueRef f = LLVMGetNamedFunction(mod, fn_name);
  if (!f || LLVMIsDeclaration(f)) return -1;
  LLVMValueRef ret = LLVMGetBasicBlockTerminator(LLVMGetEntryBasicBlock(f));
  LLVMValueRef v = ret && LLVMGetNumOperands(ret) == 1 ? LLVMGetOperand(ret, 0) : NULL;
  int64_t floats = v && LLVMIsAConstantInt(v) ? LLVMConstIntGetSExtValue(v) : -1;
  if (floats >= 0 && !LLVMGetFirstUse(f)) LLVMDeleteFunction(f);
  return floats;
}

int aot_finish(void *arg, LLVMModuleRef mod, nnc_status *st) {
  aot_request *req = arg;
  aot a = {0};
  a.ctx = LLVMGetModuleContext(mod);
  a.mod = mod;
  a.td = LLVMGetModuleDataLayout(mod);
  a.i8p = LLVMPointerType(LLVMInt8TypeInContext(a.ctx), 0);
  a.i32 = LLVMInt32TypeInContext(a.ctx);
  a.i64 = LLVMInt64TypeInContext(a.ctx);
  a.f64 = LLVMDoubleTypeInContext(a.ctx);
  a.f32 = LLVMFloatTypeInContext(a.ctx);
  a.req = req;
  a.st = st;
  /* everything the JIT made is internal but the steps, renamed into the prefix */
  LLVMValueRef steps[NNC_ENTRY_COUNT] = {NULL, NULL, NULL};
  for (int i = 0; i < NNC_ENTRY_COUNT; i++) {
    if (!req->has_step[i]) continue;
    char name[64], renamed[256];
    snprintf(name, sizeof name, "nnc_%s_step", graph_names[i]);
    snprintf(renamed, sizeof renamed, "%s_%s_step", req->prefix, graph_names[i]);
    steps[i] = LLVMGetNamedFunction(mod, name);
    if (!steps[i])
      return nnc_fail(st, NNC_ERR_INTERNAL, "the module has no %s step (%s)", graph_names[i], name);
    LLVMSetValueName2(steps[i], renamed, strlen(renamed));
    req->scratch_floats[i] = module_scratch(mod, graph_names[i]);
    if (req->scratch_floats[i] < 0)
      return nnc_fail(st, NNC_ERR_INTERNAL, "the module has no scratch size for its %s step",
                      graph_names[i]);
  }
  for (LLVMValueRef f = LLVMGetFirstFunction(mod); f; f = LLVMGetNextFunction(f)) {
    int step = 0;
    for (int i = 0; i < NNC_ENTRY_COUNT; i++) step |= f == steps[i];
    if (LLVMIsDeclaration(f)) continue;
    if (step) {
      LLVMSetLinkage(f, LLVMExternalLinkage);
      LLVMSetVisibility(f, LLVMDefaultVisibility);
    } else {
      LLVMSetLinkage(f, LLVMInternalLinkage);
    }
  }
  for (LLVMValueRef g = LLVMGetFirstGlobal(mod); g; g = LLVMGetNextGlobal(g))
    if (!LLVMIsDeclaration(g)) LLVMSetLinkage(g, LLVMInternalLinkage);

  LLVMValueRef init = table_value(&a, steps);
  if (a.failed || !init)
    return st->code ? (int)st->code : nnc_fail(st, NNC_ERR_NOMEM, "out of memory");
  char name[256];
  snprintf(name, sizeof name, "%s_program_table", req->prefix);
  LLVMValueRef table = LLVMAddGlobal(mod, LLVMTypeOf(init), name);
  LLVMSetInitializer(table, init);
  LLVMSetGlobalConstant(table, 1);
  LLVMSetLinkage(table, LLVMInternalLinkage);
  emit_program_fn(&a, LLVMConstBitCast(table, a.i8p));
  if (steps[NNC_ENTRY_PREDICT]) emit_predict_fn(&a, steps[NNC_ENTRY_PREDICT]);
  if (req->weights) {
    const nnc_program_table *t = req->table;
    snprintf(name, sizeof name, "%s_weights", req->prefix);
    LLVMValueRef bytes = LLVMConstStringInContext(a.ctx, (const char *)req->weights,
                                                  (unsigned)(4 * t->params_floats), 1);
    LLVMValueRef w = LLVMAddGlobal(mod, LLVMTypeOf(bytes), name);
    LLVMSetInitializer(w, bytes);
    LLVMSetGlobalConstant(w, 1);
    LLVMSetAlignment(w, 64);
  }
  return a.failed ? st->code : NNC_OK;
}
