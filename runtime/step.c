/* Data preparation and one call of a compiled step. */
#include <math.h>
#include <stdatomic.h>
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/shape.h"
#include "runtime/api_check.h"
#include "runtime/fit.h"
#include "runtime/io/io.h"
#include "runtime/model.h"
#include "runtime/pool.h"
#include "runtime/value_text.h"
#include "base/rng.h"

/* Values are checked in pieces of this many, converted to float32 as the
 * step will see them: no copy of the whole array. */
enum { CHECK_CHUNK = 1024 };

static void shape_text(const nnc_array *a, char *buf, size_t n) {
  size_t used = (size_t)snprintf(buf, n, "(");
  for (int i = 0; i < a->rank && used < n; i++)
    used += (size_t)snprintf(buf + used, n - used, "%s%lld", i ? ", " : "", (long long)a->shape[i]);
  if (used < n) snprintf(buf + used, n - used, a->rank == 1 ? ",)" : ")");
}

/* As the compiler prints shapes: "[B,784]". */
static void sample_text(int rank, const int64_t *dims, char *buf, size_t n) {
  nnc_shape s = {0};
  s.batched = 1;
  s.rank = rank + 1;
  s.dims[0] = 1;
  for (int i = 0; i < rank; i++) s.dims[i + 1] = dims[i];
  shape_format(&s, buf, n);
}

/* "x" / "y" for a model of one input / output, else "x[k] (input 'name')". */
static void data_name(const nnc_model *m, int is_y, int k, char *buf, size_t n) {
  int many = is_y ? m->t->n_outputs > 1 : m->t->n_inputs > 1;
  const char *what = is_y ? "y" : "x";
  if (!many)
    snprintf(buf, n, "%s", what);
  else
    snprintf(buf, n, "%s[%d] (%s '%s')", what, k, is_y ? "output" : "input",
             is_y ? m->t->outputs[k].name : m->t->inputs[k].name);
}

/* a has n samples shaped like io; else NNC_ERR_DATA naming it. */
static int check_array(const nnc_model *m, int is_y, int k, const nnc_array *a,
                       const nnc_io_desc *io, int64_t n, nnc_status *st) {
  /* every step checks its arrays: the names are formatted only for a message */
  char name[160], got[96], want[160];
  int64_t count = a->rank < 1 ? -1 : nnc_array_count(a);
  if (count < 0) {
    data_name(m, is_y, k, name, sizeof name);
    return nnc_fail(st, NNC_ERR_DATA, "%s: malformed array", name);
  }
  if (n < 0 &&
      a->shape[0] == 0) { /* Keras raises on empty data; an empty epoch would report loss 0 */
    data_name(m, is_y, k, name, sizeof name);
    shape_text(a, got, sizeof got);
    return nnc_fail(st, NNC_ERR_DATA, "%s%s%s has 0 samples (shape %s): at least 1 is needed",
                    API_ARRAY_WHERE(a), name, got);
  }
  int ok = a->rank == io->rank + 1 && (n < 0 || a->shape[0] == n);
  for (int i = 1; ok && i < a->rank; i++) ok = a->shape[i] == io->shape[i - 1];
  if (is_y) { /* labels may come flat ((N,) for [N, 1]): as many values per sample suffice */
    int64_t row = 1;
    for (int i = 0; i < io->rank; i++) row *= io->shape[i];
    ok = a->shape[0] == n && count == n * row;
  }
  if (ok) return NNC_OK;
  data_name(m, is_y, k, name, sizeof name);
  shape_text(a, got, sizeof got);
  sample_text(io->rank, io->shape, want, sizeof want);
  if (n < 0)
    return nnc_fail(st, NNC_ERR_DATA, "%s%s%s has shape %s but the model expects %s",
                    API_ARRAY_WHERE(a), name, got, want);
  return nnc_fail(st, NNC_ERR_DATA, "%s%s%s has shape %s: expected %lld samples shaped like %s",
                  API_ARRAY_WHERE(a), name, got, (long long)n, want);
}

/* The first of the n values of a (from value first on) for which bad()
 * holds, as the step sees it (float32), or -1. */
static int64_t first_bad(const nnc_array *a, int64_t n, int (*bad)(const nnc_io_desc *, float),
                         const nnc_io_desc *io, float *value) {
  float chunk[CHECK_CHUNK];
  for (int64_t at = 0; at < n; at += CHECK_CHUNK) {
    int64_t k = n - at < CHECK_CHUNK ? n - at : CHECK_CHUNK;
    const float *v = chunk;
    if (a->dtype == NNC_F32 && (uintptr_t)a->data % _Alignof(float) == 0)
      v = (const float *)a->data + at;
    else if (a->dtype == NNC_F32) /* a host's misaligned floats: read as bytes */
      memcpy(chunk, (const char *)a->data + at * (int64_t)sizeof(float), (size_t)k * sizeof(float));
    else
      nnc_convert_to_f32(a->dtype, a->data, at, k, chunk);
    for (int64_t i = 0; i < k; i++)
      if (bad(io, v[i])) {
        *value = v[i];
        return at + i;
      }
  }
  return -1;
}

