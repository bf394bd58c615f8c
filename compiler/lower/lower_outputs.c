/* Matches a compile config's per-output losses, loss weights and metrics to
 * the model's outputs, as Keras 3 does when it builds CompileLoss and
 * CompileMetrics (keras/src/trainers/compile_utils.py; docs/semantics.md
 * "Several outputs"), and names the log keys. Errors name the JSON path of
 * the entry at fault. */
#include <stdlib.h>
#include <string.h>

#include "compiler/lower/lower_internal.h"
#include "base/base.h"

void lower_plan_free(lower_plan *p) {
  free(p->outputs);
  free(p->metrics);
  memset(p, 0, sizeof *p);
}

static int output_index(const nnc_program *prog, const char *name) {
  for (int k = 0; k < prog->n_outputs; k++)
    if (strcmp(prog->outputs[k].name, name) == 0) return k;
  return -1;
}

/* "a", "b" for messages. */
static void output_names(const nnc_program *prog, char *buf, size_t size) {
  buf[0] = '\0';
  for (int k = 0; k < prog->n_outputs; k++) {
    size_t used = strlen(buf);
    snprintf(buf + used, size - used, "%s\"%s\"", k ? ", " : "", prog->outputs[k].name);
  }
}

/* The loss entry of each output (-1: none) and how many entries the loss
 * structure has (what loss_weights must match). */
static int match_losses(const nnc_spec *spec, const nnc_program *prog, int *entry, int *count,
                        nnc_status *st) {
  const nnc_spec_compile *c = &spec->compile;
  int n = prog->n_outputs;
  char names[512];
  output_names(prog, names, sizeof names);
  switch (c->loss_form) {
  case NNC_FORM_LIST:
    /* Keras: a shorter list trains the first outputs; a longer one fails */
    if (c->n_losses > n)
      return nnc_fail(st, NNC_ERR_SPEC,
                      "%s: %s: expected at most one loss per output: the model has %d output%s "
                      "(%s)",
                      spec->source, c->losses[n].path, n, n == 1 ? "" : "s", names);
    for (int k = 0; k < n; k++) entry[k] = k < c->n_losses ? k : -1;
    *count = c->n_losses;
    return NNC_OK;
  case NNC_FORM_DICT:
    /* Keras: the keys must be exactly the output names */
    for (int i = 0; i < c->n_losses; i++)
      if (output_index(prog, c->losses[i].key) < 0)
        return nnc_fail(st, NNC_ERR_SPEC,
                        "%s: %s: expected an output name (%s) as the key of a loss dict",
                        spec->source, c->losses[i].path, names);
    for (int k = 0; k < n; k++) {
      entry[k] = -1;
      for (int i = 0; i < c->n_losses; i++)
        if (strcmp(c->losses[i].key, prog->outputs[k].name) == 0) entry[k] = i;
      if (entry[k] < 0)
        return nnc_fail(st, NNC_ERR_SPEC,
                        "%s: %s.loss: expected a key for every output (%s) in a loss dict (null "
                        "for no loss), \"%s\" is missing",
                        spec->source, c->path, names, prog->outputs[k].name);
    }
    *count = n;
    return NNC_OK;
  default: /* one loss for every output */
    for (int k = 0; k < n; k++) entry[k] = 0;
    *count = 1;
    return NNC_OK;
  }
}

static int by_key(const void *a, const void *b) {
  return strcmp(((const nnc_spec_loss_entry *)a)->key, ((const nnc_spec_loss_entry *)b)->key);
}

/* The weight of each loss-structure position: loss_weights as a float,
 * list or dict. Keras pairs weights with losses position by position when
 * both have the same structure, else by their flattened order (a dict's
 * values sorted by key) if the counts agree. */
