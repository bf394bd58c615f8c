/* Unit tests for the file helpers (base/file.c, file_write.c) and the
 * bounded readers: what nnc does with symlinks, devices, FIFOs, stale
 * temporary files, a signal during a write, endless or oversized inputs, and
 * arrays that arrive through a pipe. */
/* mknod is XSI. */
#define _XOPEN_SOURCE 700
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "base/base.h"
#include "runtime/io/io.h"
#include "testutil.h"
#include "base/sanitizer.h"

/* ---- helpers ---- */

static void write_bytes(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  ck_assert_msg(f != NULL, "cannot create %s", path);
  ck_assert_uint_eq(fwrite(data, 1, len, f), len);
  ck_assert_int_eq(fclose(f), 0);
}

/* The file's content as a string (test files are small text). */
static const char *slurp(const char *path) {
  static char buf[4096];
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  return buf;
}

static int count_temp_files(const char *dir) {
  DIR *d = opendir(dir);
  ck_assert_ptr_nonnull(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (strstr(e->d_name, ".tmp.")) n++;
  closedir(d);
  return n;
}

static const char *fresh_dir(const char *name) {
  static char dirs[4][512];
  static int next;
  char *d = dirs[next++ & 3];
  snprintf(d, sizeof dirs[0], "%s", testutil_path(testutil_tmpdir(), name));
  ck_assert_int_eq(mkdir(d, 0700), 0);
  return d;
}

static void assert_failure(int rc, const nnc_status *st, nnc_code code, const char *path,
                           const char *what) {
  ck_assert_msg(rc == (int)code, "rc %d, expected %d: %s", rc, code, st->message);
  ck_assert_msg(strstr(st->message, path) != NULL, "message lacks the path: %s", st->message);
  ck_assert_msg(strstr(st->message, what) != NULL, "message lacks '%s': %s", what, st->message);
}

static int write_text(const char *path, const char *text, nnc_status *st) {
  return nnc_write_file_atomic(path, text, strlen(text), st);
}

/* A child that writes data into the FIFO at path and exits; returns its pid. */
static pid_t feed_fifo(const char *path, const void *data, size_t len) {
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    alarm(20); /* never outlive a reader that gave up */
    signal(SIGPIPE, SIG_IGN);
    int fd = open(path, O_WRONLY);
    const unsigned char *p = data;
    while (fd >= 0 && len > 0) {
      ssize_t n = write(fd, p, len);
      if (n <= 0) break;
      p += n;
      len -= (size_t)n;
    }
    _exit(0);
  }
  return pid;
}

static void reap(pid_t pid) {
  int status;
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
}

/* Cap this process's address space at its current size + extra, so that a
 * reader that reads without bound fails with NOMEM instead of eating the
 * machine. AddressSanitizer reserves terabytes of shadow: no cap there. */
static void cap_address_space(size_t extra) {
#if NNC_ASAN
  (void)extra;
#else
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return;
  char line[256];
  unsigned long kb = 0;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "VmSize: %lu kB", &kb) == 1) break;
  fclose(f);
  struct rlimit lim = {.rlim_cur = kb * 1024 + extra, .rlim_max = RLIM_INFINITY};
  getrlimit(RLIMIT_AS, &lim);
  lim.rlim_cur = kb * 1024 + extra;
  setrlimit(RLIMIT_AS, &lim);
#endif
}

/* ---- writes ---- */

START_TEST(test_write_replaces_a_regular_file_keeping_its_mode) {
  const char *dir = fresh_dir("regular");
  const char *path = testutil_path(dir, "out.json");
  nnc_status st = {0};
  ck_assert_int_eq(write_text(path, "first", &st), NNC_OK);
  ck_assert_str_eq(slurp(path), "first");
  ck_assert_int_eq(chmod(path, 0604), 0);
  struct stat before, after;
  ck_assert_int_eq(stat(path, &before), 0);
  ck_assert_int_eq(write_text(path, "second", &st), NNC_OK);
  ck_assert_str_eq(slurp(path), "second");
  ck_assert_int_eq(stat(path, &after), 0);
  ck_assert_int_eq(after.st_mode & 0777, 0604);
  /* A new inode: the old file was replaced by a rename, not rewritten in place. */
  ck_assert(after.st_ino != before.st_ino);
  ck_assert_int_eq(count_temp_files(dir), 0);
}
END_TEST

