package io.spawnlet.agent.pod;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Lifecycle;
import io.fabric8.kubernetes.api.model.LifecycleHandler;
import io.spawnlet.agent.probe.LifecycleHandler.Exec;
import io.spawnlet.agent.probe.LifecycleHandler.HttpGet;
import io.spawnlet.agent.probe.LifecycleHandler.Sleep;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/** A manifest's {@code lifecycle.postStart} / {@code preStop} → the hook the agent runs. */
final class LifecyclePlans {
  private LifecyclePlans() {}

  static Optional<io.spawnlet.agent.probe.LifecycleHandler> postStart(Container c, String field) {
    Lifecycle l = c.getLifecycle();
    return l == null ? Optional.empty() : of(l.getPostStart(), c, field + ".lifecycle.postStart");
  }

  static Optional<io.spawnlet.agent.probe.LifecycleHandler> preStop(Container c, String field) {
    Lifecycle l = c.getLifecycle();
    return l == null ? Optional.empty() : of(l.getPreStop(), c, field + ".lifecycle.preStop");
  }

  private static Optional<io.spawnlet.agent.probe.LifecycleHandler> of(
      LifecycleHandler h, Container c, String field) {
    if (h == null) {
      return Optional.empty();
    }
    if (h.getExec() != null) {
      List<String> cmd = Objects.requireNonNullElse(h.getExec().getCommand(), List.of());
      if (cmd.isEmpty()) {
        throw new PodRefusedException(field + ".exec.command", "missing");
      }
      return Optional.of(new Exec(cmd));
    }
    if (h.getHttpGet() != null) {
      var g = h.getHttpGet();
      Map<String, String> headers = new LinkedHashMap<>();
      if (g.getHttpHeaders() != null) {
        g.getHttpHeaders().forEach(x -> headers.put(x.getName(), x.getValue()));
      }
      return Optional.of(
          new HttpGet(
              Objects.requireNonNullElse(g.getScheme(), "HTTP"),
              Objects.requireNonNullElse(g.getHost(), ""),
              ProbePlans.port(g.getPort(), c, field + ".httpGet.port"),
              Objects.requireNonNullElse(g.getPath(), "/"),
              headers));
    }
    if (h.getSleep() != null) {
      Long seconds = h.getSleep().getSeconds();
      if (seconds == null || seconds < 0) {
        throw new PodRefusedException(field + ".sleep.seconds", "missing or negative");
      }
      return Optional.of(new Sleep(Duration.ofSeconds(seconds)));
    }
    if (h.getTcpSocket() != null) {
      throw new PodRefusedException(
          field + ".tcpSocket",
          "deprecated and never run by the kubelet; use exec, httpGet or sleep");
    }
    throw new PodRefusedException(field, "needs exec, httpGet or sleep");
  }
}