static int match_weights(const nnc_spec *spec, const nnc_program *prog, int count,
                         nnc_spec_loss_entry *pos, nnc_status *st) {
  const nnc_spec_compile *c = &spec->compile;
  char path[NNC_PATH_MAX + 16];
  snprintf(path, sizeof path, "%s.loss_weights", c->path);
  for (int i = 0; i < count; i++) {
    memset(&pos[i], 0, sizeof pos[i]);
    pos[i].weight = 1.0;
  }
  if (c->weights_form == NNC_FORM_NONE) return NNC_OK;
  if (c->weights_form == NNC_FORM_DICT && c->loss_form == NNC_FORM_DICT) {
    char names[512];
    output_names(prog, names, sizeof names);
    for (int i = 0; i < c->n_weights; i++)
      if (output_index(prog, c->weights[i].key) < 0)
        return nnc_fail(st, NNC_ERR_SPEC, "%s: %s: expected an output name (%s) as the key",
                        spec->source, c->weights[i].path, names);
    for (int k = 0; k < prog->n_outputs; k++) {
      int found = 0;
      for (int i = 0; i < c->n_weights; i++)
        if (strcmp(c->weights[i].key, prog->outputs[k].name) == 0) {
          pos[k] = c->weights[i];
          found = 1;
        }
      if (!found)
        return nnc_fail(st, NNC_ERR_SPEC,
                        "%s: %s: expected a weight for every output of the loss dict (%s), "
                        "\"%s\" is missing",
                        spec->source, path, names, prog->outputs[k].name);
    }
    return NNC_OK;
  }
  if (c->n_weights != count)
    return nnc_fail(st, NNC_ERR_SPEC,
                    "%s: %s: expected loss_weights to match the number of losses, got %d loss%s "
                    "and %d weight%s",
                    spec->source, path, count, count == 1 ? "" : "es", c->n_weights,
                    c->n_weights == 1 ? "" : "s");
  for (int i = 0; i < count; i++) pos[i] = c->weights[i];
  if (c->weights_form == NNC_FORM_DICT) qsort(pos, (size_t)count, sizeof *pos, by_key);
  return NNC_OK;
}

/* Which output each metric group feeds (-1: refused above). */
static int match_metric_groups(const nnc_spec *spec, const nnc_spec_compile *c,
                               const char *argument, const nnc_program *prog, int *group_output,
                               nnc_status *st) {
  int n = prog->n_outputs;
  char names[512], path[NNC_PATH_MAX + 32];
  output_names(prog, names, sizeof names);
  snprintf(path, sizeof path, "%s.%s", spec->compile.path, argument);
  switch (c->metrics_form) {
  case NNC_FORM_NONE:
    return NNC_OK;
  case NNC_FORM_ONE:
    if (n > 1)
      return nnc_fail(st, NNC_ERR_SPEC,
                      "%s: %s: expected a list (one entry per output) or a dict by output name "
                      "for a model with %d outputs (%s)",
                      spec->source, path, n, names);
    group_output[0] = 0;
    return NNC_OK;
  case NNC_FORM_LIST:
    if (n == 1 && !c->metrics_nested) { /* a flat list: all for the one output */
      for (int g = 0; g < c->n_groups; g++) group_output[g] = 0;
      return NNC_OK;
    }
    if (c->n_groups != n)
      return nnc_fail(st, NNC_ERR_SPEC,
                      "%s: %s: expected one entry (a list of metrics) per output: the model has "
                      "%d output%s (%s), the list has %d entr%s",
                      spec->source, path, n, n == 1 ? "" : "s", names, c->n_groups,
                      c->n_groups == 1 ? "y" : "ies");
    for (int g = 0; g < c->n_groups; g++) group_output[g] = g;
    return NNC_OK;
  case NNC_FORM_DICT:
    for (int g = 0; g < c->n_groups; g++) {
      group_output[g] = output_index(prog, c->groups[g].key);
      if (group_output[g] < 0)
        return nnc_fail(st, NNC_ERR_SPEC,
                        "%s: %s: expected an output name (%s) as the key of a %s dict",
                        spec->source, c->groups[g].path, names, argument);
    }
    return NNC_OK;
  }
  return nnc_fail(st, NNC_ERR_INTERNAL, "unknown metrics form");
}

static int key_taken(const lower_plan *p, const char *key) {
  for (int i = 0; i < p->n_metrics; i++)
    if (strcmp(p->metrics[i].key, key) == 0) return 1;
  return 0;
}

/* Log keys: "<output>_<metric>" with several outputs, Keras's "_1", "_2"
 * for repeats (CompileMetrics.result); the bare name with one output,
 * where a repeat is refused as before. A weighted metric whose key is
 * taken becomes "[<output>_]weighted_<metric>" (then "_1", ... as Keras's
 * CompileMetrics.result names them). */
