/* Whether a step in a table's tuned band (nnc_entry: from parallel_rows to
 * sure_rows) runs on the pool or on the calling thread: the way it measured
 * faster lately. A step of a few million multiply-adds gains from a second
 * core only while the host gives that core's cache lines back quickly, and
 * on the shared 2-vCPU host that changes over minutes (W3 on two threads
 * measured 39 ms an epoch, then 79, against 48 on one: docs/performance.md,
 * "Session 22"). Results are the same bits either way (every value is
 * computed by one thread in a fixed order), so the choice is only speed.
 *
 * A round: STEP_TUNER_BLOCK steps on the pool, then as many on one thread;
 * of each block only the second half is timed (the first pays for the
 * lines the other way left in the other core's cache, and a pool's steps
 * settle after a few: four-step blocks picked the pool for W4 at 2.06
 * against 2.07 us a row, then ran at 2.4 against one thread's 2.0). The
 * pool is kept if its median time per row is below STEP_TUNER_MARGIN of one
 * thread's (a median: one lucky or unlucky step of a noisy host must not
 * decide; a margin: when they are about even, one thread leaves the other
 * core free), for at least STEP_TUNER_STEPS steps and STEP_TUNER_SECONDS;
 * then the next round. The first round's choice holds STEP_TUNER_STEPS
 * steps alone: its probes are a fit's first steps, and with a mapped .npy
 * file those pay the first touch of the rows' pages where the pool gathers
 * them in its waits, but not where the worker gathers them beside a step on
 * one thread: W3 from `nnc fit --threads 2` kept one thread (123-129 us a
 * step) where the pool takes 80-105 (docs/performance.md, "Session 38").
 * A zeroed tuner starts a round. */
#ifndef NNC_STEP_TUNER_H
#define NNC_STEP_TUNER_H

#include <stdint.h>

enum {
  STEP_TUNER_BLOCK = 16,
  STEP_TUNER_TIMED = STEP_TUNER_BLOCK / 2, /* the block's last steps */
  STEP_TUNER_PROBES = 2 * STEP_TUNER_BLOCK,
  STEP_TUNER_STEPS = 256
};
#define STEP_TUNER_MARGIN 0.97
#define STEP_TUNER_SECONDS 1.0

typedef struct step_tuner {
  int probes; /* probe steps taken this round */
  int pooled; /* the round's choice once the probes are done */
  /* seconds per row of this round's timed probes: [0] on one thread, [1] on the pool */
  double per_row[2][STEP_TUNER_TIMED];
  long run_steps;   /* steps run with the choice */
  double run_start; /* when the choice was made (seconds, a monotonic clock) */
  long rounds;      /* rounds completed (choices made) */
} step_tuner;

/* 1: run the next step on the pool; 0: on the calling thread. */
int step_tuner_pick(const step_tuner *t);

/* The step just run (pooled as picked) took `seconds` for `rows` rows; now
 * is the monotonic clock's reading after it. */
void step_tuner_record(step_tuner *t, int pooled, double seconds, int64_t rows, double now);

#endif
