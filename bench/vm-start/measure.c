/* measure [-a] RUNS -- CMD...: runs CMD RUNS times with stdout on a pipe and
 * prints "first_ms exit_ms maxrss_kib" medians: time from fork to the first
 * byte the guest writes on the serial console (the VMM's stdout), time to
 * the VMM's exit, and the peak RSS of the VMM process. With -a, one such
 * line per run instead (the caller interleaves and takes medians). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}
static int cmp(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char** argv) {
  int all = argc > 1 && !strcmp(argv[1], "-a");
  if (all) { argv++; argc--; }
  if (argc < 4) { fprintf(stderr, "usage: measure [-a] RUNS -- CMD...\n"); return 2; }
  int runs = atoi(argv[1]);
  char** cmd = argv + 3;
  double* first = calloc(runs, sizeof *first);
  double* total = calloc(runs, sizeof *total);
  double* rss = calloc(runs, sizeof *rss);
  for (int i = 0; i < runs; ++i) {
    int p[2];
    if (pipe(p)) return 1;
    double t0 = now_ms();
    pid_t pid = fork();
    if (pid == 0) {
      int null = open("/dev/null", O_RDWR);
      dup2(null, 0);
      dup2(p[1], 1);
      dup2(null, 2);
      close(p[0]);
      execvp(cmd[0], cmd);
      _exit(127);
    }
    close(p[1]);
    char b[4096];
    ssize_t n;
    first[i] = -1;
    while ((n = read(p[0], b, sizeof b)) > 0)
      if (first[i] < 0) first[i] = now_ms() - t0;
    close(p[0]);
    int st;
    struct rusage ru;
    wait4(pid, &st, 0, &ru);
    total[i] = now_ms() - t0;
    rss[i] = ru.ru_maxrss;
    if (first[i] < 0) { fprintf(stderr, "measure: %s wrote nothing\n", cmd[0]); return 1; }
  }
  if (all) {
    for (int i = 0; i < runs; ++i) printf("%.2f %.2f %.0f\n", first[i], total[i], rss[i]);
    return 0;
  }
  qsort(first, runs, sizeof *first, cmp);
  qsort(total, runs, sizeof *total, cmp);
  qsort(rss, runs, sizeof *rss, cmp);
  printf("%.2f %.2f %.0f\n", first[runs / 2], total[runs / 2], rss[runs / 2]);
  return 0;
}