/* not an integer in [0, classes) */
static int bad_index(const nnc_io_desc *io, float v) {
  return !(v >= 0 && v < (float)io->classes && v == floorf(v));
}

/* not a class index, nor the ignored class (masked by the loss) */
static int bad_label(const nnc_io_desc *io, float v) {
  return bad_index(io, v) && !(io->has_ignore_class && v == (float)io->ignore_class);
}

static int check_labels(const nnc_model *m, const nnc_io_desc *io, const nnc_array *a,
                        int64_t count, nnc_status *st) {
  float v;
  int64_t i = first_bad(a, count, bad_label, io, &v);
  if (i < 0) return NNC_OK;
  char name[160], value[96];
  data_name(m, 1, io->output, name, sizeof name);
  value_text(a->dtype, a->data, i, v, value, sizeof value);
  return nnc_fail(st, NNC_ERR_DATA,
                  "%s%s%s[%lld] = %s is not a class index in [0, %lld) for "
                  "sparse_categorical_crossentropy",
                  API_ARRAY_WHERE(a), name, (long long)i, value, (long long)io->classes);
}

/* An input that feeds an Embedding (io->classes = the smallest input_dim it
 * indexes): every value an integer in [0, classes). The message names the
 * input, the sample and the position within the sample. */
static int check_indices(const nnc_model *m, int k, const nnc_io_desc *io, const nnc_array *a,
                         int64_t n, int64_t row, nnc_status *st) {
  float v;
  int64_t i = first_bad(a, n * row, bad_index, io, &v);
  if (i < 0) return NNC_OK;
  char pos[NNC_MAX_RANK * 22 + 4] = "(";
  size_t used = 1;
  int64_t rest = i % row;
  for (int d = 0; d < io->rank; d++) {
    int64_t stride = 1;
    for (int e = d + 1; e < io->rank; e++) stride *= io->shape[e];
    used += (size_t)snprintf(pos + used, sizeof pos - used, "%s%lld", d ? ", " : "",
                             (long long)(rest / stride));
    rest %= stride;
  }
  snprintf(pos + used, sizeof pos - used, io->rank == 1 ? ",)" : ")");
  char name[160], value[96];
  value_text(a->dtype, a->data, i, v, value, sizeof value);
  if (m->t->n_inputs > 1)
    data_name(m, 0, k, name, sizeof name);
  else
    snprintf(name, sizeof name, "x (input '%s')", io->name);
  return nnc_fail(st, NNC_ERR_DATA,
                  "%s%s%s: sample %lld, position %s holds %s: expected an integer "
                  "index in [0, %lld) (the input feeds an Embedding with input_dim %lld)",
                  API_ARRAY_WHERE(a), name, (long long)(i / row), pos, value,
                  (long long)io->classes, (long long)io->classes);
}

/* row, v and dt for n arrays in one zeroed block, freed with *row: every
 * train_on_batch prepares its data, so one allocation rather than three */
static int data_arrays(int n, int64_t **row, const void ***v, nnc_dtype **dt, nnc_status *st) {
  size_t k = (size_t)n + 1;
  char *block = nnc_calloc(k, sizeof **row + sizeof **v + sizeof **dt, st);
  if (!block) return st->code;
  *row = (int64_t *)block;
  *v = (const void **)(block + k * sizeof **row);
  *dt = (nnc_dtype *)(block + k * (sizeof **row + sizeof **v));
  return NNC_OK;
}

int model_data_prepare_multi(const nnc_model *m, int n_x, const nnc_array *x, int n_y,
                             const nnc_array *y, model_data *d, nnc_status *st) {
  memset(d, 0, sizeof *d);
  const nnc_program_table *t = m->t;
  if (n_x != t->n_inputs)
    return nnc_fail(st, NNC_ERR_DATA, "%s: the model has %d input(s), got %d x array(s)",
                    model_source(m), t->n_inputs, n_x);
  if (y && n_y != t->n_outputs)
    return nnc_fail(st, NNC_ERR_DATA, "%s: the model has %d output(s), got %d y array(s)",
                    model_source(m), t->n_outputs, n_y);
  if (check_array(m, 0, 0, &x[0], &t->inputs[0], -1, st)) return st->code;
  d->n = x[0].shape[0];
  for (int k = 1; k < n_x; k++) /* x[0] passed above: n is its own */
    if (check_array(m, 0, k, &x[k], &t->inputs[k], d->n, st)) return st->code;
  for (int j = 0; y && j < t->n_targets; j++) {
    int k = t->targets[j].output;
    if (y[k].rank == 0) {
      char name[160];
      data_name(m, 1, k, name, sizeof name);
      return nnc_fail(st, NNC_ERR_DATA, "%s: the output has a loss, so it needs a target", name);
    }
    if (check_array(m, 1, k, &y[k], &t->targets[j], d->n, st)) return st->code;
  }
  d->has_y = y != NULL;
  d->n_bufs = t->n_inputs + (y ? t->n_targets : 0);
  if (data_arrays(d->n_bufs, &d->row, &d->v, &d->dt, st)) return st->code;
  for (int b = 0; b < d->n_bufs; b++) {
    int is_y = b >= t->n_inputs, j = b - t->n_inputs;
    const nnc_io_desc *io = is_y ? &t->targets[j] : &t->inputs[b];
    const nnc_array *a = is_y ? &y[io->output] : &x[b];
    d->row[b] = 1;
    for (int i = 0; i < io->rank; i++) d->row[b] *= io->shape[i];
    d->v[b] = a->data; /* in place: the caller's array outlives the call */
    d->dt[b] = a->dtype;
  }
  if (model_data_check_values(m, x, y, d, st)) {
    model_data_free(d);
    return st->code;
  }
  return NNC_OK;
}

