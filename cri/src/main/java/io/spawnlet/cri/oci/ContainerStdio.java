package io.spawnlet.cri.oci;

import java.io.IOException;
import java.util.OptionalInt;

/**
 * The standard streams of a process in a container, held open for a client: a command started by
 * {@code runtime exec} ({@link ExecProcess}) or the container's own process through conmon's attach
 * socket ({@link ConmonAttach}). One thread pumps output, another writes input, a third waits; the
 * owner calls {@link #close} once all three are done.
 */
public interface ContainerStdio extends AutoCloseable {
  /** Receives output; {@code data} is only valid during the call. */
  @FunctionalInterface
  interface Sink {
    void accept(byte[] data, int length) throws IOException;
  }

  /** Copies output to the sinks until it ends (blocking; the caller's thread). */
  void pumpOutput(Sink stdout, Sink stderr) throws IOException;

  /** Sends input to the process (blocking while it does not read). */
  void writeStdin(byte[] data) throws IOException;

  /** Tells the process its input ended. */
  void closeStdin();

  /** Sets the terminal size (ignored without a terminal). */
  void resize(int width, int height);

  /**
   * Waits until the process or the attachment ends; its exit code when there is one (an exec'd
   * command), empty when the stream ended without one (an attach that detached).
   */
  OptionalInt awaitExit() throws InterruptedException;

  /** Ends it now: kills an exec'd command and its children; detaches an attach. */
  void terminate();

  /** Releases the descriptors and files; after the pump and the waiter are done. */
  @Override
  void close();
}
