#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int testutil_run(Suite *s) {
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

const char *testutil_path(const char *dir, const char *rel) {
  static char bufs[8][1024];
  static int next;
  char *b = bufs[next++ & 7];
  snprintf(b, sizeof bufs[0], "%s/%s", dir, rel);
  return b;
}

const char *testutil_tmpdir(void) {
  static char dir[256];
  if (!dir[0]) {
    const char *base = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/nnc_test_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(dir)) return "/tmp";
  }
  return dir;
}
