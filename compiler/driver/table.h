/* compiler/driver — the program table (include/nnc_program.h) of what the
 * compiler JIT-compiled: the compiler's tables translated into the plain C
 * data the runtime reads. */
#ifndef NNC_DRIVER_TABLE_H
#define NNC_DRIVER_TABLE_H

#include "compiler/compile.h"
#include "nnc_program.h"

/* The table first, so a const nnc_program_table * handed out is one of these. */
typedef struct jit_table {
  nnc_program_table t;
  nnc_compiled compiled; /* owns the JIT'ed code and the names the table points to */
  nnc_io_desc *io;
  nnc_variable *vars;
  nnc_stat_reduction *stats;
  nnc_log_key *keys;
  nnc_summary_row *rows;
  const char **warnings;
  nnc_probe *probes;
  struct probe_text *probe_text;
  double *schedule_storage; /* t.schedule's boundaries and values */
} jit_table;

/* Takes over *c (left zeroed, also on failure). learning_rate: the
 * optimizer's; probes: list the train step's values for check-numerics. */
int jit_table_make(nnc_compiled *c, const char *model_name, double learning_rate, int probes,
                   jit_table **out, nnc_status *st);
void jit_table_free(jit_table *t); /* t may be NULL */
/* t->t.schedule = a copy of s (its boundaries and values too), so the table
 * outlives the compile config it came from. */
int jit_table_set_schedule(jit_table *t, const nnc_schedule *s, nnc_status *st);

/* The summary rows of p's layers into rows[0..p->n_layers) (names point into
 * p); returns the table's `functional` flag: 1 when Keras would print the
 * "Connected to" column (the graph is not a chain). */
int table_summary_rows(const nnc_program *p, nnc_summary_row *rows);

#endif
