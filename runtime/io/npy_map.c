/* .npy files mapped instead of read (runtime/io/npy_map.h). */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/base.h"
#include "runtime/io/bytes.h"
#include "runtime/io/input.h"
#include "runtime/io/npy_map.h"

static const unsigned char npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

/* ---- live mappings, for a SIGBUS handler (nnc_mapped_file_at) ---- */

/* Fixed slots claimed with lock-free atomics, as base/file_write.c's
 * temporary files: a handler may read them at any moment. A mapping that
 * finds no free slot works the same; only its SIGBUS goes unexplained. */
enum { MAP_SLOTS = 32, MAP_PATH_MAX = 1024 };
enum { SLOT_FREE, SLOT_FILLING, SLOT_ACTIVE };
static struct {
  atomic_int state;
  uintptr_t base;
  size_t len;
  char path[MAP_PATH_MAX];
} map_slots[MAP_SLOTS];

static void map_register(const void *base, size_t len, const char *path) {
  size_t n = strlen(path);
  if (n >= MAP_PATH_MAX) n = MAP_PATH_MAX - 1;
  for (int i = 0; i < MAP_SLOTS; i++) {
    int expected = SLOT_FREE;
    if (atomic_compare_exchange_strong(&map_slots[i].state, &expected, SLOT_FILLING)) {
      map_slots[i].base = (uintptr_t)base;
      map_slots[i].len = len;
      memcpy(map_slots[i].path, path, n);
      map_slots[i].path[n] = '\0';
      atomic_store(&map_slots[i].state, SLOT_ACTIVE);
      return;
    }
  }
}

static void map_unregister(const void *base) {
  for (int i = 0; i < MAP_SLOTS; i++)
    if (atomic_load(&map_slots[i].state) == SLOT_ACTIVE && map_slots[i].base == (uintptr_t)base)
      atomic_store(&map_slots[i].state, SLOT_FREE);
}

const char *nnc_mapped_file_at(const void *addr) {
  uintptr_t a = (uintptr_t)addr;
  for (int i = 0; i < MAP_SLOTS; i++)
    if (atomic_load(&map_slots[i].state) == SLOT_ACTIVE && a >= map_slots[i].base &&
        a - map_slots[i].base < map_slots[i].len)
      return map_slots[i].path;
  return NULL;
}

/* The array after the header of a regular file at `in`, mapped when the host
 * can use its bytes as they are; else read. */
static int npy_map_input(io_input *in, nnc_array *out, nnc_mapping *map, nnc_status *st) {
  size_t data_bytes;
  int rc = npy_read_head(in, out, &data_bytes, st);
  if (rc) return rc;
  size_t elem = nnc_dtype_size(out->dtype);
  /* npy_read_head checked that the file holds exactly data_bytes after the
   * header (in->pos), so every mapped page lies inside the file */
  int usable = in->fd >= 0 && !in->mem && in->size >= 0 && data_bytes > 0 &&
               (uint64_t)in->size == in->pos + data_bytes && in->pos % elem == 0 &&
               (elem == 1 || io_host_is_little_endian());
  void *base =
      usable ? mmap(NULL, (size_t)in->size, PROT_READ, MAP_PRIVATE, in->fd, 0) : MAP_FAILED;
  if (base == MAP_FAILED) /* not mappable (or mmap refused): read it */
    return npy_read_data(in, out, data_bytes, st);
  map->base = base;
  map->len = (size_t)in->size;
  map_register(base, map->len, in->path);
  out->data = (unsigned char *)base + in->pos;
  return NNC_OK;
}

static int set_one(nnc_tensor_set *out, nnc_array *a, nnc_status *st) {
  out->items = nnc_calloc(1, sizeof *out->items, st);
  if (!out->items) return st->code;
  out->n = 1;
  out->items[0].array = *a;
  a->data = NULL;
  return NNC_OK;
}

int nnc_data_read_mapped(const char *path, nnc_tensor_set *out, int *is_npz, nnc_mapping *map,
                         nnc_status *st) {
  memset(out, 0, sizeof *out);
  memset(map, 0, sizeof *map);
  *is_npz = 0;
  io_input in;
  int rc = io_input_open(&in, path, st);
  if (rc) return rc;
  unsigned char head[sizeof npy_magic];
  size_t got = 0;
  rc = io_input_peek(&in, head, sizeof head, &got, st);
  nnc_array a = {0};
  if (rc) {
    /* the peek's error */
  } else if (got >= 4 && head[0] == 'P' && head[1] == 'K' &&
             ((head[2] == 3 && head[3] == 4) || (head[2] == 5 && head[3] == 6))) {
    *is_npz = 1; /* as nnc_data_read tells them apart */
    rc = nnc_npz_read_input(&in, out, st);
  } else {
    int npy = got == sizeof head && !memcmp(head, npy_magic, sizeof head);
    rc = npy && in.size >= 0 ? npy_map_input(&in, &a, map, st) : nnc_array_read_input(&in, &a, st);
    if (!rc) rc = set_one(out, &a, st);
  }
  if (rc && map->len) { /* set_one failed: the mapping goes (a.data points into it) */
    a.data = NULL;
    nnc_unmap(map);
  }
  nnc_array_free(&a); /* NULL unless set_one failed on read data */
  io_input_close(&in);
  return rc;
}

void nnc_unmap(nnc_mapping *map) {
  if (map->len) {
    map_unregister(map->base);
    munmap(map->base, map->len);
  }
  memset(map, 0, sizeof *map);
}
