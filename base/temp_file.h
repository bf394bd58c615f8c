/* base/temp_file — the pieces of nnc_write_atomic (file_write.c) other
 * writers of temporary files share (the object cache). */
#ifndef NNC_TEMP_FILE_H
#define NNC_TEMP_FILE_H

#include <stddef.h>

/* The registry nnc_remove_temp_files_on_signal reads: register a path before
 * creating it (a slot, or -1 when all are taken: no cleanup for that one),
 * unregister after the rename or unlink. */
int nnc_temp_file_register(const char *path);
void nnc_temp_file_unregister(int slot);

/* All len bytes to fd, retrying on EINTR; 0 or an errno value. */
int nnc_write_all(int fd, const void *data, size_t len);

#endif