START_TEST(test_write_through_symlinks_keeps_the_links) {
  const char *dir = fresh_dir("links");
  char sub[512], target[600], link1[600], link2[600], dangling[600], loop_a[600], loop_b[600];
  snprintf(sub, sizeof sub, "%s/sub", dir);
  ck_assert_int_eq(mkdir(sub, 0700), 0);
  snprintf(target, sizeof target, "%s/history.json", sub);
  snprintf(link1, sizeof link1, "%s/h.json", dir);
  snprintf(link2, sizeof link2, "%s/h2.json", dir);
  write_bytes(target, "old", 3);
  /* link1 -> link2 (relative), link2 -> sub/history.json (relative to dir) */
  ck_assert_int_eq(symlink("h2.json", link1), 0);
  ck_assert_int_eq(symlink("sub/history.json", link2), 0);

  nnc_status st = {0};
  ck_assert_msg(write_text(link1, "new", &st) == NNC_OK, "%s", st.message);
  struct stat sb;
  ck_assert_int_eq(lstat(link1, &sb), 0);
  ck_assert(S_ISLNK(sb.st_mode));
  ck_assert_int_eq(lstat(link2, &sb), 0);
  ck_assert(S_ISLNK(sb.st_mode));
  ck_assert_str_eq(slurp(target), "new");
  ck_assert_int_eq(count_temp_files(dir) + count_temp_files(sub), 0);

  /* An absolute dangling link: its target is created, the link stays. */
  snprintf(dangling, sizeof dangling, "%s/w.safetensors", dir);
  char missing[600];
  snprintf(missing, sizeof missing, "%s/made.safetensors", sub);
  ck_assert_int_eq(symlink(missing, dangling), 0);
  ck_assert_int_eq(write_text(dangling, "made", &st), NNC_OK);
  ck_assert_int_eq(lstat(dangling, &sb), 0);
  ck_assert(S_ISLNK(sb.st_mode));
  ck_assert_str_eq(slurp(missing), "made");

  /* A loop cannot be resolved: a write error, nothing created. */
  snprintf(loop_a, sizeof loop_a, "%s/loop_a", dir);
  snprintf(loop_b, sizeof loop_b, "%s/loop_b", dir);
  ck_assert_int_eq(symlink("loop_b", loop_a), 0);
  ck_assert_int_eq(symlink("loop_a", loop_b), 0);
  assert_failure(write_text(loop_a, "x", &st), &st, NNC_ERR_WRITE, loop_a, "cannot write");
  ck_assert_int_eq(count_temp_files(dir), 0);
}
END_TEST

