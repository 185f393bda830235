/*
 * The sandbox ("pause") process for containerd's CRI plugin in bench/cri-latency.sh: no image
 * registry is reachable here, so the benchmark builds its own. It holds the pod's namespaces,
 * does nothing, exits on SIGINT/SIGTERM (as PID 1 it gets no default action for them) and
 * reaps children it may inherit. Built statically so the image needs no libc.
 */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static void exit_now(int signal_number) {
  (void)signal_number;
  _exit(0);
}

static void reap_children(int signal_number) {
  (void)signal_number;
  while (waitpid(-1, 0, WNOHANG) > 0) {
  }
}

int main(void) {
  struct sigaction terminate = {.sa_handler = exit_now};
  struct sigaction child = {.sa_handler = reap_children, .sa_flags = SA_NOCLDSTOP | SA_RESTART};
  sigaction(SIGINT, &terminate, 0);
  sigaction(SIGTERM, &terminate, 0);
  sigaction(SIGCHLD, &child, 0);
  for (;;) {
    pause();
  }
}