int model_data_check_values(const nnc_model *m, const nnc_array *x, const nnc_array *y,
                            const model_data *d, nnc_status *st) {
  const nnc_program_table *t = m->t;
  for (int b = 0; b < d->n_bufs; b++) {
    int is_y = b >= t->n_inputs, j = b - t->n_inputs;
    const nnc_io_desc *io = is_y ? &t->targets[j] : &t->inputs[b];
    if (io->classes <= 0) continue;
    if (is_y ? check_labels(m, io, &y[io->output], d->n * d->row[b], st)
             : check_indices(m, b, io, &x[b], d->n, d->row[b], st))
      return st->code;
  }
  return NNC_OK;
}

int model_data_prepare(const nnc_model *m, const nnc_array *x, const nnc_array *y, model_data *d,
                       nnc_status *st) {
  return model_data_prepare_multi(m, 1, x, 1, y, d, st);
}

static int64_t row_floats(const nnc_io_desc *io);

/* The program takes output k's sample weights shaped as a per sample: the
 * compiler built it for them, having checked that they lead the loss's
 * values (lower_loss.c: fit_weights). A loss over another axis than the last
 * drops that axis: CategoricalCrossentropy(axis=1) on outputs [3, 4] has
 * values [4] per sample, so (N, 4) weights, as Keras's reduce_weighted_values
 * multiplies them. */
static int built_for(const nnc_program_table *t, int k, const nnc_array *a) {
  for (int s = 0; s < t->n_sample_weights; s++) {
    const nnc_io_desc *io = &t->sample_weights[s];
    int same = io->output == k && io->rank == a->rank - 1;
    for (int i = 0; same && i < io->rank; i++) same = io->shape[i] == a->shape[i + 1];
    if (same) return 1;
  }
  return 0;
}

/* A weight array for output k: (N,) one per sample, (N, d1, ...) whose
 * dims are the leading per-sample dims of the output (per timestep), or
 * shaped as the loss's values when the program was built for that. */
static int check_weight(const nnc_model *m, int k, const nnc_array *a, int64_t n, int64_t *row,
                        nnc_status *st) {
  const nnc_io_desc *io = &m->t->outputs[k];
  int ok = a->rank >= 1 && a->shape[0] == n && a->rank - 1 <= io->rank;
  for (int i = 1; ok && i < a->rank; i++) ok = a->shape[i] == io->shape[i - 1];
  if (!ok) ok = a->rank >= 1 && a->shape[0] == n && built_for(m->t, k, a);
  *row = 1;
  for (int i = 1; i < a->rank; i++) *row *= a->shape[i];
  if (ok) return NNC_OK;
  char name[160], got[96], want[160];
  data_name(m, 1, k, name, sizeof name);
  shape_text(a, got, sizeof got);
  sample_text(io->rank, io->shape, want, sizeof want);
  return nnc_fail(st, NNC_ERR_DATA,
                  "%s%ssample_weight of %s has shape %s: expected (%lld,) or %lld samples shaped "
                  "like the leading axes of the output %s",
                  API_ARRAY_WHERE(a), name, got, (long long)n, (long long)n, want);
}

int model_data_add_weights(const nnc_model *m, const nnc_array *sw, model_data *d, nnc_status *st) {
  const nnc_program_table *t = m->t;
  if (!sw) return NNC_OK;
  d->n_w = t->n_outputs;
  if (data_arrays(d->n_w, &d->w_row, &d->w, &d->w_dt, st)) return st->code;
  for (int k = 0; k < d->n_w; k++) {
    if (sw[k].rank == 0) continue;
    if (check_weight(m, k, &sw[k], d->n, &d->w_row[k], st)) return st->code;
    for (int s = 0; s < t->n_sample_weights; s++) /* a fixed table takes the shape it has */
      if (t->sample_weights[s].output == k && row_floats(&t->sample_weights[s]) != d->w_row[k]) {
        char name[160];
        data_name(m, 1, k, name, sizeof name);
        return nnc_fail(st, NNC_ERR_DATA,
                        "%s%ssample_weight of %s has %lld values per sample: the program takes "
                        "%lld",
                        API_ARRAY_WHERE(&sw[k]), name, (long long)d->w_row[k],
                        (long long)row_floats(&t->sample_weights[s]));
      }
    d->w[k] = sw[k].data; /* in place, as x and y; one array may stand for several outputs */
    d->w_dt[k] = sw[k].dtype;
  }
  return NNC_OK;
}

