package io.spawnlet.cri.streaming;

import io.spawnlet.cri.CriException;
import io.spawnlet.cri.oci.ContainerStdio;
import java.io.IOException;
import java.util.OptionalInt;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one exec or attach for one client, whatever the wire protocol. Input from the client (stdin,
 * its end, terminal sizes) is queued by the protocol handler, which must not block, and written to
 * the process by one thread; output is pumped by another; a third waits for the end and reports it.
 * A client that goes away ends the process ({@link ContainerStdio#terminate}).
 *
 * <pre>
 *  protocol handler ──stdin/eof/resize──► queue ──► input thread ──► ContainerStdio
 *  ClientStreams.stdout/stderr ◄── output thread ◄─────────────────── ContainerStdio
 *  ClientStreams.finish(status) ◄── session thread: awaitExit, join output, close
 * </pre>
 */
final class CommandSession {
  private static final Logger log = LoggerFactory.getLogger(CommandSession.class);

  /** The client's side of the streams, as the protocol handler exposes them. */
  interface ClientStreams {
    ContainerStdio.Sink stdout();

    ContainerStdio.Sink stderr();

    /** Reports the end on the error stream, ends all streams and the connection. */
    void finish(ExitStatus status);
  }

  private sealed interface Input {}

  private record Data(byte[] bytes) implements Input {}

  private record Resize(int width, int height) implements Input {}

  private record EndOfInput() implements Input {}

  private record Gone() implements Input {}

  private final String what;
  private final Supplier<ContainerStdio> open;
  private final ClientStreams client;
  private final BlockingQueue<Input> input = new LinkedBlockingQueue<>();
  private final AtomicBoolean gone = new AtomicBoolean();
  private volatile ContainerStdio stdio;

  CommandSession(String what, Supplier<ContainerStdio> open, ClientStreams client) {
    this.what = what;
    this.open = open;
    this.client = client;
  }

  void start() {
    Thread.ofPlatform().daemon().name("stream-" + what).start(this::run);
  }

  void stdin(byte[] data) {
    input.add(new Data(data));
  }

  void stdinEnd() {
    input.add(new EndOfInput());
  }

  void resize(int width, int height) {
    input.add(new Resize(width, height));
  }

  /** The client's connection closed: end the process, whatever state it is in. */
  void clientGone() {
    if (gone.compareAndSet(false, true)) {
      input.add(new Gone());
      ContainerStdio s = stdio;
      if (s != null) {
        s.terminate();
      }
    }
  }

  private void run() {
    long begun = System.nanoTime();
    ContainerStdio s;
    try {
      s = open.get();
    } catch (CriException | io.spawnlet.cri.host.SyscallException e) {
      client.finish(ExitStatus.failure(e.getMessage()));
      return;
    } catch (RuntimeException e) {
      log.warn("{}: cannot start: {}", what, e.toString());
      client.finish(ExitStatus.failure(what + " failed: " + e.getMessage()));
      return;
    }
    long opened = System.nanoTime();
    stdio = s;
    if (gone.get()) {
      s.terminate();
    }
    Thread inputThread = Thread.ofPlatform().daemon().name("stream-in-" + what).start(this::feed);
    Thread outputThread =
        Thread.ofPlatform()
            .daemon()
            .name("stream-out-" + what)
            .start(
                () -> {
                  try {
                    s.pumpOutput(client.stdout(), client.stderr());
                  } catch (IOException e) {
                    // the client went away; clientGone() terminates the process
                    s.terminate();
                  }
                });
    ExitStatus status;
    long exited = 0;
    long drained = 0;
    try {
      OptionalInt code = s.awaitExit();
      exited = System.nanoTime();
      outputThread.join();
      drained = System.nanoTime();
      status = ExitStatus.of(code);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      s.terminate();
      status = ExitStatus.failure(what + " interrupted");
    }
    input.add(new Gone());
    try {
      inputThread.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    stdio = null;
    s.close();
    long closed = System.nanoTime();
    client.finish(status);
    if (log.isDebugEnabled()) {
      log.debug(
          "{}: started in {} us, ran {} us, output drained {} us later, closed in {} us, reported in {} us",
          what,
          (opened - begun) / 1000,
          (exited - opened) / 1000,
          (drained - exited) / 1000,
          (closed - drained) / 1000,
          (System.nanoTime() - closed) / 1000);
    }
  }

  private void feed() {
    try {
      while (true) {
        Input next = input.take();
        switch (next) {
          case Data d -> stdio.writeStdin(d.bytes());
          case Resize r -> stdio.resize(r.width(), r.height());
          case EndOfInput e -> stdio.closeStdin();
          case Gone g -> {
            return;
          }
        }
      }
    } catch (IOException e) {
      // the process stopped reading: drop the rest
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
