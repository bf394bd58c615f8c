/* Shared helpers for the Check unit tests. */
#ifndef NNC_TESTUTIL_H
#define NNC_TESTUTIL_H

#include <check.h>

/* Run one suite, print Check's summary, return the process exit code. */
int testutil_run(Suite *s);

/* Path helpers: join into a static rotating buffer. */
const char *testutil_path(const char *dir, const char *rel);

/* A fresh temporary directory for the test (removed by the OS / CI). */
const char *testutil_tmpdir(void);

#endif