int model_data_rows(const model_data *all, int64_t first, int64_t n, model_data *out,
                    nnc_status *st) {
  memset(out, 0, sizeof *out);
  out->n = n;
  out->n_bufs = all->n_bufs;
  out->has_y = all->has_y;
  out->n_w = all->n_w;
  if (data_arrays(all->n_bufs, &out->row, &out->v, &out->dt, st) ||
      data_arrays(all->n_w, &out->w_row, &out->w, &out->w_dt, st)) {
    model_data_free(out);
    return st->code;
  }
  for (int b = 0; b < all->n_bufs; b++) {
    out->row[b] = all->row[b];
    out->dt[b] = all->dt[b];
    size_t skip = (size_t)(first * all->row[b]) * nnc_dtype_size(all->dt[b]);
    out->v[b] = all->v[b] ? (const char *)all->v[b] + skip : NULL;
  }
  for (int k = 0; k < all->n_w; k++) {
    out->w_row[k] = all->w_row[k];
    out->w_dt[k] = all->w_dt[k];
    size_t skip = (size_t)(first * all->w_row[k]) * nnc_dtype_size(all->w_dt[k]);
    out->w[k] = all->w[k] ? (const char *)all->w[k] + skip : NULL;
  }
  return NNC_OK;
}

void model_data_free(model_data *d) {
  free(d->row); /* with v and dt (data_arrays) */
  free(d->w_row);
  memset(d, 0, sizeof *d);
}

/* Buffers only grow, keep their contents and start on a cache line (the
 * workspace regions: nnc_alloc_lines). */
static int grow(float **buf, int64_t *cap, int64_t need, nnc_status *st) {
  if (need <= *cap) return NNC_OK;
  float *bigger = nnc_alloc_lines((size_t)need, sizeof(float), st);
  if (!bigger) return st->code;
  if (*buf && *cap > 0) memcpy(bigger, *buf, (size_t)*cap * sizeof(float));
  free(*buf);
  *buf = bigger;
  *cap = need;
  return NNC_OK;
}

static int64_t row_floats(const nnc_io_desc *io) {
  int64_t n = 1;
  for (int i = 0; i < io->rank; i++) n *= io->shape[i];
  return n;
}

/* regions[NNC_REGION_SCRATCH] for every thread of the model's pool: the
 * kernels' packed operands, per thread (nnc_program.h). Checked by every
 * model_reserve, before its early return: the thread count changes alone. */
static int reserve_scratch(nnc_model *m, nnc_status *st) {
  const nnc_program_table *t = m->t;
  int64_t per_thread = 0;
  for (int i = 0; i < NNC_ENTRY_COUNT; i++)
    if (t->entries[i].fn && t->entries[i].scratch_floats > per_thread)
      per_thread = t->entries[i].scratch_floats;
  int64_t need = per_thread * pool_size(m->pool);
  if (need <= m->scratch_cap) return NNC_OK;
  if (nnc_memory_check(4.0 * (double)need, "the kernels' scratch for every thread", st))
    return st->code;
  void *p = NULL;
  if (posix_memalign(&p, 64, (size_t)need * sizeof(float)))
    return nnc_fail(st, NNC_ERR_NOMEM, "out of memory (%lld floats of scratch)", (long long)need);
  free(m->scratch);
  m->scratch = p;
  m->scratch_cap = need;
  return NNC_OK;
}

/* Workspace for batches of up to `rows` rows; called before a loop so that
 * the steps themselves never allocate. */
int model_reserve(nnc_model *m, int64_t rows, nnc_status *st) {
  const nnc_program_table *t = m->t;
  if (reserve_scratch(m, st)) return st->code;
  /* reserved for this program and as many rows before: buffers only grow */
  if (m->reserved_gen == m->build_gen && m->reserved_t == t && rows <= m->reserved_rows)
    return NNC_OK;
  int64_t fixed = 1, per_row = 1;
  for (int i = 0; i < NNC_ENTRY_COUNT; i++) {
    if (!t->entries[i].fn) continue;
    if (t->entries[i].fixed_floats > fixed) fixed = t->entries[i].fixed_floats;
    if (t->entries[i].batch_floats_per_row > per_row) per_row = t->entries[i].batch_floats_per_row;
  }
  double state = (double)t->params_floats + (double)t->slots_floats + (double)t->n_stats;
  if (fixed > m->fixed_cap || per_row * rows > m->batch_cap) {
    char what[160];
    snprintf(what, sizeof what,
             "the model's weights, optimizer state and workspace for batches of %lld rows",
             (long long)rows);
    if (nnc_memory_check(4.0 * (state + (double)fixed + (double)per_row * (double)rows), what, st))
      return st->code;
  }
  if (grow(&m->fixed, &m->fixed_cap, fixed, st) ||
      grow(&m->batch, &m->batch_cap, per_row * rows, st))
    return st->code;
  int n = t->n_inputs + t->n_targets + t->n_sample_weights;
  if (n > m->n_gathered) {
    float **g = nnc_realloc_array(m->gathered, (size_t)n, sizeof *g, st);
    if (!g) return st->code;
    m->gathered = g;
    int64_t *c = nnc_realloc_array(m->gathered_cap, (size_t)n, sizeof *c, st);
    if (!c) return st->code;
    m->gathered_cap = c;
    for (int i = m->n_gathered; i < n; i++) {
      g[i] = NULL;
      c[i] = 0;
    }
    m->n_gathered = n;
  }
  int64_t ones = 1;
  for (int b = 0; b < n; b++) {
    int j = b - t->n_inputs, s = j - t->n_targets;
    const nnc_io_desc *io = j < 0 ? &t->inputs[b] : s < 0 ? &t->targets[j] : &t->sample_weights[s];
    if (grow(&m->gathered[b], &m->gathered_cap[b], row_floats(io) * rows + 1, st)) return st->code;
    if (s >= 0 && row_floats(io) * rows > ones) ones = row_floats(io) * rows;
  }
  if (ones > m->ones_cap) {
    int64_t had = m->ones_cap;
    if (grow(&m->ones, &m->ones_cap, ones, st)) return st->code;
    for (int64_t i = had; i < ones; i++) m->ones[i] = 1.0f;
  }
  if (host_metrics_reserve(m, rows, st)) return st->code;
  m->reserved_t = t;
  m->reserved_gen = m->build_gen;
  m->reserved_rows = rows;
  return NNC_OK;
}

