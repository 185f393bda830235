package io.spawnlet.cri.streaming;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One forwarded connection: bytes between a client's data stream and a TCP connection to a port in
 * the pod, in both directions, whatever the wire protocol. The client's half-close becomes a TCP
 * half-close and the pod's end of output ends the data stream; a failure to connect is reported on
 * the error stream.
 */
final class PortStream {
  private static final Logger log = LoggerFactory.getLogger(PortStream.class);
  private static final byte[] END = new byte[0];

  /** The client's side, as the protocol handler exposes it. */
  interface ClientSide {
    void data(byte[] bytes, int length) throws IOException;

    /** No more data from the pod. */
    void endData();

    /** Reports a failure on the error stream. */
    void error(String message);

    /** Everything done for this connection. */
    void finished();
  }

  /** Opens the connection to the pod's port (blocking; may throw). */
  interface Dialer {
    SocketChannel dial() throws IOException;
  }

  private final String what;
  private final Dialer dialer;
  private final ClientSide client;
  private final BlockingQueue<byte[]> toPod = new LinkedBlockingQueue<>();
  private final AtomicBoolean closed = new AtomicBoolean();
  private volatile SocketChannel pod;

  PortStream(String what, Dialer dialer, ClientSide client) {
    this.what = what;
    this.dialer = dialer;
    this.client = client;
  }

  void start() {
    Thread.ofPlatform().daemon().name("forward-" + what).start(this::run);
  }

  /** Data from the client (event loop: only queues). */
  void fromClient(byte[] bytes) {
    toPod.add(bytes);
  }

  /** The client half-closed its data stream. */
  void clientEnd() {
    toPod.add(END);
  }

  /** The client's connection is gone: drop the pod connection. */
  void clientGone() {
    if (closed.compareAndSet(false, true)) {
      toPod.add(END);
      SocketChannel c = pod;
      if (c != null) {
        try {
          c.close();
        } catch (IOException e) {
          // closing
        }
      }
    }
  }

  private void run() {
    SocketChannel c;
    try {
      c = dialer.dial();
    } catch (IOException | RuntimeException e) {
      client.error("error forwarding " + what + ": " + e.getMessage());
      client.finished();
      return;
    }
    pod = c;
    if (closed.get()) {
      closeQuietly(c);
      return;
    }
    Thread writer = Thread.ofPlatform().daemon().name("forward-in-" + what).start(() -> feed(c));
    ByteBuffer buf = ByteBuffer.allocate(128 * 1024);
    try {
      while (c.read(buf.clear()) >= 0) {
        client.data(buf.array(), buf.position());
      }
      client.endData();
    } catch (IOException e) {
      if (!closed.get()) {
        log.debug("{}: {}", what, e.toString());
      }
    }
    try {
      writer.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    closeQuietly(c);
    client.finished();
  }

  private void feed(SocketChannel c) {
    try {
      while (true) {
        byte[] next = toPod.take();
        if (next == END) {
          if (!closed.get()) {
            c.shutdownOutput();
          }
          return;
        }
        ByteBuffer b = ByteBuffer.wrap(next);
        while (b.hasRemaining()) {
          c.write(b);
        }
      }
    } catch (IOException e) {
      // the pod closed its side
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void closeQuietly(SocketChannel c) {
    try {
      c.close();
    } catch (IOException e) {
      // closing
    }
  }
}
