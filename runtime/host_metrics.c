/* Metrics computed by the host (nnc_model_add_metric, docs/expressions.md
 * "Host metrics"): after every train or test step the host's update_state
 * sees the batch's targets, the model's outputs (which the train and test
 * steps then also write: t->outputs_in_train) and sample weights, in batch
 * order; reset_state runs at the start of each epoch and evaluation, and
 * result() goes into the logs under the metric's name (val_<name> for
 * validation). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "runtime/api_check.h"
#include "runtime/model.h"

struct host_metric {
  nnc_metric m;
  char name[NNC_LOG_NAME - 4]; /* our copy: "val_" + name fits a log name */
};

static int64_t row_floats(const nnc_io_desc *io) {
  int64_t n = 1;
  for (int i = 0; i < io->rank; i++) n *= io->shape[i];
  return n;
}

/* The log keys the table reports, or a host metric already has this name. */
static int name_taken(const nnc_model *m, const char *name) {
  for (int i = 0; m->t && i < m->t->n_log_keys; i++)
    if (!strcmp(m->t->log_keys[i].name, name)) return 1;
  for (int i = 0; i < m->n_host_metrics; i++)
    if (!strcmp(m->host_metrics[i].name, name)) return 1;
  return 0;
}

int nnc_model_add_metric(nnc_model *m, const nnc_metric *metric, nnc_status *st) {
  API_STATUS(st);
  const char *fn = "nnc_model_add_metric";
  if (api_nonnull(m, fn, "m", st) || api_nonnull(metric, fn, "metric", st) ||
      api_nonnull(metric->name, fn, "metric->name", st) ||
      api_nonnull((const void *)(uintptr_t)metric->update_state, fn, "metric->update_state", st) ||
      api_nonnull((const void *)(uintptr_t)metric->result, fn, "metric->result", st))
    return NNC_ERR_ARG;
  size_t len = strlen(metric->name);
  if (len == 0 || len >= sizeof((struct host_metric *)0)->name || !strcmp(metric->name, "loss") ||
      !strncmp(metric->name, "val_", 4))
    return nnc_fail(st, NNC_ERR_ARG,
                    "%s: expected a metric name of 1 to %zu bytes, other than \"loss\" and not "
                    "starting with \"val_\", got \"%.40s\"",
                    fn, sizeof((struct host_metric *)0)->name - 1, metric->name);
  if (metric->output < 0 || metric->output >= m->desc.n_outputs)
    return nnc_fail(st, NNC_ERR_ARG, "%s: metric \"%s\": output %d is not in [0, %d)", fn,
                    metric->name, metric->output, m->desc.n_outputs);
  if (name_taken(m, metric->name))
    return nnc_fail(st, NNC_ERR_ARG, "%s: the model already logs a metric named \"%s\"", fn,
                    metric->name);
  if (!m->builder.build && m->t && !m->t->outputs_in_train)
    return nnc_fail(st, NNC_ERR_ARG,
                    "%s: the model's fixed table does not write its outputs in the train and "
                    "test steps (outputs_in_train), which host metrics need",
                    fn);
  struct host_metric *grown =
      nnc_realloc_array(m->host_metrics, (size_t)m->n_host_metrics + 1, sizeof *grown, st);
  if (!grown) return st->code;
  m->host_metrics = grown;
  struct host_metric *h = &grown[m->n_host_metrics++];
  h->m = *metric;
  memcpy(h->name, metric->name, len + 1);
  h->m.name = NULL; /* h->name: the array moves when it grows */
  /* a built model is rebuilt so that its train and test steps write the outputs */
  if (m->t && !m->t->outputs_in_train && model_rebuild(m, st)) {
    m->n_host_metrics--;
    return st->code;
  }
  return NNC_OK;
}

void host_metrics_free(nnc_model *m) {
  free(m->host_metrics);
  for (int k = 0; k < m->n_host_outs; k++) free(m->host_outs[k]);
  free(m->host_outs);
  free(m->host_outs_cap);
}

int host_metrics_reserve(nnc_model *m, int64_t rows, nnc_status *st) {
  const nnc_program_table *t = m->t;
  if (!t->outputs_in_train) return NNC_OK;
  if (t->n_outputs > m->n_host_outs) {
    float **o = nnc_realloc_array(m->host_outs, (size_t)t->n_outputs, sizeof *o, st);
    if (!o) return st->code;
    m->host_outs = o;
    int64_t *c = nnc_realloc_array(m->host_outs_cap, (size_t)t->n_outputs, sizeof *c, st);
    if (!c) return st->code;
    m->host_outs_cap = c;
    for (int k = m->n_host_outs; k < t->n_outputs; k++) {
      o[k] = NULL;
      c[k] = 0;
    }
    m->n_host_outs = t->n_outputs;
  }
  for (int k = 0; k < t->n_outputs; k++) {
    int64_t need = row_floats(&t->outputs[k]) * rows + 1;
    if (need <= m->host_outs_cap[k]) continue;
    float *b = nnc_realloc_array(m->host_outs[k], (size_t)need, sizeof *b, st);
    if (!b) return st->code;
    m->host_outs[k] = b;
    m->host_outs_cap[k] = need;
  }
  return NNC_OK;
}

void host_metrics_reset(nnc_model *m) {
  for (int i = 0; i < m->n_host_metrics; i++)
    if (m->host_metrics[i].m.reset_state)
      m->host_metrics[i].m.reset_state(m->host_metrics[i].m.user);
}

void host_metrics_update(nnc_model *m, float *const *io_regions, int64_t rows) {
  const nnc_program_table *t = m->t;
  if (!t->outputs_in_train) return;
  int outs = t->n_inputs + t->n_targets, weights = outs + t->n_outputs;
  for (int i = 0; i < m->n_host_metrics; i++) {
    const nnc_metric *h = &m->host_metrics[i].m;
    int k = h->output;
    const float *y_true = NULL, *sw = NULL;
    int64_t true_row = 0;
    for (int j = 0; j < t->n_targets; j++)
      if (t->targets[j].output == k) {
        y_true = io_regions[t->n_inputs + j];
        true_row = row_floats(&t->targets[j]);
      }
    /* sample weights of output k (regions after the outputs), when the data has them */
    for (int j = 0; j < t->n_sample_weights; j++)
      if (t->sample_weights[j].output == k) sw = io_regions[weights + j];
    h->update_state(h->user, y_true, true_row, io_regions[outs + k], row_floats(&t->outputs[k]), sw,
                    rows);
  }
}

int host_metrics_results(const nnc_model *m, const char *prefix, nnc_logs *logs, nnc_status *st) {
  for (int i = 0; i < m->n_host_metrics; i++) {
    const nnc_metric *h = &m->host_metrics[i].m;
    char name[NNC_LOG_NAME];
    snprintf(name, sizeof name, "%s%s", prefix, m->host_metrics[i].name);
    if (nnc_logs_set(logs, name, h->result(h->user), st)) return st->code;
  }
  return NNC_OK;
}