/* Rows of one buffer still to be copied (gathered by idx and/or converted)
 * into `to`: with a pool, every thread of the step copies its share. */
typedef struct row_copy {
  const void *v;
  nnc_dtype dt;
  int64_t row;
  float *to;
} row_copy;

enum { MAX_ROW_COPIES = 16 };

/* Rows [r0, r1) of the batch (rows first.. of v, or idx[r]) into c->to. */
static void copy_rows(const row_copy *c, const int64_t *idx, int64_t first, int64_t r0,
                      int64_t r1) {
  if (!idx) {
    nnc_convert_to_f32(c->dt, c->v, (first + r0) * c->row, (r1 - r0) * c->row, c->to + r0 * c->row);
    return;
  }
  for (int64_t r = r0; r < r1; r++) /* gather shuffled rows */
    nnc_convert_to_f32(c->dt, c->v, idx[r] * c->row, c->row, c->to + r * c->row);
}

/* The batch's copies: recorded to be shared by the step's threads (`defer`
 * holds room for MAX_ROW_COPIES), else made here. */
typedef struct batch_copies {
  row_copy *defer;
  int n;
  const int64_t *idx;
  int64_t first, rows;
} batch_copies;

/* The rows of one buffer the step reads: float32 rows in place (contiguous
 * from `first`), else gathered by idx and/or converted into `gathered`, one
 * batch at a time. The step only reads them (the caller's data is const). */
static float *batch_rows(const void *v, nnc_dtype dt, int64_t row, float *gathered, float *ready,
                         batch_copies *bc) {
  if (!v) return gathered; /* no values (a zero-sized row): nothing to read */
  if (!bc->idx && dt == NNC_F32) return (float *)v + bc->first * row;
  if (ready) return ready; /* gathered by the worker during the step before */
  row_copy c = {v, dt, row, gathered};
  if (bc->defer && bc->n < MAX_ROW_COPIES)
    bc->defer[bc->n++] = c;
  else
    copy_rows(&c, bc->idx, bc->first, 0, bc->rows);
  return gathered;
}

/* The next batch's rows gathered row by row by whichever thread takes the
 * next one: the pool's workers while they wait at a barrier of a step on
 * the pool (pool_set_idle), every thread after the step for the rows left.
 * A copy is a copy: the same bytes whoever makes it. */
typedef struct idle_gather {
  const row_copy *list;
  int n;
  const int64_t *idx;
  int64_t rows;
  atomic_llong taken; /* rows claimed so far */
} idle_gather;

static int gather_one_row(void *ctx) {
  idle_gather *g = ctx;
  int64_t r = atomic_fetch_add_explicit(&g->taken, 1, memory_order_relaxed);
  if (r >= g->rows) return 0;
#if defined(__x86_64__) || defined(__i386__)
  /* a wait is inside the step, whose driver set flush-to-zero and
   * denormals-are-zero: a float64 value of a float32 subnormal would
   * convert to 0 here and not where the caller converts it */
  unsigned csr = _mm_getcsr();
  _mm_setcsr(csr & ~(_MM_FLUSH_ZERO_ON | 0x40u)); /* 0x40: DAZ */
#endif
  for (int k = 0; k < g->n; k++) copy_rows(&g->list[k], g->idx, 0, r, r + 1);
#if defined(__x86_64__) || defined(__i386__)
  _mm_setcsr(csr);
#endif
  return 1;
}

typedef struct step_job {
  nnc_step_fn fn;
  float **regions;
  const float *scalars;
  int64_t rows;
  uint64_t rng;
  nnc_pool *pool;
  const batch_copies *copies;
  const model_data *data;
  const int64_t *next; /* the next batch's rows to prefetch, or NULL */
  int64_t next_rows;
  /* n_ahead > 0: the step on thread 0 alone while thread 1 makes these
   * copies of the next batch's rows (ahead_idx[0 .. ahead_rows)) */
  const row_copy *ahead;
  int n_ahead;
  const int64_t *ahead_idx;
  int64_t ahead_rows;
  /* a step on the pool: its threads gather the next batch in their waits */
  idle_gather *idle;
} step_job;

