package io.spawnlet.e2e;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP proxy on 127.0.0.1 in front of a loopback registry that, while throttled, passes the
 * registry's answers at a few KiB per second: long enough to kill a daemon in the middle of a layer
 * download. Each connection is copied by two virtual threads.
 */
final class ThrottlingProxy implements AutoCloseable {
  private final ServerSocket server;
  private final int upstreamPort;
  private final AtomicInteger bytesPerTick;

  ThrottlingProxy(int upstreamPort, int bytesPer100ms) throws IOException {
    this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    this.upstreamPort = upstreamPort;
    this.bytesPerTick = new AtomicInteger(bytesPer100ms);
    Thread.ofVirtual().start(this::accept);
  }

  String host() {
    return "127.0.0.1:" + server.getLocalPort();
  }

  /** 0 lifts the throttle. */
  void throttle(int bytesPer100ms) {
    bytesPerTick.set(bytesPer100ms);
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket client = server.accept();
        Socket upstream = new Socket(InetAddress.getLoopbackAddress(), upstreamPort);
        Thread.ofVirtual().start(() -> copy(client, upstream, false));
        Thread.ofVirtual().start(() -> copy(upstream, client, true));
      } catch (IOException closed) {
        return;
      }
    }
  }

  private void copy(Socket from, Socket to, boolean throttled) {
    byte[] buffer = new byte[16 * 1024];
    try (from;
        to) {
      InputStream in = from.getInputStream();
      OutputStream out = to.getOutputStream();
      while (true) {
        int limit = throttled ? bytesPerTick.get() : 0;
        int n = in.read(buffer, 0, limit > 0 ? Math.min(limit, buffer.length) : buffer.length);
        if (n < 0) {
          return;
        }
        out.write(buffer, 0, n);
        out.flush();
        if (limit > 0) {
          Thread.sleep(100);
        }
      }
    } catch (IOException | InterruptedException done) {
      // either side closed: the pair is finished
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
  }
}
