/* The loss table: one row per Keras 3 loss class (the rows live in the
 * family files), name lookups, and Keras's LossFunctionWrapper.call: the
 * rank fix-up, then the loss function. */
#include <stdio.h>
#include <string.h>

#include "compiler/losses/losses.h"

static const loss_class *const table[] = {
    &loss_mse,
    &loss_mae,
    &loss_bce,
    &loss_cce,
    &loss_scce,
    &loss_mape,
    &loss_msle,
    &loss_huber,
    &loss_log_cosh,
    &loss_hinge,
    &loss_squared_hinge,
    &loss_categorical_hinge,
    &loss_kld,
    &loss_poisson,
    &loss_cosine,
    &loss_binary_focal,
    &loss_categorical_focal,
    &loss_dice,
    &loss_tversky,
};
_Static_assert(sizeof table / sizeof table[0] == NNC_LOSS_KIND_COUNT, "one row per loss kind");

/* Keras's extra string aliases (losses/__init__.py ALL_OBJECTS_DICT and the
 * legacy names), normalized */
static const struct {
  const char *alias;
  nnc_loss_kind kind;
} aliases[] = {
    {"mse", NNC_LOSS_MSE},
    {"mae", NNC_LOSS_MAE},
    {"bce", NNC_LOSS_BCE},
    {"kld", NNC_LOSS_KLD},
    {"mape", NNC_LOSS_MAPE},
    {"msle", NNC_LOSS_MSLE},
    {"kullbackleiblerdivergence", NNC_LOSS_KLD},
};

const loss_class *loss_class_of(nnc_loss_kind kind) {
  return kind >= 0 && kind < NNC_LOSS_KIND_COUNT ? table[kind] : NULL;
}

const loss_class *loss_lookup(const char *name) {
  char norm[64], cls[64], fn[64];
  if (!name || !spec_normalize(name, norm, sizeof norm)) return NULL;
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
    if (spec_normalize(table[i]->class_name, cls, sizeof cls) && !strcmp(norm, cls))
      return table[i];
    if (spec_normalize(table[i]->function, fn, sizeof fn) && !strcmp(norm, fn)) return table[i];
  }
  for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
    if (!strcmp(norm, aliases[i].alias)) return table[aliases[i].kind];
  return NULL;
}

static void append(char *text, size_t size, const char *part) {
  strncat(text, part, size - strlen(text) - 1);
}

const char *loss_names_text(void) {
  /* the function names only: with the class names too the list (about 900
   * bytes) no longer fits a status message after the file and JSON path */
  static char text[1024];
  if (text[0]) return text;
  size_t n = sizeof table / sizeof table[0];
  append(text, sizeof text, "mse, mae, bce, kld, mape, msle, ");
  for (size_t i = 0; i < n; i++) {
    append(text, sizeof text, table[i]->function);
    append(text, sizeof text, ", ");
  }
  append(text, sizeof text, "or the class of one of them, e.g. MeanSquaredError");
  return text;
}

/* y_pred without its trailing 1 (Keras squeezed it against targets of one
 * rank less): the loss then works on the axis before. */
static int drop_last(nnc_graph *g, int x, nnc_status *st) {
  nnc_shape s = g->nodes[x].shape;
  s.rank--;
  return graph_reshape(g, x, s, st);
}

int loss_lower(nnc_graph *g, const nnc_spec_loss *loss, int y_pred, int y_true, int squeezed,
               loss_values *out, nnc_status *st) {
  out->values = out->mask = -1;
  const loss_class *c = loss_class_of(loss->kind);
  if (!c) return nnc_fail(st, NNC_ERR_INTERNAL, "loss kind %d has no row", (int)loss->kind);
  if (y_pred < 0 || y_true < 0) return st->code;
  if (c->lower == NULL) return nnc_fail(st, NNC_ERR_INTERNAL, "loss %s not lowered", c->class_name);
  if ((c->options & LOSS_OPT_AXIS) && loss->axis != -1) {
    char what[NNC_NAME_MAX + 16];
    snprintf(what, sizeof what, "loss \"%s\"", loss->name);
    if (squeezed)
      return nnc_fail(st, NNC_ERR_SPEC,
                      "%s: axis %d together with Keras's rank fix-up (an output (..., 1) against "
                      "targets of one rank less) is not supported yet",
                      what, loss->axis);
    int logits = loss->kind <= NNC_LOSS_SCCE           ? LOSS_LOGITS_ALL
                 : loss->kind == NNC_LOSS_BINARY_FOCAL ? LOSS_LOGITS_SIGMOID
                                                       : LOSS_LOGITS_NONE;
    if (loss_move_axis_last(g, what, loss->axis, logits, &y_pred, &y_true, st)) return st->code;
  }
  if (loss->kind <= NNC_LOSS_SCCE) {
    /* the composite node keeps the squeeze in its flag (no logits rewrite) */
    int first = g->n;
    if (c->lower(g, loss, y_pred, y_true, out, st)) return st->code ? st->code : NNC_ERR_INTERNAL;
    for (int i = first; squeezed && i < g->n; i++)
      if (g->nodes[i].op == NNC_OP_LOSS) g->nodes[i].params.loss.squeezed = 1;
    return NNC_OK;
  }
  if (squeezed && g->nodes[y_pred].shape.rank > 2) {
    y_pred = drop_last(g, y_pred, st);
    y_true = drop_last(g, y_true, st);
    if (y_pred < 0 || y_true < 0) return st->code;
  }
  if (c->lower(g, loss, y_pred, y_true, out, st)) return st->code ? st->code : NNC_ERR_INTERNAL;
  return NNC_OK;
}

int loss_per_sample(nnc_graph *g, const nnc_spec_loss *loss, int y_pred, int y_true,
                    nnc_status *st) {
  loss_values v;
  if (loss_lower(g, loss, y_pred, y_true, 0, &v, st)) return -1;
  return v.values;
}