/* The batch's copies split by rows between the threads (a copy is a copy:
 * the same bytes whoever makes it), a barrier, then the step. Two cores
 * keep twice the cache misses in flight on a shuffled gather. Each thread
 * then prefetches the share of the next batch's rows it will gather at the
 * next step (the same split), into its own core's caches. */
static void run_job(void *arg, int tid, int nthreads) {
  step_job *j = arg;
  if (j->n_ahead && !j->idle) { /* a step too small to split; the worker gathers the next batch */
    if (tid == 0)
      j->fn(j->regions, j->scalars, j->rows, j->rng, 0, 1, pool_barrier, NULL);
    else if (tid == 1)
      for (int k = 0; k < j->n_ahead; k++)
        copy_rows(&j->ahead[k], j->ahead_idx, 0, 0, j->ahead_rows);
    return;
  }
  const batch_copies *bc = j->copies;
  if (bc && bc->n) {
    int64_t r0 = bc->rows * tid / nthreads, r1 = bc->rows * (tid + 1) / nthreads;
    for (int k = 0; k < bc->n; k++) copy_rows(&bc->defer[k], bc->idx, bc->first, r0, r1);
    pool_barrier(j->pool);
  }
  if (j->next) {
    int64_t s0 = j->next_rows * tid / nthreads, s1 = j->next_rows * (tid + 1) / nthreads;
    fit_prefetch_rows(j->data, j->next + s0, s1 - s0);
  }
  j->fn(j->regions, j->scalars, j->rows, j->rng, tid, nthreads, pool_barrier, j->pool);
  if (j->idle) /* the rows no wait took */
    while (gather_one_row(j->idle)) {
    }
}

/* Sample weight s of the table as d holds it (its buffer follows the
 * inputs and targets), or NULL: weights of 1. */
static const void *weights_of(const nnc_program_table *t, const model_data *d, int s, nnc_dtype *dt,
                              int64_t *row) {
  int k = t->sample_weights[s].output;
  if (!d->has_y || k < 0 || k >= d->n_w || !d->w[k] ||
      d->w_row[k] != row_floats(&t->sample_weights[s]))
    return NULL;
  *dt = d->w_dt[k];
  *row = d->w_row[k];
  return d->w[k];
}

/* ---- the gather worker: the next batch while this one runs ---- */

/* The worker gathers a batch where the copy misses the caches: rows drawn
 * from at least AHEAD_DATA_BYTES of data (W3's 72 MB: 10 % faster epochs,
 * W4's 188 MB 15 %; rows from 8 MB: no faster; W5's 3.6 MB: 16 % slower,
 * the step then reads the other core's lines instead of its own caches),
 * and a batch of at least AHEAD_BATCH_BYTES (a few rows' misses cost less
 * than waking the worker). docs/performance.md, "Session 31: a gather
 * worker". */
#define AHEAD_DATA_BYTES (INT64_C(16) << 20)
#define AHEAD_BATCH_BYTES (INT64_C(16) << 10)

/* NNC_GATHER_AHEAD=1: the worker gathers every batch it can (tests: small
 * data sets take the path); 0: never; unset: by the two sizes above. */
static int ahead_mode(void) {
  const char *e = getenv("NNC_GATHER_AHEAD");
  return e && !strcmp(e, "1") ? 1 : e && !strcmp(e, "0") ? 0 : -1;
}

void batch_ahead_free(batch_ahead *a) {
  if (!a) return;
  for (int i = 0; i < 2 * a->n; i++) free(a->buf[i]);
  free(a->buf);
  free(a->cap);
  free(a->idx_copy);
  memset(a, 0, sizeof *a);
}

/* Whether a holds rows idx[0 .. rows) of d: the same data, the same row
 * numbers (a new pass reshuffles idx in place, so its values are compared). */
static int ahead_holds(const batch_ahead *a, const model_data *d, const int64_t *idx,
                       int64_t rows) {
  return a && a->ready && idx && a->d == d && a->idx == idx && a->rows == rows &&
         !memcmp(a->idx_copy, idx, (size_t)rows * sizeof *idx);
}

/* Buffer b of the batch the worker gathered into slot `taken`, or NULL
 * when it gathered none for this step (taken < 0). */
static float *ahead_buffer(const batch_ahead *a, int taken, int b) {
  return taken >= 0 ? a->buf[taken * a->n + b] : NULL;
}

/* Buffer b of the step's data in d (inputs, targets, then sample weights):
 * its values, or NULL (none: nothing to copy). */
static const void *source_of(const nnc_program_table *t, const model_data *d, int b, nnc_dtype *dt,
                             int64_t *row) {
  int s = b - t->n_inputs - t->n_targets;
  if (s >= 0) return weights_of(t, d, s, dt, row);
  if (b >= d->n_bufs) return NULL;
  *dt = d->dt[b], *row = d->row[b];
  return d->v[b];
}

