/* First-fit placement over a sorted list of maximal holes (arena.h). */
#include "compiler/passes/arena.h"

#include <stdlib.h>
#include <string.h>

#include "base/base.h"

static void remove_hole(arena *a, int i) {
  memmove(&a->holes[i], &a->holes[i + 1], (size_t)(a->n_holes - i - 1) * sizeof *a->holes);
  a->n_holes--;
}

int64_t arena_place(arena *a, int64_t size) {
  /* holes are maximal, so the first one that is large enough is the lowest fit */
  for (int i = 0; i < a->n_holes; i++) {
    arena_hole *h = &a->holes[i];
    if (h->size < size) continue;
    int64_t offset = h->offset;
    h->offset += size;
    h->size -= size;
    if (h->size == 0) remove_hole(a, i);
    return offset;
  }
  int64_t offset = a->top;
  a->top += size;
  return offset;
}

int arena_release(arena *a, int64_t offset, int64_t size, nnc_status *st) {
  /* i: the first hole above the freed space */
  int lo = 0, hi = a->n_holes;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    if (a->holes[mid].offset < offset)
      lo = mid + 1;
    else
      hi = mid;
  }
  int i = lo;
  if (i > 0 && a->holes[i - 1].offset + a->holes[i - 1].size == offset) {
    /* grows the hole below it */
    offset = a->holes[i - 1].offset;
    size += a->holes[i - 1].size;
    remove_hole(a, --i);
  }
  if (i < a->n_holes && offset + size == a->holes[i].offset) {
    size += a->holes[i].size;
    remove_hole(a, i);
  }
  if (offset + size == a->top) { /* the highest space: lower the top */
    a->top = offset;
    return NNC_OK;
  }
  if (a->n_holes == a->cap_holes) {
    int cap = a->cap_holes ? 2 * a->cap_holes : 16;
    arena_hole *bigger = nnc_realloc_array(a->holes, (size_t)cap, sizeof *bigger, st);
    if (!bigger) return NNC_ERR_NOMEM;
    a->holes = bigger;
    a->cap_holes = cap;
  }
  memmove(&a->holes[i + 1], &a->holes[i], (size_t)(a->n_holes - i) * sizeof *a->holes);
  a->holes[i] = (arena_hole){offset, size};
  a->n_holes++;
  return NNC_OK;
}

void arena_free(arena *a) {
  free(a->holes);
  memset(a, 0, sizeof *a);
}
