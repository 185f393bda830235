package io.spawnlet.agent.kubeletapi;

import java.net.URI;
import java.util.List;

/**
 * The runtime's streaming calls (CRI Exec, Attach, PortForward): each returns the single-use URL
 * where the runtime's streaming server carries the request out. Failures are {@code
 * PodRuntimeException}s.
 */
public interface PodStreams {
  /** Which of the command's streams the client wants, and whether it runs on a terminal. */
  record StreamOptions(boolean stdin, boolean stdout, boolean stderr, boolean tty) {}

  URI exec(String containerId, List<String> command, StreamOptions options);

  URI attach(String containerId, StreamOptions options);

  /** {@code ports} may be empty: SPDY clients name each port when they open its streams. */
  URI portForward(String sandboxId, List<Integer> ports);
}