/* The copies that gather rows next[0 .. rows) of d into slot `slot` of a
 * (grown for them): every buffer the step reads from d; none (*n_list 0)
 * where the worker would not gain (AHEAD_DATA_BYTES, AHEAD_BATCH_BYTES) or
 * a job cannot hold them all. */
static int ahead_copies(const nnc_program_table *t, const model_data *d, batch_ahead *a, int slot,
                        int64_t rows, row_copy *list, int *n_list, nnc_status *st) {
  int n = t->n_inputs + t->n_targets + t->n_sample_weights, copies = 0;
  int64_t batch = 0, data = 0;
  *n_list = 0;
  for (int b = 0; b < n; b++) {
    nnc_dtype dt = NNC_F32;
    int64_t row = 0;
    if (!source_of(t, d, b, &dt, &row)) continue;
    copies++;
    batch += row * rows * (int64_t)sizeof(float);
    data += d->n * row * (int64_t)nnc_dtype_size(dt);
  }
  if (a->n != n) { /* first use (a fit runs one table) */
    batch_ahead_free(a);
    a->mode = ahead_mode();
    a->buf = nnc_calloc((size_t)(2 * n) + 1, sizeof *a->buf, st);
    a->cap = a->buf ? nnc_calloc((size_t)(2 * n) + 1, sizeof *a->cap, st) : NULL;
    if (!a->cap) return st->code;
    a->n = n;
  }
  if (a->mode == 0 || copies > MAX_ROW_COPIES ||
      (a->mode < 0 && (batch < AHEAD_BATCH_BYTES || data < AHEAD_DATA_BYTES)))
    return NNC_OK;
  for (int b = 0; b < n; b++) {
    nnc_dtype dt = NNC_F32;
    int64_t row = 0;
    const void *v = source_of(t, d, b, &dt, &row);
    if (!v) continue;
    int i = slot * n + b;
    if (grow(&a->buf[i], &a->cap[i], row * rows + 1, st)) return st->code;
    list[(*n_list)++] = (row_copy){v, dt, row, a->buf[i]};
  }
  return NNC_OK;
}

/* Record that slot holds rows next[0 .. rows) of d. */
static int ahead_record(batch_ahead *a, const model_data *d, int slot, const int64_t *next,
                        int64_t rows, nnc_status *st) {
  if (rows > a->idx_cap) {
    int64_t *bigger = nnc_realloc_array(a->idx_copy, (size_t)rows, sizeof *bigger, st);
    if (!bigger) return st->code;
    a->idx_copy = bigger;
    a->idx_cap = rows;
  }
  memcpy(a->idx_copy, next, (size_t)rows * sizeof *next);
  a->ready = slot + 1, a->d = d, a->idx = next, a->rows = rows;
  return NNC_OK;
}

