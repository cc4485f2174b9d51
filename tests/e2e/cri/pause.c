/* The pod sandbox's process for the CRI tests ("pause"): it holds the
 * pod's namespaces and waits for a signal; SIGTERM/SIGINT end it. Static,
 * so the image is this one file. Built by tests/e2e/cri/make_pause_image. */
#include <signal.h>
#include <unistd.h>

static void stop(int sig) { _exit(sig == SIGTERM || sig == SIGINT ? 0 : 2); }

int main(void) {
  signal(SIGTERM, stop);
  signal(SIGINT, stop);
  for (;;) pause();
}
