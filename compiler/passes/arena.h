/* First-fit placement of buffers in one workspace region, for the memory
 * planner (plan.c): a buffer goes to the lowest offset where it overlaps no
 * live buffer, and frees its space when its last reader's group has run.
 *
 * The free space below the highest live buffer is kept as a sorted list of
 * maximal holes, and buffers wait for release in buckets by the group after
 * which they die, so placing and releasing cost the number of holes (a few)
 * instead of the number of live buffers (thousands in a deep train graph,
 * where every forward activation lives until the backward pass reads it). */
#ifndef NNC_ARENA_H
#define NNC_ARENA_H

#include <stdint.h>

#include "nnc.h"

typedef struct arena_hole {
  int64_t offset, size;
} arena_hole;

typedef struct arena {
  int64_t top;       /* end of the highest live buffer */
  arena_hole *holes; /* free space below top, sorted by offset, never adjacent */
  int n_holes, cap_holes;
} arena;

/* Lowest offset where `size` floats fit; marks them live. */
int64_t arena_place(arena *a, int64_t size);
/* Frees [offset, offset + size), merging it with its neighbours. */
int arena_release(arena *a, int64_t offset, int64_t size, nnc_status *st);
void arena_free(arena *a);

#endif