static int run_step(nnc_model *m, int which, const model_data *d, const int64_t *idx, int64_t first,
                    int64_t rows, float **outs, const int64_t *next, int64_t next_rows,
                    batch_ahead *ahead, nnc_status *st) {
  const nnc_program_table *t = m->t;
  nnc_step_fn fn = t->entries[which].fn;
  if (!fn && which == NNC_ENTRY_PREDICT) /* an ahead-of-time object of train steps only */
    return nnc_fail(st, NNC_ERR_ARG,
                    "%s: the model's table has no predict step (nnc compile -o --entry train)",
                    model_source(m));
  if (!fn)
    return nnc_fail(st, NNC_ERR_ARG, "%s: the model has no compile config (optimizer, loss)",
                    model_source(m));
  if (model_reserve(m, rows, st)) return st->code;
  int n_io = t->n_inputs + t->n_targets + t->n_outputs + t->n_sample_weights;
  float *small[16], **regions = small;
  if (NNC_REGION_IO + n_io > 16) {
    regions = nnc_calloc((size_t)(NNC_REGION_IO + n_io), sizeof *regions, st);
    if (!regions) return st->code;
  }
  memset(regions, 0, (size_t)(NNC_REGION_IO + n_io) * sizeof *regions);
  float **data = regions + NNC_REGION_IO; /* inputs, then targets */
  int checked = which == NNC_ENTRY_TRAIN && m->check_numerics, rc = NNC_OK;
  /* a step on the pool copies its rows on the pool's threads (run_job);
   * the numerics check reads them before the step: copied here */
  const nnc_entry *e = &t->entries[which];
  int parallel = m->pool && rows >= e->parallel_rows;
  /* in the tuned band: the pool or this thread, as measured (step_tuner.h) */
  step_tuner *tuner =
      parallel && !m->no_thread_tuning && rows < e->sure_rows ? &m->tuners[which] : NULL;
  if (tuner) parallel = step_tuner_pick(tuner);
  double started = tuner ? nnc_monotonic_seconds() : 0;
  row_copy deferred[MAX_ROW_COPIES];
  batch_copies bc = {parallel && !checked ? deferred : NULL, 0, idx, first, rows};
  /* this batch as the worker gathered it during the step before, if it did */
  int taken = ahead_holds(ahead, d, idx, rows) ? ahead->ready - 1 : -1;
  if (ahead) ahead->ready = 0;
  /* the next batch: gathered by the pool's worker during a step on this
   * thread alone, or during a step on the pool by its threads in their
   * waits at the barriers and after it */
  row_copy pre[MAX_ROW_COPIES];
  int n_pre = 0, into = taken == 0 ? 1 : 0;
  if (ahead && next && !checked && m->pool && pool_size(m->pool) > 1) {
    if (ahead_copies(t, d, ahead, into, next_rows, pre, &n_pre, st)) {
      if (regions != small) free(regions);
      return st->code;
    }
  }
  if (next && !bc.defer && !n_pre) fit_prefetch_rows(d, next, next_rows);
  idle_gather idle = {pre, n_pre, next, next_rows, 0};
  for (int b = 0; b < d->n_bufs; b++)
    data[b] = batch_rows(d->v[b], d->dt[b], d->row[b], m->gathered[b],
                         ahead_buffer(ahead, taken, b), &bc);
  /* sample weights after the outputs; weights of 1 where the data has none */
  for (int s = 0; s < t->n_sample_weights; s++) {
    int b = t->n_inputs + t->n_targets + s;
    float **at = &regions[NNC_REGION_IO + t->n_inputs + t->n_targets + t->n_outputs + s];
    nnc_dtype wdt = NNC_F32;
    int64_t wrow = 0;
    const void *w = source_of(t, d, b, &wdt, &wrow);
    *at =
        w ? batch_rows(w, wdt, wrow, m->gathered[b], ahead_buffer(ahead, taken, b), &bc) : m->ones;
  }
  /* train and test steps of a table with outputs_in_train write the outputs (host metrics) */
  if (!outs && which != NNC_ENTRY_PREDICT && t->outputs_in_train) outs = m->host_outs;
  for (int k = 0; outs && k < t->n_outputs; k++)
    regions[NNC_REGION_IO + t->n_inputs + t->n_targets + k] = outs[k];
  regions[NNC_REGION_PARAMS] = m->params;
  regions[NNC_REGION_SLOTS] = m->slots;
  regions[NNC_REGION_STATS] = m->stats;
  regions[NNC_REGION_FIXED] = m->fixed;
  regions[NNC_REGION_BATCH] = m->batch;
  regions[NNC_REGION_SCRATCH] = m->scratch;
  float scalars[NNC_SCALAR_COUNT];
  scalars[NNC_SCALAR_LR] = (float)model_step_learning_rate(m);
  scalars[NNC_SCALAR_T] = (float)(m->iterations + 1);
  scalars[NNC_SCALAR_BATCH] = (float)rows;
  if (checked && numerics_before_step(m, data, rows, idx, first, st)) {
    rc = st->code;
  } else {
    /* dropout masks: keyed by (seed, step) here and (layer, element) in the kernel */
    uint64_t rng = nnc_mix64(nnc_mix64(m->seed) ^ (uint64_t)m->iterations);
    step_job job = {.fn = fn,
                    .regions = regions,
                    .scalars = scalars,
                    .rows = rows,
                    .rng = rng,
                    .pool = m->pool,
                    .copies = &bc,
                    .data = d,
                    .next = bc.defer && !n_pre ? next : NULL,
                    .next_rows = next_rows,
                    .ahead = pre,
                    .n_ahead = n_pre,
                    .ahead_idx = next,
                    .ahead_rows = next_rows,
                    .idle = parallel && n_pre ? &idle : NULL};
    /* below parallel_rows every group runs on thread 0 alone: the step
     * needs no other thread, so none is woken unless it gathers the next
     * batch meanwhile (bit-identical either way) */
    if (job.idle) pool_set_idle(m->pool, gather_one_row, &idle);
    if (parallel || n_pre)
      pool_run(m->pool, run_job, &job);
    else
      fn(regions, scalars, rows, rng, 0, 1, pool_barrier, NULL);
    if (job.idle) pool_set_idle(m->pool, NULL, NULL), m->gathered_on_pool++;
    if (n_pre && ahead_record(ahead, d, into, next, next_rows, st)) rc = st->code;
    if (tuner) {
      double now = nnc_monotonic_seconds();
      step_tuner_record(tuner, parallel, now - started, rows, now);
    }
    if (which != NNC_ENTRY_PREDICT) host_metrics_update(m, regions + NNC_REGION_IO, rows);
    if (which == NNC_ENTRY_TRAIN) m->iterations++;
    if (checked && numerics_after_step(m, rows, st))
      rc = st->code; /* state restored */
    else if (which == NNC_ENTRY_TRAIN)
      m->weights_changed = 1;
  }
  if (regions != small) free(regions);
  return rc;
}

int model_run_step(nnc_model *m, int which, const model_data *d, const int64_t *idx, int64_t first,
                   int64_t rows, float **outs, nnc_status *st) {
  return run_step(m, which, d, idx, first, rows, outs, NULL, 0, NULL, st);
}

int model_run_step_ahead(nnc_model *m, int which, const model_data *d, const int64_t *idx,
                         int64_t first, int64_t rows, const int64_t *next, int64_t next_rows,
                         batch_ahead *ahead, nnc_status *st) {
  return run_step(m, which, d, idx, first, rows, NULL, next, next_rows, ahead, st);
}
