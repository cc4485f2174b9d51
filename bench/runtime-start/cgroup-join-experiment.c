// Experiment (not part of the product): what moving a process into a fresh
// cgroup v1 dir costs, by method. Numbers: docs/performance.md, runtime-start.
//
//   gcc -O2 -o /tmp/cgj bench/runtime-start/cgroup-join-experiment.c
//   /tmp/cgj procs 20     # parent writes the child's pid to cgroup.procs
//   /tmp/cgj self 20      # the child writes "0" to tasks (moves itself)
//   /tmp/cgj prewarm 6    # a no-op cgroup.procs write first, then the real one
//
// Each iteration makes /sys/fs/cgroup/pids/cgj<i>, waits 30 ms first so the
// previous iteration's rcu_sync window has (mostly) closed, and prints the
// mean time of the timed write. Needs root and a v1 pids hierarchy.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void write_file(const char* path, const char* s) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, s, strlen(s)) < 0) {
    perror(path);
    exit(1);
  }
  close(fd);
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s procs|self|prewarm N\n", argv[0]);
    return 2;
  }
  const char* mode = argv[1];
  int n = atoi(argv[2]);
  double total = 0;
  for (int i = 0; i < n; i++) {
    char dir[256], file[300], pid[32];
    snprintf(dir, sizeof dir, "/sys/fs/cgroup/pids/cgj%d", i);
    mkdir(dir, 0755);
    int go[2], back[2];
    if (pipe(go) || pipe(back)) return 1;
    pid_t c = fork();
    if (c == 0) {
      char b;
      if (read(go[0], &b, 1) != 1) _exit(1);
      if (!strcmp(mode, "self")) {
        snprintf(file, sizeof file, "%s/tasks", dir);
        double t = now_ms();
        write_file(file, "0");  // the calling thread only: no threadgroup rwsem
        double d = now_ms() - t;
        if (write(back[1], &d, sizeof d) != sizeof d) _exit(1);
      }
      _exit(0);
    }
    usleep(30000);
    snprintf(file, sizeof file, "%s/cgroup.procs", dir);
    snprintf(pid, sizeof pid, "%d", c);
    if (!strcmp(mode, "self")) {
      double d;
      if (write(go[1], "x", 1) != 1 || read(back[0], &d, sizeof d) != sizeof d) return 1;
      total += d;
    } else {
      double t0 = now_ms();
      if (!strcmp(mode, "prewarm")) write_file("/sys/fs/cgroup/pids/cgroup.procs", "0");  // no-op move
      double t1 = now_ms();
      write_file(file, pid);
      double d = now_ms() - t1;
      if (!strcmp(mode, "prewarm")) printf("no-op write %.3f ms, then the real one %.3f ms\n", t1 - t0, d);
      total += d;
      if (write(go[1], "x", 1) != 1) return 1;
    }
    waitpid(c, NULL, 0);
    rmdir(dir);
    close(go[0]), close(go[1]), close(back[0]), close(back[1]);
  }
  printf("%s: mean %.3f ms over %d\n", mode, total / n, n);
  return 0;
}
