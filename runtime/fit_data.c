/* The data of a fit beyond x and y: option checks, the validation split and
 * validation_data, class weights, the order samples are visited in, the
 * prefetch of the next batch's rows. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/rng.h"
#include "runtime/api_check.h"
#include "runtime/fit.h"
#include "runtime/io/io.h"

int fit_check_options(const nnc_fit_options *o, int n_outputs, nnc_status *st) {
  static const char fn[] = "nnc_model_fit";
  if (o->epochs < 0 || o->initial_epoch < 0)
    return nnc_fail(st, NNC_ERR_ARG, "%s: epochs (%d) and initial_epoch (%d) must be >= 0", fn,
                    o->epochs, o->initial_epoch);
  if (o->verbose < 0 || o->verbose > 2)
    return nnc_fail(st, NNC_ERR_ARG, "%s: verbose must be 0, 1 or 2, got %d", fn, o->verbose);
  if (o->shuffle < NNC_SHUFFLE_OFF || o->shuffle > NNC_SHUFFLE_BATCH)
    return nnc_fail(st, NNC_ERR_ARG,
                    "%s: shuffle must be NNC_SHUFFLE_OFF, _ON or _BATCH (0, 1, 2), got %d", fn,
                    o->shuffle);
  if (!(o->validation_split >= 0 && o->validation_split < 1))
    return nnc_fail(st, NNC_ERR_ARG, "%s: validation_split must be in [0, 1), got %g", fn,
                    o->validation_split);
  if (o->validation_freq < 0 || o->steps_per_epoch < 0 || o->validation_steps < 0 ||
      o->validation_batch_size < 0)
    return nnc_fail(st, NNC_ERR_ARG,
                    "%s: validation_freq (%d), steps_per_epoch (%lld), validation_steps (%lld) "
                    "and validation_batch_size (%d) must be >= 0 (0: Keras's default)",
                    fn, o->validation_freq, (long long)o->steps_per_epoch,
                    (long long)o->validation_steps, o->validation_batch_size);
  if (o->train_metrics != NNC_TRAIN_METRICS_BATCHES &&
      o->train_metrics != NNC_TRAIN_METRICS_END_OF_EPOCH)
    return nnc_fail(st, NNC_ERR_ARG,
                    "%s: train_metrics must be NNC_TRAIN_METRICS_BATCHES or _END_OF_EPOCH, got %d",
                    fn, o->train_metrics);
  if (o->n_callbacks < 0 || (o->n_callbacks > 0 && !o->callbacks))
    return nnc_fail(st, NNC_ERR_ARG, "%s: callbacks is NULL but n_callbacks is %d", fn,
                    o->n_callbacks);
  for (int i = 0; i < o->n_callbacks; i++)
    if (!o->callbacks[i]) return nnc_fail(st, NNC_ERR_ARG, "%s: callbacks[%d] is NULL", fn, i);
  if (!o->x_val != !o->y_val)
    return nnc_fail(st, NNC_ERR_ARG, "%s: x_val and y_val go together (one of them is NULL)", fn);
  if (!o->x_vals != !o->y_vals)
    return nnc_fail(st, NNC_ERR_ARG, "%s: x_vals and y_vals go together (one of them is NULL)", fn);
  if (o->x_val &&
      (api_array(o->x_val, fn, "x_val", 1, st) || api_array(o->y_val, fn, "y_val", 1, st)))
    return NNC_ERR_ARG;
  if (o->x_vals && (api_list(o->n_x_vals, o->x_vals, fn, "x_vals", 0, st) ||
                    api_list(o->n_y_vals, o->y_vals, fn, "y_vals", 1, st)))
    return NNC_ERR_ARG;
  /* Keras: one sample_weight per output, or one for every output
   * (compile_utils.py); class_weight not with sample_weight, and only for a
   * model of one output */
  if (o->sample_weights && o->n_sample_weights != n_outputs && o->n_sample_weights != 1)
    return nnc_fail(st, NNC_ERR_ARG,
                    "%s: sample_weights: expected one array per output (%d) or one for every "
                    "output, got %d",
                    fn, n_outputs, o->n_sample_weights);
  if (o->sample_weights &&
      api_list(o->n_sample_weights, o->sample_weights, fn, "sample_weights", 1, st))
    return NNC_ERR_ARG;
  if (o->sample_weights_val && o->n_sample_weights_val != n_outputs && o->n_sample_weights_val != 1)
    return nnc_fail(st, NNC_ERR_ARG,
                    "%s: sample_weights_val: expected one array per output (%d) or one for every "
                    "output, got %d",
                    fn, n_outputs, o->n_sample_weights_val);
  if (o->sample_weights_val &&
      api_list(o->n_sample_weights_val, o->sample_weights_val, fn, "sample_weights_val", 1, st))
    return NNC_ERR_ARG;
  if (o->sample_weights_val && !o->x_val && !o->x_vals)
    return nnc_fail(st, NNC_ERR_ARG,
                    "%s: sample_weights_val needs validation data (x_val/y_val or x_vals/y_vals)",
                    fn);
  if (o->n_class_weights < 0 || (o->n_class_weights > 0 && !o->class_weights))
    return nnc_fail(st, NNC_ERR_ARG, "%s: class_weights is NULL but n_class_weights is %d", fn,
                    o->n_class_weights);
  for (int c = 0; c < o->n_class_weights; c++)
    if (!isfinite(o->class_weights[c]))
      return nnc_fail(st, NNC_ERR_ARG, "%s: class_weights[%d] is %g: expected a finite number", fn,
                      c, o->class_weights[c]);
  if (o->n_class_weights > 0 && o->sample_weights)
    return nnc_fail(st, NNC_ERR_ARG,
                    "%s: class_weights and sample_weights cannot be given together (as in Keras)",
                    fn);
  if (o->n_class_weights > 0 && n_outputs != 1)
    return nnc_fail(st, NNC_ERR_ARG,
                    "%s: class_weights is only supported for a model of one output (as in Keras); "
                    "the model has %d: give sample_weights",
                    fn, n_outputs);
  return NNC_OK;
}

