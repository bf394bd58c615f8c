/* The progress bar on edge inputs: an empty epoch (target 0), one step, a
 * billion steps, NaN/inf clock readings and logged values. The output goes
 * to a memory FILE and must be short and well formed (a target of 0 once
 * printed 2 GiB of padding: (int)log10(0)). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/epoch.h"
#include "testutil.h"

#define BAR                                                                                        \
  "\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501"                                   \
  "\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501\u2501"

static char text[1 << 16];

typedef struct capture {
  FILE *f;
  progbar pb;
} capture;

/* A progress bar writing into `text` (not a terminal). */
static void start(capture *c, int verbose, int target) {
  memset(text, 0, sizeof text);
  c->f = fmemopen(text, sizeof text - 1, "w");
  ck_assert_ptr_nonnull(c->f);
  c->pb = (progbar){c->f, verbose, target, 0, 1, 0, 0, 0, 0, 0};
  progbar_epoch_begin(&c->pb, 0);
  c->pb.no_color = 0; /* the texts below must not depend on the caller's NO_COLOR */
}

/* Bytes written so far; text is NUL-terminated. */
static long finish(capture *c) {
  fflush(c->f);
  long n = ftell(c->f);
  fclose(c->f);
  ck_assert_int_lt(n, (long)sizeof text - 1);
  text[n] = 0;
  return n;
}

/* Room for the hand-built logs (the library's arrays are the host's here). */
static char names_room[64][NNC_LOG_NAME];
static double values_room[64];

static nnc_logs one_log(const char *name, double v) {
  nnc_logs logs = {1, 64, names_room, values_room};
  snprintf(logs.names[0], sizeof logs.names[0], "%s", name);
  logs.values[0] = v;
  return logs;
}

START_TEST(empty_epoch_verbose_2) {
  capture c;
  start(&c, 2, 0);
  nnc_logs logs = one_log("loss", 0);
  progbar_update(&c.pb, 0, &logs, 1);
  finish(&c);
  /* 0 steps: no step time; Keras's %.4e for values not above 1e-3 */
  ck_assert_str_eq(text, "0/0 - 0s - 0s/step - loss: 0.0000e+00\n");
}
END_TEST

START_TEST(empty_epoch_verbose_1) {
  capture c;
  start(&c, 1, 0);
  nnc_logs logs = one_log("loss", 0);
  progbar_update(&c.pb, 0, &logs, 1);
  finish(&c);
  ck_assert_str_eq(text, "0/0 " BAR " 0s 0s/step - loss: 0.0000e+00\n");
}
END_TEST

START_TEST(one_step) {
  capture c;
  start(&c, 2, 1);
  nnc_logs logs = one_log("loss", 0.5);
  progbar_update(&c.pb, 1, &logs, 1);
  long n = finish(&c);
  ck_assert_msg(strncmp(text, "1/1 - 0s - ", 11) == 0, "%s", text);
  const char *tail = "/step - loss: 0.5000\n";
  ck_assert_int_gt(n, (long)strlen(tail));
  ck_assert_str_eq(text + n - strlen(tail), tail);
}
END_TEST

/* 10^9 steps at 10^7 s each: the ETA (10^16 s) is capped at 10^9 s =
 * 277777 h 46 min 40 s instead of overflowing an int. */
START_TEST(billion_steps) {
  capture c;
  start(&c, 1, 1000000000);
  c.pb.tty = 1; /* in-progress updates are drawn on terminals only */
  c.pb.start -= 1e7;
  nnc_logs logs = one_log("loss", 2);
  progbar_update(&c.pb, 1, &logs, 0);
  long n = finish(&c);
  ck_assert_msg(n < 300, "%ld bytes", n);
  ck_assert_msg(strstr(text, "\x1b[1m         1/1000000000\x1b[0m"), "%s", text);
  ck_assert_msg(strstr(text, "277777:46:40"), "%s", text);
  ck_assert_msg(strstr(text, "s/step - loss: 2.0000"), "%s", text);
}
END_TEST

/* A NaN clock reading shows 0 s; NaN and inf values print as Python does. */
START_TEST(nan_times_and_values) {
  capture c;
  start(&c, 1, 10);
  c.pb.tty = 1;
  c.pb.start = NAN;
  nnc_logs logs = one_log("loss", NAN);
  logs.n = 2;
  snprintf(logs.names[1], sizeof logs.names[1], "mae");
  logs.values[1] = INFINITY;
  progbar_update(&c.pb, 3, &logs, 0);
  progbar_update(&c.pb, 10, &logs, 1);
  long n = finish(&c);
  ck_assert_msg(n < 600, "%ld bytes", n);
  ck_assert_msg(strstr(text, "\x1b[1m0s\x1b[0m 0s/step - loss: nan - mae: inf"), "%s", text);
  ck_assert_int_eq(text[n - 1], '\n');
}
END_TEST

