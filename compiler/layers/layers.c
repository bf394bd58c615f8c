/* The layer table (layers.def) as lookups. */
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "compiler/layers/layer.h"

#define LAYER(ID, file, class_name, prefix) extern const nnc_layer_class layer_##file;
#include "compiler/layers/layers.def"
#undef LAYER

static const nnc_layer_class *const table[NNC_LAYER_COUNT] = {
#define LAYER(ID, file, class_name, prefix) [NNC_LAYER_##ID] = &layer_##file,
#include "compiler/layers/layers.def"
#undef LAYER
};

const nnc_layer_class *layer_class(nnc_layer_kind kind) {
  return (unsigned)kind < NNC_LAYER_COUNT ? table[kind] : NULL;
}

int layer_kind_find(const char *class_name) {
  char want[64], have[64];
  if (!class_name || !spec_normalize(class_name, want, sizeof want)) return -1;
  for (int k = 0; k < NNC_LAYER_COUNT; k++)
    if (spec_normalize(table[k]->class_name, have, sizeof have) && strcmp(want, have) == 0)
      return k;
  return -1;
}

/* Edit distance between two normalized names, capped: enough to suggest a
 * class for a typo ("Conv2d", "BatchNormalisation"). */
static int name_distance(const char *a, const char *b) {
  size_t n = strlen(b);
  if (strlen(a) > 63 || n > 63) return 99;
  int row[64];
  for (size_t j = 0; j <= n; j++) row[j] = (int)j;
  for (size_t i = 1; a[i - 1]; i++) {
    int diag = row[0];
    row[0] = (int)i;
    for (size_t j = 1; j <= n; j++) {
      int up = row[j];
      int best = diag + (a[i - 1] != b[j - 1]);
      if (up + 1 < best) best = up + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[n];
}

void layer_class_expected(const char *class_name, char *buf, size_t size) {
  char want[64], have[64];
  int best = -1, best_distance = 3; /* suggest only within two edits */
  if (class_name && spec_normalize(class_name, want, sizeof want))
    for (int k = 0; k < NNC_LAYER_COUNT; k++) {
      if (!spec_normalize(table[k]->class_name, have, sizeof have)) continue;
      int d = name_distance(want, have);
      if (d < best_distance) best_distance = d, best = k;
    }
  if (best >= 0)
    snprintf(buf, size,
             "a supported layer class (did you mean \"%s\"? docs/layers.md lists all %d)",
             table[best]->class_name, NNC_LAYER_COUNT);
  else
    snprintf(buf, size, "a supported layer class (docs/layers.md lists all %d)", NNC_LAYER_COUNT);
}
