#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

static void remove_tree(const char *path) {
  struct stat sb;
  if (lstat(path, &sb) != 0) return;
  if (S_ISDIR(sb.st_mode)) {
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d))) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      char child[1024];
      snprintf(child, sizeof child, "%s/%s", path, e->d_name);
      remove_tree(child);
    }
    if (d) closedir(d);
    rmdir(path);
  } else {
    unlink(path);
  }
}

static char tmp_dir[256];
static pid_t tmp_owner;

/* Check forks a process per test: each removes the folder it made. */
static void remove_tmpdir(void) {
  if (tmp_dir[0] && tmp_owner == getpid()) remove_tree(tmp_dir);
}

const char *testutil_tmpdir(void) {
  if (!tmp_dir[0] || tmp_owner != getpid()) {
    const char *base = getenv("TMPDIR");
    snprintf(tmp_dir, sizeof tmp_dir, "%s/nnc_test_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmp_dir)) return "/tmp";
    if (!tmp_owner) atexit(remove_tmpdir);
    tmp_owner = getpid();
  }
  return tmp_dir;
}

nnc_array testutil_f32(float *data, int64_t rows, int64_t cols) {
  nnc_array a;
  memset(&a, 0, sizeof a);
  a.dtype = NNC_F32;
  a.rank = 2;
  a.shape[0] = rows;
  a.shape[1] = cols;
  a.data = data;
  return a;
}

const char *testutil_json(const char *s) {
  static char bufs[4][16384];
  static int next;
  char *b = bufs[next++ % 4];
  ck_assert(strlen(s) < sizeof bufs[0]);
  size_t i = 0;
  for (; s[i]; i++) b[i] = s[i] == '\'' ? '"' : s[i];
  b[i] = 0;
  return b;
}
