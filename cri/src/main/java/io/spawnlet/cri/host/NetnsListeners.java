package io.spawnlet.cri.host;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Opens listening sockets inside another network namespace: a socket belongs to the namespace its
 * creator was in at {@code socket()} time, so a dedicated platform thread ({@link
 * NamespaceSwitchThread}) enters the pod's netns, creates and binds them, and comes back. The
 * descriptors stay valid (and in the pod's netns) after the thread has left.
 */
public final class NetnsListeners {
  /** One socket to open: {@link Syscalls#SOCK_STREAM} or {@link Syscalls#SOCK_DGRAM}. */
  public record Listen(int type, int port) {}

  /** The opened descriptors, in request order, and whether they are dual-stack {@code [::]}. */
  public record Opened(List<Integer> fds, boolean dualStack) {}

  private final NamespaceSwitchThread thread = new NamespaceSwitchThread("spawnlet-netns-sockets");

  /**
   * Opens {@code listens} in the network namespace pinned at {@code netns}. Dual-stack {@code
   * [::]:PORT} sockets (IPV6_V6ONLY off, what systemd's {@code ListenStream=PORT} means) when the
   * namespace has IPv6 enabled; {@code 0.0.0.0:PORT} when IPv6 is disabled in it.
   */
  public Opened open(Path netns, List<Listen> listens, int backlog) {
    return thread.run(new OpenJob(netns, listens, backlog));
  }

  /** Runs switched: raw system calls and file reads only (see {@link NamespaceSwitchThread}). */
  private static final class OpenJob extends NetnsJob<Opened> {
    private final List<Listen> listens;
    private final int backlog;

    OpenJob(Path netns, List<Listen> listens, int backlog) {
      super(netns);
      this.listens = listens;
      this.backlog = backlog;
    }

    @Override
    Opened inside() {
      List<Integer> fds = new ArrayList<>();
      try {
        boolean dualStack = hasIpv6();
        int family = dualStack ? Syscalls.AF_INET6 : Syscalls.AF_INET;
        for (Listen l : listens) {
          fds.add(Syscalls.listeningSocket(family, l.type(), l.port(), backlog));
        }
        return new Opened(List.copyOf(fds), dualStack);
      } catch (RuntimeException e) {
        fds.forEach(Syscalls::close);
        throw e;
      }
    }

    @Override
    void discard(Opened made) {
      made.fds().forEach(Syscalls::close);
    }

    /** IPv6 is enabled in this netns when its loopback has an IPv6 address. */
    private static boolean hasIpv6() {
      try {
        return !Files.readString(Path.of("/proc/thread-self/net/if_inet6")).isBlank();
      } catch (IOException e) {
        return false;
      }
    }
  }
}
