/*
 * A socket-activated test server: serves on the descriptors it is handed (sd_listen_fds
 * protocol: LISTEN_FDS descriptors from 3, LISTEN_PID naming this process), never on its own.
 * TCP: reads a request, answers "HTTP/1.0 200 OK" with a body naming the wake ("pid N") and
 * closes. UDP: answers every datagram with "pong " + the datagram. SIGTERM: writes "terminating"
 * to stderr and exits 0, after STOP_DELAY_MS milliseconds (if set) in which it serves nothing: a
 * slow power-off, during which connections must wait in the pod's accept queue.
 * Exits 3 when the activation environment is wrong, so that a test sees it as a crash.
 * Built static at test time: gcc -static -O2 -o listen-fds-server listen-fds-server.c
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_FDS 16

#include <time.h>

static long stop_delay_ms;

static void on_term(int sig) {
  (void)sig;
  static const char msg[] = "terminating\n";
  ssize_t w = write(2, msg, sizeof msg - 1);
  (void)w;
  struct timespec delay = {stop_delay_ms / 1000, (stop_delay_ms % 1000) * 1000000L};
  nanosleep(&delay, NULL); /* async-signal-safe */
  _exit(0);
}

static void serve_tcp(int listener) {
  int conn = accept(listener, NULL, NULL);
  if (conn < 0) {
    return;
  }
  char buf[1024];
  ssize_t n = read(conn, buf, sizeof buf); /* one read: the tests send one short request */
  (void)n;
  char reply[128];
  int len = snprintf(reply, sizeof reply,
                     "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nactivated pid %d\n",
                     (int)getpid());
  ssize_t w = write(conn, reply, (size_t)len);
  (void)w;
  close(conn);
}

static void serve_udp(int fd) {
  char buf[512];
  struct sockaddr_storage from;
  socklen_t fromlen = sizeof from;
  ssize_t n = recvfrom(fd, buf + 5, sizeof buf - 5, 0, (struct sockaddr *)&from, &fromlen);
  if (n < 0) {
    return;
  }
  memcpy(buf, "pong ", 5);
  sendto(fd, buf, (size_t)n + 5, 0, (struct sockaddr *)&from, fromlen);
}

int main(void) {
  const char *fds_env = getenv("LISTEN_FDS");
  const char *pid_env = getenv("LISTEN_PID");
  if (fds_env == NULL || pid_env == NULL || atoi(pid_env) != (int)getpid()) {
    fprintf(stderr, "no activation: LISTEN_FDS=%s LISTEN_PID=%s pid=%d\n",
            fds_env ? fds_env : "", pid_env ? pid_env : "", (int)getpid());
    return 3;
  }
  int count = atoi(fds_env);
  if (count < 1 || count > MAX_FDS) {
    fprintf(stderr, "LISTEN_FDS=%s out of range\n", fds_env);
    return 3;
  }
  fprintf(stderr, "serving %d activation sockets (%s)\n", count,
          getenv("LISTEN_FDNAMES") ? getenv("LISTEN_FDNAMES") : "");
  stop_delay_ms = getenv("STOP_DELAY_MS") ? atol(getenv("STOP_DELAY_MS")) : 0;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_term;
  sigaction(SIGTERM, &sa, NULL);

  struct pollfd pfds[MAX_FDS];
  int stream[MAX_FDS];
  for (int i = 0; i < count; i++) {
    int type = 0;
    socklen_t tl = sizeof type;
    if (getsockopt(3 + i, SOL_SOCKET, SO_TYPE, &type, &tl) != 0) {
      fprintf(stderr, "fd %d is not a socket: %s\n", 3 + i, strerror(errno));
      return 3;
    }
    stream[i] = type == SOCK_STREAM;
    pfds[i].fd = 3 + i;
    pfds[i].events = POLLIN;
  }
  for (;;) {
    if (poll(pfds, (nfds_t)count, -1) < 0) {
      if (errno == EINTR) {
        continue;
      }
      return 4;
    }
    for (int i = 0; i < count; i++) {
      if (pfds[i].revents & POLLIN) {
        if (stream[i]) {
          serve_tcp(pfds[i].fd);
        } else {
          serve_udp(pfds[i].fd);
        }
      }
    }
  }
}
