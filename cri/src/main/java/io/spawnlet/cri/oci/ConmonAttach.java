package io.spawnlet.cri.oci;

import io.spawnlet.cri.CriException;
import io.spawnlet.cri.host.Syscalls;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.OptionalInt;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A client's attachment to a container's own stdio, through the attach socket conmon keeps in the
 * bundle ({@code <bundle>/attach}, SOCK_SEQPACKET).
 *
 * <p>conmon's framing: each message it sends is one byte naming the stream (2 stdout, 3 stderr; a
 * terminal's output is stdout) and the data. What we send is the container's stdin, raw; conmon
 * forwards it only when it was started with {@code -i} (CRI {@code stdin}). Our half-close ends the
 * container's stdin unless it was started with {@code --leave-stdin-open} ({@code stdin_once}
 * false). Terminal size goes through conmon's control FIFO {@code <bundle>/ctl} as {@code "1 <rows>
 * <columns>\n"} (message type 1: resize).
 */
public final class ConmonAttach implements ContainerStdio {
  private static final byte STDOUT = 2;
  private static final byte STDERR = 3;

  /** conmon reads at most this much per message (its buffer is 32 KiB). */
  private static final int MAX_INPUT_MESSAGE = 8192;

  private final String containerId;
  private final Path bundle;
  private final int socket;
  private final AtomicBoolean closed = new AtomicBoolean();
  private final CountDownLatch ended = new CountDownLatch(1);

  private ConmonAttach(String containerId, Path bundle, int socket) {
    this.containerId = containerId;
    this.bundle = bundle;
    this.socket = socket;
  }

  /** Connects to the attach socket of the container whose bundle is {@code bundle}. */
  public static ConmonAttach connect(String containerId, Path bundle) {
    // The bundle path may exceed a unix socket path's 107 bytes: connect through a directory fd.
    int dir = Syscalls.openReadOnly(bundle.toString());
    try {
      int socket =
          Syscalls.connectUnix("/proc/self/fd/" + dir + "/attach", Syscalls.SOCK_SEQPACKET);
      return new ConmonAttach(containerId, bundle, socket);
    } catch (RuntimeException e) {
      throw new CriException(
          CriException.Kind.FAILED_PRECONDITION,
          "cannot attach to container \""
              + containerId
              + "\": conmon's attach socket "
              + bundle.resolve("attach")
              + " does not answer ("
              + e.getMessage()
              + "); is its conmon still running?",
          e);
    } finally {
      Syscalls.close(dir);
    }
  }

  @Override
  public void pumpOutput(Sink stdout, Sink stderr) throws IOException {
    byte[] buf = new byte[64 * 1024 + 1];
    try {
      while (true) {
        int n;
        try {
          n = Syscalls.read(socket, buf);
        } catch (RuntimeException e) {
          return; // shut down by terminate()
        }
        if (n <= 0) {
          return;
        }
        byte[] data = Arrays.copyOfRange(buf, 1, n);
        if (buf[0] == STDERR) {
          stderr.accept(data, data.length);
        } else if (buf[0] == STDOUT) {
          stdout.accept(data, data.length);
        }
      }
    } finally {
      ended.countDown();
    }
  }

  @Override
  public void writeStdin(byte[] data) throws IOException {
    try {
      for (int off = 0; off < data.length; off += MAX_INPUT_MESSAGE) {
        Syscalls.write(socket, data, off, Math.min(MAX_INPUT_MESSAGE, data.length - off));
      }
    } catch (RuntimeException e) {
      throw new IOException("attach socket of " + containerId + " closed", e);
    }
  }

  @Override
  public void closeStdin() {
    Syscalls.shutdownWrite(socket);
  }

  @Override
  public void resize(int width, int height) {
    Path ctl = bundle.resolve("ctl");
    if (width <= 0 || height <= 0 || !Files.exists(ctl)) {
      return;
    }
    try (OutputStream out = Files.newOutputStream(ctl, StandardOpenOption.WRITE)) {
      out.write(("1 " + height + " " + width + "\n").getBytes(StandardCharsets.US_ASCII));
    } catch (IOException e) {
      // conmon has gone: the attachment ends on its own
    }
  }

  /** Attaching yields no exit code: the container's own exit is reported by ContainerStatus. */
  @Override
  public OptionalInt awaitExit() throws InterruptedException {
    ended.await();
    return OptionalInt.empty();
  }

  @Override
  public synchronized void terminate() {
    if (!closed.get()) {
      Syscalls.shutdown(socket);
    }
  }

  @Override
  public synchronized void close() {
    if (closed.compareAndSet(false, true)) {
      Syscalls.close(socket);
    }
  }
}