int fit_split_validation(const model_data *all, double fraction, model_data *train, model_data *val,
                         nnc_status *st) {
  /* the range test comes first: (int64_t) of a huge or NaN product is undefined */
  int64_t split_at =
      fraction > 0 && fraction < 1 ? (int64_t)floor((double)all->n * (1.0 - fraction)) : 0;
  if (split_at <= 0 || split_at >= all->n)
    return nnc_fail(st, NNC_ERR_ARG,
                    "validation_split %g leaves no training or no validation samples out of %lld",
                    fraction, (long long)all->n);
  *train = *all; /* the first rows: the same arrays, fewer samples */
  train->n = split_at;
  return model_data_rows(all, split_at, all->n - split_at, val, st);
}

int fit_prepare_validation(nnc_model *m, const nnc_fit_options *o, model_data *val,
                           nnc_status *st) {
  int n_x = o->x_vals ? o->n_x_vals : 1, n_y = o->x_vals ? o->n_y_vals : 1;
  const nnc_array *xs = o->x_vals ? o->x_vals : o->x_val, *ys = o->x_vals ? o->y_vals : o->y_val;
  /* named copies: messages say "x_val" when the host gave no name */
  nnc_array *copy = nnc_calloc((size_t)(n_x + n_y), sizeof *copy, st);
  if (!copy) return st->code;
  for (int k = 0; k < n_x; k++) {
    copy[k] = xs[k];
    copy[k].name = api_array_name(&xs[k], "x_val");
  }
  for (int k = 0; k < n_y; k++) {
    copy[n_x + k] = ys[k];
    copy[n_x + k].name = api_array_name(&ys[k], "y_val");
  }
  int rc = model_data_prepare_multi(m, n_x, copy, n_y, copy + n_x, val, st);
  free(copy);
  nnc_array *shared = NULL;
  const nnc_array *sw = NULL;
  if (!rc && o->sample_weights_val &&
      !(sw = sample_weights_per_output(o->sample_weights_val, o->n_sample_weights_val,
                                       m->t->n_outputs, &shared, st)))
    rc = st->code;
  if (!rc) rc = model_data_add_weights(m, sw, val, st);
  free(shared);
  if (rc) model_data_free(val);
  return rc;
}

const nnc_array *sample_weights_per_output(const nnc_array *sw, int n, int n_outputs,
                                           nnc_array **owned, nnc_status *st) {
  *owned = NULL;
  if (!sw || n == n_outputs) return sw;
  /* one array for every output: copies of its descriptor, the data shared
   * (model_data_add_weights converts it once) */
  nnc_array *each = nnc_calloc((size_t)n_outputs + 1, sizeof *each, st);
  if (!each) return NULL;
  for (int k = 0; k < n_outputs; k++) each[k] = sw[0];
  *owned = each;
  return each;
}

