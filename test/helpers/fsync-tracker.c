/*
 * Loaded into redis-server with LD_PRELOAD by power-loss.ts. After every fsync() or fdatasync() that
 * succeeds it appends "<size> <path>" to $FSYNC_LOG, the size being the file's when the call began:
 * what the disk is sure to hold of that file from then on. Cutting a file back to its last recorded
 * size after a SIGKILL gives what a power loss at that instant would have left (the worst case: a
 * disk that kept nothing it was not told to sync).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static int log_fd = -1;

static void record(int fd, off_t size) {
  if (log_fd < 0) {
    const char *path = getenv("FSYNC_LOG");
    if (!path) return;
    log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) return;
  }
  char link[64], target[4096], line[4200];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, target, sizeof target - 1);
  if (n <= 0) return;
  target[n] = 0;
  int len = snprintf(line, sizeof line, "%lld %s\n", (long long)size, target);
  if (len > 0 && write(log_fd, line, (size_t)len) < 0) return; /* one write: lines never interleave */
}

static int synced(const char *name, int fd) {
  int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, name);
  struct stat st;
  off_t size = fstat(fd, &st) == 0 ? st.st_size : -1;
  int rc = real(fd);
  if (rc == 0 && size >= 0) record(fd, size);
  return rc;
}

int fsync(int fd) { return synced("fsync", fd); }
int fdatasync(int fd) { return synced("fdatasync", fd); }
