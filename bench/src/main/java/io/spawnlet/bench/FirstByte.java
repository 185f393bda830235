package io.spawnlet.bench;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * One HTTP request on a new connection, timed from before {@code connect} to the first byte of the
 * response: what a client of a sleeping pod waits for. The rest of the response is read (untimed)
 * so the server finishes the connection normally.
 */
final class FirstByte {
  private static final byte[] REQUEST =
      "GET / HTTP/1.0\r\nHost: bench\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

  private FirstByte() {}

  /** Nanoseconds from connect to the first response byte; fails unless it starts "HTTP/". */
  static long nanos(InetSocketAddress address, Duration timeout) throws IOException {
    long start = System.nanoTime();
    try (Socket socket = new Socket()) {
      socket.setTcpNoDelay(true);
      socket.connect(address, (int) timeout.toMillis());
      socket.setSoTimeout((int) timeout.toMillis());
      socket.getOutputStream().write(REQUEST);
      InputStream in = socket.getInputStream();
      int first = in.read();
      long took = System.nanoTime() - start;
      byte[] rest = in.readAllBytes();
      String head =
          (char) first + new String(rest, 0, Math.min(rest.length, 40), StandardCharsets.US_ASCII);
      if (first != 'H' || !head.startsWith("HTTP/")) {
        throw new IOException(
            address + " did not answer with HTTP (got \"" + head.strip() + "\"): is nginx up?");
      }
      return took;
    }
  }
}