static int name_metric(const nnc_spec *spec, const nnc_program *prog, lower_plan *p,
                       lower_metric_ref *ref, nnc_status *st) {
  const char *name = ref->metric->name;
  char key[2 * NNC_NAME_MAX + 16], weighted[NNC_NAME_MAX + 16];
  if (ref->metric->weighted) {
    if (prog->n_outputs == 1
            ? key_taken(p, name)
            : (snprintf(key, sizeof key, "%s_%s", prog->outputs[ref->output].name, name),
               key_taken(p, key))) {
      snprintf(weighted, sizeof weighted, "weighted_%s", name);
      name = weighted;
    }
    if (prog->n_outputs == 1)
      snprintf(key, sizeof key, "%s", name);
    else
      snprintf(key, sizeof key, "%s_%s", prog->outputs[ref->output].name, name);
    if (key_taken(p, key)) {
      char base[sizeof key];
      memcpy(base, key, sizeof base);
      for (int index = 1; key_taken(p, key); index++)
        snprintf(key, sizeof key, "%.*s_%d", (int)NNC_NAME_MAX * 2, base, index);
    }
    if (strlen(key) >= sizeof ref->key)
      return nnc_fail(st, NNC_ERR_SPEC, "%s: %s: the log key \"%s\" is longer than %d bytes",
                      spec->source, ref->metric->path, key, (int)sizeof ref->key - 1);
    nnc_strlcpy(ref->key, key, sizeof ref->key);
    return NNC_OK;
  }
  if (prog->n_outputs == 1) {
    if (key_taken(p, name))
      return nnc_fail(st, NNC_ERR_SPEC, "%s: %s: expected unique metric names, got \"%s\" twice",
                      spec->source, ref->metric->path, name);
    nnc_strlcpy(ref->key, name, sizeof ref->key);
    return NNC_OK;
  }
  snprintf(key, sizeof key, "%s_%s", prog->outputs[ref->output].name, name);
  if (key_taken(p, key)) {
    char base[sizeof key];
    memcpy(base, key, sizeof base);
    for (int index = 1; key_taken(p, key); index++)
      snprintf(key, sizeof key, "%.*s_%d", (int)NNC_NAME_MAX * 2, base, index);
  }
  if (strlen(key) >= sizeof ref->key)
    return nnc_fail(st, NNC_ERR_SPEC, "%s: %s: the log key \"%s\" is longer than %d bytes",
                    spec->source, ref->metric->path, key, (int)sizeof ref->key - 1);
  nnc_strlcpy(ref->key, key, sizeof ref->key);
  return NNC_OK;
}

/* "loss", "<output>_loss" and the metric keys must differ, and no key may
 * be another's "val_" copy. */
static int check_keys(const nnc_spec *spec, const nnc_program *prog, const lower_plan *p,
                      nnc_status *st) {
  for (int i = 0; i < p->n_metrics; i++) {
    const char *key = p->metrics[i].key;
    int clash = strcmp(key, "loss") == 0 || strncmp(key, "val_", 4) == 0;
    for (int k = 0; k < prog->n_outputs && !clash && p->n_loss_keys; k++) {
      char loss_key[NNC_NAME_MAX + 8];
      snprintf(loss_key, sizeof loss_key, "%s_loss", prog->outputs[k].name);
      clash = p->outputs[k].has_loss && strcmp(key, loss_key) == 0;
    }
    if (clash)
      return nnc_fail(st, NNC_ERR_SPEC,
                      "%s: %s: the metric's log key \"%s\" would be the same as a loss key "
                      "(\"loss\", \"<output>_loss\") or start with \"val_\"; rename the metric",
                      spec->source, p->metrics[i].metric->path, key);
  }
  for (int k = 0; k < prog->n_outputs && p->n_loss_keys; k++)
    if (p->outputs[k].has_loss && (strlen(prog->outputs[k].name) + 5 >= NNC_NAME_MAX ||
                                   strncmp(prog->outputs[k].name, "val_", 4) == 0))
      return nnc_fail(st, NNC_ERR_SPEC,
                      "%s: %s.loss: the output name \"%s\" makes a log key \"%s_loss\" that is "
                      "too long or starts with \"val_\"",
                      spec->source, spec->compile.path, prog->outputs[k].name,
                      prog->outputs[k].name);
  return NNC_OK;
}