START_TEST(test_write_into_a_fifo_writes_through) {
  const char *dir = fresh_dir("fifo");
  const char *fifo = testutil_path(dir, "pipe");
  ck_assert_int_eq(mkfifo(fifo, 0600), 0);
  char got_path[600];
  snprintf(got_path, sizeof got_path, "%s/got", dir);
  pid_t reader = fork();
  ck_assert_int_ge(reader, 0);
  if (reader == 0) { /* copy what arrives in the FIFO into a regular file */
    alarm(20);
    int in = open(fifo, O_RDONLY), out = open(got_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    char buf[256];
    ssize_t n;
    while (in >= 0 && (n = read(in, buf, sizeof buf)) > 0)
      if (write(out, buf, (size_t)n) != n) _exit(1);
    _exit(0);
  }
  nnc_status st = {0};
  ck_assert_msg(write_text(fifo, "through the pipe", &st) == NNC_OK, "%s", st.message);
  reap(reader);
  struct stat sb;
  ck_assert_int_eq(lstat(fifo, &sb), 0);
  ck_assert_msg(S_ISFIFO(sb.st_mode), "the FIFO was replaced");
  ck_assert_str_eq(slurp(got_path), "through the pipe");
  ck_assert_int_eq(count_temp_files(dir), 0);
}
END_TEST

/* A character device stays one. As root a node of our own (the null
 * device's numbers) is used, so that a regression could never replace the
 * machine's /dev/null; without root /dev/null itself cannot be replaced. */
START_TEST(test_write_into_a_device_writes_through) {
  const char *dir = fresh_dir("device");
  char node[600];
  snprintf(node, sizeof node, "%s/null", dir);
  const char *path = node;
  if (mknod(node, S_IFCHR | 0666, makedev(1, 3)) != 0) {
    if (geteuid() == 0) {
      printf("NOTICE: mknod failed (%s); skipping the device write test\n", strerror(errno));
      return;
    }
    path = "/dev/null";
  }
  nnc_status st = {0};
  ck_assert_msg(write_text(path, "discarded", &st) == NNC_OK, "%s", st.message);
  struct stat sb;
  ck_assert_int_eq(lstat(path, &sb), 0);
  ck_assert_msg(S_ISCHR(sb.st_mode), "%s is no longer a character device", path);
  ck_assert_int_eq(count_temp_files(dir), 0);

  /* A directory is neither replaced nor written. */
  assert_failure(write_text(dir, "x", &st), &st, NNC_ERR_WRITE, dir, "cannot write");
  ck_assert_int_eq(lstat(dir, &sb), 0);
  ck_assert(S_ISDIR(sb.st_mode));
}
END_TEST

/* SIGKILL leaves PATH.tmp.<pid>.<n>; a later process with the same pid must
 * neither fail nor clobber it (the user may want to look at it). */
/* A path that names one of our descriptors (/dev/fd/N, /proc/self/fd/N, or a
 * link to them) is written to that descriptor: a file opened for appending
 * keeps what it held and gets the bytes at its end, in the same inode (the
 * symlink chain used to be resolved to the file and a new file renamed over
 * it); a pipe gets the bytes (its link points to "pipe:[N]", no path). */
START_TEST(test_write_to_an_open_descriptor_writes_through_it) {
  const char *dir = fresh_dir("descriptors");
  const char *log = testutil_path(dir, "app.log");
  write_bytes(log, "earlier\n", 8);
  int fd = open(log, O_WRONLY | O_APPEND);
  ck_assert_int_ge(fd, 0);
  struct stat before, after;
  ck_assert_int_eq(stat(log, &before), 0);
  char dev_fd[64], proc_fd[64];
  snprintf(dev_fd, sizeof dev_fd, "/dev/fd/%d", fd);
  snprintf(proc_fd, sizeof proc_fd, "/proc/self/fd/%d", fd);
  const char *user_link = testutil_path(dir, "to_fd");
  ck_assert_int_eq(symlink(dev_fd, user_link), 0);
  nnc_status st = {0};
  ck_assert_msg(write_text(dev_fd, "one\n", &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(write_text(proc_fd, "two\n", &st) == NNC_OK, "%s", st.message);
  ck_assert_msg(write_text(user_link, "three\n", &st) == NNC_OK, "%s", st.message);
  close(fd);
  ck_assert_str_eq(slurp(log), "earlier\none\ntwo\nthree\n");
  ck_assert_int_eq(stat(log, &after), 0);
  ck_assert(after.st_ino == before.st_ino);
  ck_assert_int_eq(count_temp_files(dir), 0);
  struct stat link_sb;
  ck_assert_int_eq(lstat(user_link, &link_sb), 0);
  ck_assert(S_ISLNK(link_sb.st_mode));

  /* A pipe, as `--history >(cat)` hands it over. */
  int p[2];
  ck_assert_int_eq(pipe(p), 0);
  snprintf(dev_fd, sizeof dev_fd, "/dev/fd/%d", p[1]);
  ck_assert_msg(write_text(dev_fd, "{\"loss\": [1]}", &st) == NNC_OK, "%s", st.message);
  close(p[1]);
  char got[64] = {0};
  ck_assert_int_eq(read(p[0], got, sizeof got - 1), 13);
  close(p[0]);
  ck_assert_str_eq(got, "{\"loss\": [1]}");

  /* A descriptor that is not open: a write error, and no file is made. */
  int closed = dup(0);
  ck_assert_int_ge(closed, 0);
  close(closed);
  snprintf(proc_fd, sizeof proc_fd, "/proc/self/fd/%d", closed);
  assert_failure(write_text(proc_fd, "x", &st), &st, NNC_ERR_WRITE, proc_fd,
                 "cannot write: Bad file descriptor");
}
END_TEST

/* A valid 250-byte (and 255-byte) file name: its temporary name would pass
 * NAME_MAX (255) with ".tmp.<pid>.<n>" appended, so it is cut short. */
START_TEST(test_write_with_a_long_file_name) {
  const char *dir = fresh_dir("long_names");
  for (size_t len = 250; len <= 255; len += 5) {
    char name[256];
    memset(name, 'h', len);
    name[len] = '\0';
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    nnc_status st = {0};
    ck_assert_msg(write_text(path, "first", &st) == NNC_OK, "%zu bytes: %s", len, st.message);
    ck_assert_msg(write_text(path, "second", &st) == NNC_OK, "%zu bytes: %s", len, st.message);
    ck_assert_str_eq(slurp(path), "second");
    ck_assert_int_eq(count_temp_files(dir), 0);
  }
  /* A name past NAME_MAX is still refused, without a temporary file left. */
  char name[300];
  memset(name, 'h', 256);
  name[256] = '\0';
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  nnc_status st = {0};
  assert_failure(write_text(path, "x", &st), &st, NNC_ERR_WRITE, name, "File name too long");
  ck_assert_int_eq(count_temp_files(dir), 0);
}
END_TEST

START_TEST(test_write_steps_over_stale_temporary_files) {
  const char *dir = fresh_dir("stale");
  const char *path = testutil_path(dir, "w.safetensors");
  char stale[700];
  for (int k = 0; k < 32; k++) {
    snprintf(stale, sizeof stale, "%s.tmp.%ld.%d", path, (long)getpid(), k);
    write_bytes(stale, "stale", 5);
  }
  nnc_status st = {0};
  ck_assert_msg(write_text(path, "fresh", &st) == NNC_OK, "%s", st.message);
  ck_assert_str_eq(slurp(path), "fresh");
  for (int k = 0; k < 32; k++) {
    snprintf(stale, sizeof stale, "%s.tmp.%ld.%d", path, (long)getpid(), k);
    ck_assert_str_eq(slurp(stale), "stale");
  }
  ck_assert_int_eq(count_temp_files(dir), 32);
}
END_TEST

static void cleanup_and_exit(int sig) {
  (void)sig;
  nnc_remove_temp_files_on_signal();
  _exit(42);
}

/* A signal that arrives during a write: the file size limit makes the kernel
 * send SIGXFSZ from inside write(), while the temporary file exists, so the
 * moment is exact. The handler does what the CLI's SIGINT/SIGTERM handler
 * does. */
START_TEST(test_signal_during_a_write_removes_the_temporary_file) {
  const char *dir = fresh_dir("signal");
  const char *path = testutil_path(dir, "w.safetensors");
  write_bytes(path, "old", 3);
  size_t len = 1 << 20;
  pid_t child = fork();
  ck_assert_int_ge(child, 0);
  if (child == 0) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = cleanup_and_exit;
    sigaction(SIGXFSZ, &sa, NULL);
    struct rlimit lim;
    getrlimit(RLIMIT_FSIZE, &lim);
    lim.rlim_cur = 64 * 1024;
    setrlimit(RLIMIT_FSIZE, &lim);
    char *big = calloc(len, 1);
    nnc_status st = {0};
    nnc_write_file_atomic(path, big, len, &st);
    _exit(1); /* not reached: the write raises SIGXFSZ */
  }
  int status;
  ck_assert_int_eq(waitpid(child, &status, 0), child);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 42, "the handler did not run");
  ck_assert_str_eq(slurp(path), "old");
  ck_assert_int_eq(count_temp_files(dir), 0);
}
END_TEST

/* ---- reads ---- */

START_TEST(test_endless_inputs_are_refused) {
  cap_address_space((size_t)512 << 20);
  const char *dev = "/dev/zero";
  nnc_status st = {0};
  size_t len;
  ck_assert_ptr_null(nnc_read_file(dev, &len, &st));
  assert_failure(st.code, &st, NNC_ERR_IO, dev, "not a regular file (a character device)");
  nnc_array a;
  assert_failure(nnc_array_read(dev, &a, &st), &st, NNC_ERR_IO, dev, "not a regular file");
  assert_failure(nnc_npy_read(dev, &a, &st), &st, NNC_ERR_IO, dev, "not a regular file");
  assert_failure(nnc_idx_read(dev, &a, &st), &st, NNC_ERR_IO, dev, "not a regular file");
  nnc_tensor_set set;
  assert_failure(nnc_safetensors_read(dev, &set, &st), &st, NNC_ERR_IO, dev, "not a regular file");
  const char *dir = testutil_tmpdir();
  ck_assert_ptr_null(nnc_read_file(dir, &len, &st));
  assert_failure(st.code, &st, NNC_ERR_IO, dir, "not a regular file (a directory)");
}
END_TEST

START_TEST(test_json_files_are_capped) {
  const char *dir = fresh_dir("cap");
  char text[102];
  memset(text, ' ', sizeof text);
  const char *at_cap = testutil_path(dir, "100.json"), *over = testutil_path(dir, "101.json");
  write_bytes(at_cap, text, 100);
  write_bytes(over, text, 101);
  nnc_status st = {0};
  size_t len = 0;
  char *got = nnc_read_file_capped(at_cap, 100, &len, &st);
  ck_assert_ptr_nonnull(got);
  ck_assert_uint_eq(len, 100);
  free(got);
  ck_assert_ptr_null(nnc_read_file_capped(over, 100, &len, &st));
  assert_failure(st.code, &st, NNC_ERR_IO, over, "larger than the 100-byte limit");

  /* The same through a pipe, where no size is known in advance. */
  const char *fifo = testutil_path(dir, "pipe.json");
  ck_assert_int_eq(mkfifo(fifo, 0600), 0);
  pid_t feeder = feed_fifo(fifo, text, 100);
  got = nnc_read_file_capped(fifo, 100, &len, &st);
  reap(feeder);
  ck_assert_ptr_nonnull(got);
  ck_assert_uint_eq(len, 100);
  free(got);
  feeder = feed_fifo(fifo, text, 101);
  ck_assert_ptr_null(nnc_read_file_capped(fifo, 100, &len, &st));
  reap(feeder);
  assert_failure(st.code, &st, NNC_ERR_IO, fifo, "larger than the 100-byte limit");

  /* The documented 256 MiB: a sparse file one byte over is refused unread. */
  const char *huge = testutil_path(dir, "huge.json");
  int fd = open(huge, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(ftruncate(fd, (off_t)(256 << 20) + 1), 0);
  close(fd);
  ck_assert_ptr_null(nnc_read_file(huge, &len, &st));
  assert_failure(st.code, &st, NNC_ERR_IO, huge, "larger than the 256 MiB limit");
}
END_TEST

/* .npy bytes: a version 1.0 header for a float32 vector of n, then data_len bytes. */
static size_t make_npy(unsigned char *buf, long long n, const float *data, size_t data_len) {
  char dict[128];
  int k = snprintf(dict, sizeof dict,
                   "{'descr': '<f4', 'fortran_order': False, 'shape': (%lld,), }", n);
  memcpy(buf, "\x93NUMPY\x01\x00", 8);
  buf[8] = (unsigned char)k;
  buf[9] = 0;
  memcpy(buf + 10, dict, (size_t)k);
  if (data_len) memcpy(buf + 10 + k, data, data_len);
  return 10 + (size_t)k + data_len;
}

START_TEST(test_arrays_arrive_through_pipes) {
  const char *dir = fresh_dir("pipes");
  const char *fifo = testutil_path(dir, "x");
  ck_assert_int_eq(mkfifo(fifo, 0600), 0);
  const float values[4] = {1.5f, -2, 0.25f, 8};
  unsigned char buf[256];
  nnc_status st = {0};
  nnc_array a;

  /* .npy, exact: read through nnc_array_read, which peeks at the magic. */
  size_t n = make_npy(buf, 4, values, sizeof values);
  pid_t feeder = feed_fifo(fifo, buf, n);
  ck_assert_msg(nnc_array_read(fifo, &a, &st) == NNC_OK, "%s", st.message);
  reap(feeder);
  ck_assert_int_eq(a.rank, 1);
  ck_assert_int_eq(a.shape[0], 4);
  ck_assert_mem_eq(a.data, values, sizeof values);
  nnc_array_free(&a);

  /* Short and long: the same errors as for a regular file. */
  feeder = feed_fifo(fifo, buf, n - 1);
  assert_failure(nnc_array_read(fifo, &a, &st), &st, NNC_ERR_DATA, fifo, "truncated");
  reap(feeder);
  buf[n] = 7;
  feeder = feed_fifo(fifo, buf, n + 1);
  assert_failure(nnc_array_read(fifo, &a, &st), &st, NNC_ERR_DATA, fifo, "unexpected bytes");
  reap(feeder);

  /* A header announcing 2^36 floats with 16 bytes behind it: "truncated",
   * without first allocating the 256 GiB it announces. */
  cap_address_space((size_t)256 << 20);
  n = make_npy(buf, 1LL << 36, values, sizeof values);
  feeder = feed_fifo(fifo, buf, n);
  assert_failure(nnc_array_read(fifo, &a, &st), &st, NNC_ERR_DATA, fifo, "truncated");
  reap(feeder);

  /* IDX, plain and gzipped: 00 00 0D 01, dimension 4, big-endian floats. */
  unsigned char idx[8 + 16] = {0, 0, 0x0D, 1, 0, 0, 0, 4};
  for (int i = 0; i < 4; i++) {
    unsigned char le[4];
    memcpy(le, &values[i], 4);
    for (int b = 0; b < 4; b++) idx[8 + 4 * i + b] = le[3 - b];
  }
  feeder = feed_fifo(fifo, idx, sizeof idx);
  ck_assert_msg(nnc_array_read(fifo, &a, &st) == NNC_OK, "%s", st.message);
  reap(feeder);
  ck_assert_mem_eq(a.data, values, sizeof values);
  nnc_array_free(&a);
  unsigned char gz[256];
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  ck_assert_int_eq(deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  zs.next_in = idx;
  zs.avail_in = sizeof idx;
  zs.next_out = gz;
  zs.avail_out = sizeof gz;
  ck_assert_int_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
  size_t gz_len = sizeof gz - zs.avail_out;
  deflateEnd(&zs);
  feeder = feed_fifo(fifo, gz, gz_len);
  ck_assert_msg(nnc_array_read(fifo, &a, &st) == NNC_OK, "%s", st.message);
  reap(feeder);
  ck_assert_mem_eq(a.data, values, sizeof values);
  nnc_array_free(&a);

  /* safetensors through a pipe. */
  const char *json = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}";
  size_t json_len = strlen(json);
  memset(buf, 0, 8);
  buf[0] = (unsigned char)json_len;
  memcpy(buf + 8, json, json_len);
  memcpy(buf + 8 + json_len, values, sizeof values);
  feeder = feed_fifo(fifo, buf, 8 + json_len + sizeof values);
  nnc_tensor_set set;
  ck_assert_msg(nnc_safetensors_read(fifo, &set, &st) == NNC_OK, "%s", st.message);
  reap(feeder);
  ck_assert_int_eq(set.n, 1);
  ck_assert_mem_eq(set.items[0].array.data, values, sizeof values);
  nnc_tensor_set_free(&set);
  buf[8 + json_len + sizeof values] = 1; /* one byte no tensor covers */
  feeder = feed_fifo(fifo, buf, 8 + json_len + sizeof values + 1);
  assert_failure(nnc_safetensors_read(fifo, &set, &st), &st, NNC_ERR_DATA, fifo,
                 "unexpected bytes");
  reap(feeder);
}
END_TEST

/* A gzip stream that holds far more than the IDX header announces: refused
 * as oversized after inflating the announced bytes + 1, not the whole stream. */
START_TEST(test_gzip_inflation_stops_at_the_announced_size) {
  const char *path = testutil_path(testutil_tmpdir(), "bomb.idx.gz");
  size_t raw_len = (size_t)64 << 20; /* 64 MiB of zeros compress to ~64 KiB */
  unsigned char *raw = calloc(raw_len, 1);
  ck_assert_ptr_nonnull(raw);
  unsigned char header[8] = {0, 0, 0x08, 1, 0, 0, 0, 16}; /* u8, 16 values */
  memcpy(raw, header, sizeof header);
  gzFile gz = gzopen(path, "wb9");
  ck_assert_int_eq(gzwrite(gz, raw, (unsigned)raw_len), (int)raw_len);
  ck_assert_int_eq(gzclose(gz), Z_OK);
  free(raw);
  cap_address_space((size_t)32 << 20); /* far less than the stream inflates to */
  nnc_array a;
  nnc_status st = {0};
  assert_failure(nnc_idx_read(path, &a, &st), &st, NNC_ERR_DATA, path, "oversized");
}
END_TEST

static Suite *files_suite(void) {
  Suite *s = suite_create("files");
  TCase *tc = tcase_create("files");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_write_replaces_a_regular_file_keeping_its_mode);
  tcase_add_test(tc, test_write_through_symlinks_keeps_the_links);
  tcase_add_test(tc, test_write_into_a_fifo_writes_through);
  tcase_add_test(tc, test_write_into_a_device_writes_through);
  tcase_add_test(tc, test_write_to_an_open_descriptor_writes_through_it);
  tcase_add_test(tc, test_write_with_a_long_file_name);
  tcase_add_test(tc, test_write_steps_over_stale_temporary_files);
  tcase_add_test(tc, test_signal_during_a_write_removes_the_temporary_file);
  tcase_add_test(tc, test_endless_inputs_are_refused);
  tcase_add_test(tc, test_json_files_are_capped);
  tcase_add_test(tc, test_arrays_arrive_through_pipes);
  tcase_add_test(tc, test_gzip_inflation_stops_at_the_announced_size);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return testutil_run(files_suite());
}