/* Many huge values: every key is printed, none is cut (a fixed buffer
 * once dropped the keys after 1024 bytes). */
START_TEST(huge_values_all_printed) {
  capture c;
  start(&c, 2, 2147483647);
  nnc_logs logs = one_log("m0", -1e300);
  logs.n = 60; /* about 1300 bytes of values */
  for (int i = 0; i < logs.n; i++) {
    snprintf(logs.names[i], sizeof logs.names[i], "m%d", i);
    logs.values[i] = -1e300;
  }
  progbar_update(&c.pb, 2147483647, &logs, 1);
  finish(&c);
  ck_assert_msg(strncmp(text, "2147483647/2147483647 - 0s - ", 29) == 0, "%s", text);
  for (int i = 0; i < logs.n; i++) {
    char want[64];
    snprintf(want, sizeof want, " - m%d: -1.0000e+300%s", i, i == logs.n - 1 ? "\n" : " -");
    ck_assert_msg(strstr(text, want), "no %s in %s", want, text);
  }
}
END_TEST

/* NO_COLOR (https://no-color.org): any non-empty value turns colors off,
 * unset or empty leaves them on; read when an epoch begins. */
START_TEST(no_color_read_at_epoch_begin) {
  capture c;
  const char *values[] = {NULL, "", "1", "0"};
  const int want[] = {0, 0, 1, 1}; /* "0" is non-empty: it asks for no color too */
  for (int i = 0; i < 4; i++) {
    if (values[i])
      setenv("NO_COLOR", values[i], 1);
    else
      unsetenv("NO_COLOR");
    start(&c, 1, 10);
    progbar_epoch_begin(&c.pb, 0);
    ck_assert_msg(c.pb.no_color == want[i], "NO_COLOR=%s", values[i] ? values[i] : "(unset)");
    finish(&c);
  }
  unsetenv("NO_COLOR");
}
END_TEST

/* On a terminal with NO_COLOR the bar is still redrawn in place (a carriage
 * return before each update, the line padded to cover the previous one) but
 * holds no escape sequence: Keras's text without its SGR codes. */
START_TEST(tty_without_color) {
  capture c;
  start(&c, 1, 4);
  c.pb.tty = 1;
  c.pb.no_color = 1;
  nnc_logs logs = one_log("loss", 12.5);
  progbar_update(&c.pb, 2, &logs, 0);
  logs.values[0] = 0.5; /* one character shorter */
  progbar_update(&c.pb, 4, &logs, 1);
  finish(&c);
  ck_assert_msg(!strchr(text, '\x1b'), "%s", text);
  const char *first = "\r2/4 " BAR " ";
  ck_assert_msg(strncmp(text, first, strlen(first)) == 0, "%s", text);
  ck_assert_msg(strstr(text, "/step - loss: 12.5000\r"), "%s", text);
  char *second = strchr(text + 1, '\r');
  ck_assert_ptr_nonnull(second);
  const char *last = "\r4/4 " BAR " 0s ";
  ck_assert_msg(strncmp(second, last, strlen(last)) == 0, "%s", second);
  ck_assert_msg(strstr(second, "/step - loss: 0.5000"), "%s", second);
  char *end = strchr(second, '\n');
  ck_assert_ptr_nonnull(end);
  ck_assert_int_eq(end[1], 0);
  ck_assert_int_ge((int)(end - second), (int)(second - text)); /* covers the first line */
}
END_TEST

int main(void) {
  Suite *s = suite_create("progbar");
  TCase *tc = tcase_create("edges");
  tcase_add_test(tc, empty_epoch_verbose_2);
  tcase_add_test(tc, empty_epoch_verbose_1);
  tcase_add_test(tc, one_step);
  tcase_add_test(tc, billion_steps);
  tcase_add_test(tc, nan_times_and_values);
  tcase_add_test(tc, huge_values_all_printed);
  tcase_add_test(tc, no_color_read_at_epoch_begin);
  tcase_add_test(tc, tty_without_color);
  suite_add_tcase(s, tc);
  return testutil_run(s);
}
