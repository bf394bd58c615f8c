/* The JIT's functions named for `perf` (perf_map.h). perf reads
 * /tmp/perf-PID.map, one "START SIZE NAME" line (hex) per function, for
 * addresses outside every mapped ELF file: JIT code. The objects are
 * relocatable ELF, one text section each, so a function's address is the
 * section's load address plus its offset; the section's address comes from
 * the JIT's lookup of one of its functions (hidden ones are found; a local
 * one is not, and the next is tried). */
#define _DEFAULT_SOURCE
#include "compiler/codegen/perf_map.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int perf_map_wanted(void) {
  const char *e = getenv("NNC_PERF_MAP");
  return e && !strcmp(e, "1");
}

void perf_map_free(perf_map_obj *o) {
  for (int i = 0; i < o->n; i++) free(o->fn[i].name);
  free(o->fn);
  o->fn = NULL;
  o->n = 0;
}

static int is_text(const char *section) {
  return section && (!strcmp(section, ".text") || !strncmp(section, ".text.", 6));
}

int perf_map_collect(LLVMMemoryBufferRef obj, perf_map_obj *out, nnc_status *st) {
  out->n = 0;
  out->fn = NULL;
  char *msg = NULL;
  LLVMBinaryRef bin = LLVMCreateBinary(obj, NULL, &msg);
  if (!bin) {
    nnc_fail(st, NNC_ERR_INTERNAL, "NNC_PERF_MAP: cannot read a compiled object: %s",
             msg ? msg : "?");
    LLVMDisposeMessage(msg);
    return st->code;
  }
  LLVMSymbolIteratorRef sym = LLVMObjectFileCopySymbolIterator(bin);
  LLVMSectionIteratorRef sec = LLVMObjectFileCopySectionIterator(bin);
  int cap = 0, rc = NNC_OK;
  for (; !LLVMObjectFileIsSymbolIteratorAtEnd(bin, sym); LLVMMoveToNextSymbol(sym)) {
    uint64_t size = LLVMGetSymbolSize(sym);
    const char *name = LLVMGetSymbolName(sym);
    if (!size || !name || !name[0]) continue; /* section and file symbols */
    LLVMMoveToContainingSection(sec, sym);
    if (LLVMObjectFileIsSectionIteratorAtEnd(bin, sec) || !is_text(LLVMGetSectionName(sec)))
      continue;
    if (out->n == cap) {
      cap = cap ? 2 * cap : 32;
      perf_map_fn *grown = nnc_realloc_array(out->fn, (size_t)cap, sizeof *grown, st);
      if (!grown) {
        rc = st->code;
        break;
      }
      out->fn = grown;
    }
    char *copy = strdup(name);
    if (!copy) {
      rc = nnc_fail(st, NNC_ERR_NOMEM, "out of memory");
      break;
    }
    out->fn[out->n++] = (perf_map_fn){copy, LLVMGetSymbolAddress(sym), size};
  }
  LLVMDisposeSectionIterator(sec);
  LLVMDisposeSymbolIterator(sym);
  LLVMDisposeBinary(bin);
  if (rc) perf_map_free(out);
  return rc;
}

int perf_map_write(const perf_map_obj *o, LLVMOrcLLJITRef jit, const char *path, nnc_status *st) {
  if (!o->n) return NNC_OK;
  uint64_t base = 0;
  int found = 0;
  for (int i = 0; i < o->n && !found; i++) {
    LLVMOrcJITTargetAddress addr = 0;
    LLVMErrorRef err = LLVMOrcLLJITLookup(jit, &addr, o->fn[i].name);
    if (err) {
      LLVMConsumeError(err); /* a local symbol: the JIT does not export it */
      continue;
    }
    base = addr - o->fn[i].offset;
    found = 1;
  }
  if (!found)
    return nnc_fail(st, NNC_ERR_INTERNAL,
                    "NNC_PERF_MAP: the JIT knows none of an object's %d functions", o->n);
  char own[64];
  if (!path) {
    snprintf(own, sizeof own, "/tmp/perf-%ld.map", (long)getpid());
    path = own;
  }
  /* the whole text, then one append: compiles on other threads of the
   * process append theirs whole too (O_APPEND writes do not interleave) */
  size_t cap = 1, len = 0;
  for (int i = 0; i < o->n; i++) cap += strlen(o->fn[i].name) + 2 * 16 + 3;
  char *text = malloc(cap);
  if (!text) return nnc_fail(st, NNC_ERR_NOMEM, "out of memory");
  for (int i = 0; i < o->n; i++)
    len += (size_t)snprintf(text + len, cap - len, "%llx %llx %s\n",
                            (unsigned long long)(base + o->fn[i].offset),
                            (unsigned long long)o->fn[i].size, o->fn[i].name);
  /* a predictable name in a shared folder: never follow a link someone put
   * there, never block on a fifo, never append to a file that is not this
   * user's own regular file with one name (a hard link would reach another) */
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
  struct stat sb;
  int rc = NNC_OK;
  if (fd < 0)
    rc = nnc_fail(st, NNC_ERR_WRITE, "NNC_PERF_MAP: cannot open '%s' to append: %s", path,
                  strerror(errno));
  else if (fstat(fd, &sb) || !S_ISREG(sb.st_mode) || sb.st_uid != geteuid() || sb.st_nlink != 1)
    rc = nnc_fail(st, NNC_ERR_WRITE,
                  "NNC_PERF_MAP: '%s' is not a regular file of this user with one link", path);
  else if (write(fd, text, len) != (ssize_t)len)
    rc = nnc_fail(st, NNC_ERR_WRITE, "NNC_PERF_MAP: cannot write '%s': %s", path, strerror(errno));
  if (fd >= 0 && close(fd) && !rc)
    rc = nnc_fail(st, NNC_ERR_WRITE, "NNC_PERF_MAP: cannot write '%s': %s", path, strerror(errno));
  free(text);
  return rc;
}
