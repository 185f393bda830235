package io.spawnlet.agent.probe;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A container's postStart or preStop hook as the manifest gives it ({@code lifecycle.postStart},
 * {@code lifecycle.preStop}), named ports already resolved; a host of "" means the pod's IP.
 */
public sealed interface LifecycleHandler {

  record Exec(List<String> command) implements LifecycleHandler {}

  record HttpGet(String scheme, String host, int port, String path, Map<String, String> headers)
      implements LifecycleHandler {}

  record Sleep(Duration duration) implements LifecycleHandler {}

  /** For logs and events: what the hook does, e.g. {@code exec [sh, -c, ...]}. */
  default String describe() {
    return switch (this) {
      case Exec e -> "exec " + e.command();
      case HttpGet h ->
          "httpGet "
              + h.scheme().toLowerCase(java.util.Locale.ROOT)
              + "://"
              + (h.host().isEmpty() ? "<pod IP>" : h.host())
              + ":"
              + h.port()
              + h.path();
      case Sleep s -> "sleep " + s.duration().toSeconds() + "s";
    };
  }
}
