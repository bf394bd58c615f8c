/* The layer table (layers.def) as lookups. */
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

const char *layer_class_list(void) {
  static const char list[] = ""
#define LAYER(ID, file, class_name, prefix) ", " class_name
#include "compiler/layers/layers.def"
#undef LAYER
      ;
  return list + 2; /* past the first ", " */
}
