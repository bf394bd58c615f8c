/* Argument checks at the public boundary (include/nnc.h): every public
 * function validates what it is given before touching it, and a bad
 * argument is NNC_ERR_ARG with a message naming the function and the
 * argument, never a crash. */
#ifndef NNC_API_CHECK_H
#define NNC_API_CHECK_H

#include "nnc.h"
#include "base/base.h"

/* First line of every public function that takes a status: st may be NULL,
 * and from here on it is not (the internals write through it freely); it
 * starts as NNC_OK with an empty message, so a success leaves it so. */
#define API_STATUS(st)                                                                             \
  nnc_status api_local_status_;                                                                    \
  if (!(st)) (st) = &api_local_status_;                                                            \
  nnc_status_ok(st)

/* NNC_ERR_ARG "<fn>: <arg> is NULL" when p is NULL. */
int api_nonnull(const void *p, const char *fn, const char *arg, nnc_status *st);

/* An array a host hands in: non-NULL, a known dtype, rank in [min_rank, 8],
 * no negative dimension, an element count that fits in memory, and data
 * unless it has no elements. Messages name the array's file when it has one
 * (nnc_array.name), else `arg`. */
int api_array(const nnc_array *a, const char *fn, const char *arg, int min_rank, nnc_status *st);

/* "%s%s" arguments that put "FILE: " before a message about array a when it
 * has a name, and nothing when it has none. */
#define API_ARRAY_WHERE(a)                                                                         \
  ((a)->name && (a)->name[0] ? (a)->name : ""), ((a)->name && (a)->name[0] ? ": " : "")

/* What messages about array `a` call it: its file name, or `fallback`. */
const char *api_array_name(const nnc_array *a, const char *fallback);

#endif
