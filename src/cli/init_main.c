/* berth-init: the small init `berth run --init` puts in front of the
 * container's command (docker's --init, tini's job): it runs the command
 * as its child, forwards every catchable signal to it, reaps every
 * zombie reparented to pid 1, and exits with the command's status (128+N
 * for a signal). Bound read-only at /sbin/berth-init; static, so it needs
 * nothing from the image.
 *
 *   berth-init -- COMMAND [ARG...]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char** argv) {
  int first = 1;
  if (first < argc && strcmp(argv[first], "--") == 0) first++;
  if (first >= argc) {
    fprintf(stderr, "berth-init: usage: berth-init -- COMMAND [ARG...]\n");
    return 2;
  }
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &old);
  /* Not pid 1 (e.g. --pid host): still reap what the command leaves. */
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  pid_t child = fork();
  if (child < 0) {
    perror("berth-init: fork");
    return 126;
  }
  if (child == 0) {
    sigprocmask(SIG_SETMASK, &old, NULL);
    setpgid(0, 0);
    /* the command gets the terminal's foreground, if there is one */
    if (isatty(STDIN_FILENO)) {
      signal(SIGTTOU, SIG_IGN);
      tcsetpgrp(STDIN_FILENO, getpid());
      signal(SIGTTOU, SIG_DFL);
    }
    execvp(argv[first], argv + first);
    fprintf(stderr, "berth-init: exec %s: %s\n", argv[first], strerror(errno));
    _exit(errno == ENOENT ? 127 : 126);
  }
  for (;;) {
    siginfo_t si;
    int sig = sigwaitinfo(&all, &si);
    if (sig < 0) continue;
    if (sig != SIGCHLD) {
      kill(child, sig);
      continue;
    }
    int status;
    pid_t p;
    while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
      if (p != child) continue;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
  }
}
