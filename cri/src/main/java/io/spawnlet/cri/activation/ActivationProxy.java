package io.spawnlet.cri.activation;

import io.spawnlet.cri.host.Syscalls;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Proxy mode ({@code spawnlet.io/activation-proxy: "80=8080"}) for apps that cannot take passed
 * sockets: while the pod is awake the daemon accepts on the activation socket (port 80) and copies
 * each connection to the app's own port (8080) on the pod's IP, retrying the connect until the app
 * listens. While the pod sleeps nobody accepts: connections wait in the accept queue and wake the
 * pod as usual.
 *
 * <p>Copying uses platform threads (two per connection): the activation socket is a raw descriptor
 * read with blocking system calls, which would pin a virtual thread's carrier.
 */
final class ActivationProxy implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ActivationProxy.class);
  private static final Duration ACCEPT_ROUND = Duration.ofMillis(200);
  private static final Duration APP_START = Duration.ofSeconds(60);
  private static final Duration CONNECT_RETRY = Duration.ofMillis(20);

  private final String sandboxId;
  private final InetAddress target;
  private final List<Thread> acceptors = new ArrayList<>();
  private volatile boolean closed;

  /**
   * @param listeners activation socket fd → the app's TCP port
   */
  ActivationProxy(String sandboxId, InetAddress target, Map<Integer, Integer> listeners) {
    this.sandboxId = sandboxId;
    this.target = target;
    listeners.forEach(
        (fd, appPort) ->
            acceptors.add(
                Thread.ofPlatform()
                    .daemon()
                    .name("activation-proxy-" + appPort)
                    .start(() -> acceptLoop(fd, appPort))));
  }

  private void acceptLoop(int fd, int appPort) {
    while (!closed) {
      try {
        if (Syscalls.pollReadable(fd, (int) ACCEPT_ROUND.toMillis()) && !closed) {
          int conn = Syscalls.accept(fd);
          Thread.ofPlatform()
              .daemon()
              .name("activation-proxy-conn")
              .start(() -> relay(conn, appPort));
        }
      } catch (RuntimeException e) {
        log.warn("pod {}: proxy to port {}: {}", sandboxId, appPort, e.getMessage());
        sleep(ACCEPT_ROUND);
      }
    }
  }

  private void relay(int conn, int appPort) {
    try (Socket app = connectWhenListening(appPort)) {
      Thread up =
          Thread.ofPlatform()
              .daemon()
              .name("activation-proxy-up")
              .start(() -> copyToApp(conn, app));
      try (InputStream in = app.getInputStream()) {
        byte[] buf = new byte[16384];
        int n;
        while ((n = in.read(buf)) > 0) {
          Syscalls.write(conn, n == buf.length ? buf : java.util.Arrays.copyOf(buf, n));
        }
      } catch (IOException | RuntimeException e) {
        log.debug("pod {}: proxy from app port {}: {}", sandboxId, appPort, e.getMessage());
      }
      Syscalls.shutdown(conn); // ends the upward copy if the client is still sending
      up.join();
    } catch (IOException e) {
      log.warn(
          "pod {}: app port {} did not accept within {}: {}",
          sandboxId,
          appPort,
          APP_START,
          e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      Syscalls.close(conn);
    }
  }

  private static void copyToApp(int conn, Socket app) {
    byte[] buf = new byte[16384];
    try {
      OutputStream out = app.getOutputStream();
      int n;
      while ((n = Syscalls.read(conn, buf)) > 0) {
        out.write(buf, 0, n);
      }
      app.shutdownOutput();
    } catch (IOException | RuntimeException e) {
      // the client or the app went away
    }
  }

  private Socket connectWhenListening(int appPort) throws IOException {
    long deadline = System.nanoTime() + APP_START.toNanos();
    while (true) {
      Socket s = new Socket();
      try {
        s.connect(new InetSocketAddress(target, appPort), 1000);
        return s;
      } catch (IOException e) {
        s.close();
        if (closed || System.nanoTime() > deadline) {
          throw e;
        }
        sleep(CONNECT_RETRY);
      }
    }
  }

  private static void sleep(Duration d) {
    try {
      Thread.sleep(d);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Stops accepting (within one accept round); connections being relayed run to their end. */
  @Override
  public void close() {
    closed = true;
    for (Thread t : acceptors) {
      try {
        t.join(ACCEPT_ROUND.multipliedBy(5).toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