int class_weights_to_sample_weights(const nnc_array *y, int n_classes, const double *weights,
                                    nnc_array *out, nnc_status *st) {
  memset(out, 0, sizeof *out);
  int64_t n = y->shape[0], count = nnc_array_count(y);
  int64_t per = n > 0 ? count / n : 0; /* values per sample */
  int64_t last = y->rank > 1 ? y->shape[y->rank - 1] : 1;
  if (n > 0 && per != last)
    return nnc_fail(st, NNC_ERR_DATA,
                    "%s%sclass_weights: y must hold one label or one one-hot row per sample "
                    "(shape (N,), (N, 1) or (N, classes)); a sequence target needs sample_weights",
                    API_ARRAY_WHERE(y));
  /* y is read one sample at a time, as float32 (as the step sees it): no copy of y */
  float *w = nnc_calloc((size_t)n + 1, sizeof *w, st);
  float *row = w ? nnc_calloc((size_t)per + 1, sizeof *row, st) : NULL;
  if (!row) {
    free(w);
    return st->code;
  }
  for (int64_t i = 0; i < n; i++) {
    nnc_convert_to_f32(y->dtype, y->data, i * per, per, row);
    double cls;
    if (per > 1) { /* argmax: the first largest, as np.argmax */
      int64_t best = 0;
      for (int64_t c = 1; c < per; c++)
        if (row[c] > row[best]) best = c;
      cls = (double)best;
    } else {
      cls = nearbyint((double)row[0]); /* np.round: half to even (the default rounding mode) */
    }
    w[i] = cls >= 0 && cls < n_classes ? (float)weights[(int64_t)cls] : 1.0f;
  }
  free(row);
  out->dtype = NNC_F32;
  out->rank = 1;
  out->shape[0] = n;
  out->data = w;
  out->name = y->name;
  return NNC_OK;
}

/* Fisher-Yates from the counter-based generator: a function of (key, i). */
static void permute(int64_t *idx, int64_t n, uint64_t key) {
  for (int64_t i = n - 1; i > 0; i--) {
    uint64_t z = nnc_mix64(key + (uint64_t)i);
    int64_t j = (int64_t)(z % (uint64_t)(i + 1));
    int64_t t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
}

void fit_shuffle(int64_t *idx, int64_t n, int mode, int64_t batch_size, uint64_t seed, int pass) {
  uint64_t key = nnc_mix64(nnc_stream_key(seed, "shuffle") ^ nnc_mix64((uint64_t)pass));
  for (int64_t i = 0; i < n; i++) idx[i] = i;
  if (mode == NNC_SHUFFLE_ON) {
    permute(idx, n, key);
    return;
  }
  if (mode != NNC_SHUFFLE_BATCH) return;
  /* Keras's shuffle="batch": each batch_size chunk permuted on its own */
  for (int64_t first = 0, chunk = 0; first < n; first += batch_size, chunk++) {
    int64_t rows = n - first < batch_size ? n - first : batch_size;
    permute(idx + first, rows, nnc_mix64(key ^ nnc_mix64((uint64_t)chunk + 1)));
  }
}

int fit_build_weights(const nnc_array *train, const nnc_fit_options *o, int n_outputs,
                      const nnc_array **out, nnc_array **owned, nnc_status *st) {
  *out = train;
  *owned = NULL;
  if (!o->sample_weights_val || (!o->x_val && !o->x_vals)) return NNC_OK;
  nnc_array *val_each;
  const nnc_array *val = sample_weights_per_output(o->sample_weights_val, o->n_sample_weights_val,
                                                   n_outputs, &val_each, st);
  if (!val) return st->code;
  nnc_array *each = nnc_calloc((size_t)n_outputs + 1, sizeof *each, st);
  if (each)
    for (int k = 0; k < n_outputs; k++) each[k] = train && train[k].rank > 0 ? train[k] : val[k];
  free(val_each);
  if (!each) return st->code;
  *out = *owned = each;
  return NNC_OK;
}

/* The next batch's rows (W4: 64 rows of 3 KB at random places) are
 * prefetched sparsely: a prefetch holds one of the core's ~12 line-fill
 * buffers until its line arrives, so a prefetch per line of all 64 rows
 * stalls as long as the gather would (measured: the time moved from memmove
 * to here). Two lines at the start of each row and of each 4 KB page it
 * crosses load the TLB entry and start the L2 streamer, which fetches the
 * rest of the page from its own queue while the step computes. */
void fit_prefetch_rows(const model_data *d, const int64_t *idx, int64_t rows) {
  for (int b = 0; b < d->n_bufs; b++) {
    size_t bytes = (size_t)d->row[b] * nnc_dtype_size(d->dt[b]);
    const char *base = d->v[b];
    if (!base || !bytes) continue;
    for (int64_t r = 0; r < rows; r++) {
      const char *at = base + (size_t)idx[r] * bytes, *end = at + bytes;
      for (const char *p = at; p < end;) {
        __builtin_prefetch(p, 0, 2);
        if (p + 64 < end) __builtin_prefetch(p + 64, 0, 2);
        p = (const char *)(((uintptr_t)p + 4096) & ~(uintptr_t)4095); /* the next page */
      }
    }
  }
}