/* The metrics of c (metrics or weighted_metrics), output by output. */
static int plan_metrics(const nnc_spec *spec, const nnc_spec_compile *c, const char *argument,
                        const nnc_program *prog, lower_plan *p, int *group_output, nnc_status *st) {
  if (match_metric_groups(spec, c, argument, prog, group_output, st)) return st->code;
  for (int k = 0; k < prog->n_outputs; k++) /* output order, then as written */
    for (int i = 0; i < c->n_metrics; i++) {
      /* a dict entry feeds every output of that name (two outputs of one
       * layer: Keras flattens the dict over output_names) */
      if (c->metrics_form == NNC_FORM_DICT
              ? strcmp(c->groups[c->metrics[i].group].key, prog->outputs[k].name) != 0
              : group_output[c->metrics[i].group] != k)
        continue;
      lower_metric_ref *ref = &p->metrics[p->n_metrics];
      ref->metric = &c->metrics[i];
      ref->output = k;
      if (name_metric(spec, prog, p, ref, st)) return st->code;
      p->outputs[k].has_metrics = 1;
      p->n_metrics++;
    }
  return NNC_OK;
}

static int plan(const nnc_spec *spec, const nnc_program *prog, lower_plan *p, int *entry,
                nnc_spec_loss_entry *pos, int *group_output, nnc_status *st) {
  const nnc_spec_compile *c = &spec->compile;
  int n = prog->n_outputs, count = 0;
  if (match_losses(spec, prog, entry, &count, st)) return st->code;
  if (match_weights(spec, prog, count, pos, st)) return st->code;
  for (int k = 0; k < n; k++) {
    lower_output_plan *o = &p->outputs[k];
    if (entry[k] < 0 || !c->losses[entry[k]].has_loss) continue;
    o->has_loss = 1;
    o->loss = c->losses[entry[k]].loss;
    /* one loss for all outputs: its weight too; a loss dict is a list in
     * output order by now */
    const nnc_spec_loss_entry *w = &pos[c->loss_form == NNC_FORM_ONE ? 0 : k];
    o->has_weight = w->has_weight;
    o->weight = w->weight;
    p->n_loss_keys++;
  }
  /* Keras logs "<output>_loss" only when more than one output has a loss */
  if (p->n_loss_keys < 2) p->n_loss_keys = 0;
  /* Keras logs all the metrics, then all the weighted ones */
  if (plan_metrics(spec, c, "metrics", prog, p, group_output, st)) return st->code;
  if (c->weighted_metrics &&
      plan_metrics(spec, c->weighted_metrics, "weighted_metrics", prog, p, group_output, st))
    return st->code;
  return check_keys(spec, prog, p, st);
}

int lower_plan_outputs(const nnc_spec *spec, const nnc_program *prog, lower_plan *out,
                       nnc_status *st) {
  const nnc_spec_compile *c = &spec->compile;
  memset(out, 0, sizeof *out);
  int n = prog->n_outputs, count = c->n_losses > n ? c->n_losses : n;
  int *entry = nnc_calloc((size_t)n + 1, sizeof *entry, st);
  const nnc_spec_compile *w = c->weighted_metrics;
  int n_groups = w && w->n_groups > c->n_groups ? w->n_groups : c->n_groups;
  int *group_output = nnc_calloc((size_t)n_groups + 1, sizeof *group_output, st);
  nnc_spec_loss_entry *pos = nnc_calloc((size_t)count + 1, sizeof *pos, st);
  out->outputs = nnc_calloc((size_t)n + 1, sizeof *out->outputs, st);
  out->metrics = nnc_calloc((size_t)c->n_metrics + (w ? (size_t)w->n_metrics : 0) + 1,
                            sizeof *out->metrics, st);
  int rc = entry && group_output && pos && out->outputs && out->metrics
               ? plan(spec, prog, out, entry, pos, group_output, st)
               : (int)st->code;
  out->n_outputs = n;
  free(entry);
  free(group_output);
  free(pos);
  if (rc) lower_plan_free(out);
  return rc;
}
