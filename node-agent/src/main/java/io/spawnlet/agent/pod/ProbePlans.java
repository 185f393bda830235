package io.spawnlet.agent.pod;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Probe;
import io.spawnlet.agent.probe.ProbePlan;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/** A manifest's probe → {@link ProbePlan}, with Kubernetes' defaults and named ports resolved. */
final class ProbePlans {
  private ProbePlans() {}

  static Optional<ProbePlan> of(Probe p, Container c, String field) {
    if (p == null) {
      return Optional.empty();
    }
    ProbePlan.Action action;
    if (p.getExec() != null) {
      List<String> cmd = Objects.requireNonNullElse(p.getExec().getCommand(), List.of());
      if (cmd.isEmpty()) {
        throw new PodRefusedException(field + ".exec.command", "missing");
      }
      action = new ProbePlan.Exec(cmd);
    } else if (p.getHttpGet() != null) {
      var h = p.getHttpGet();
      Map<String, String> headers = new LinkedHashMap<>();
      if (h.getHttpHeaders() != null) {
        h.getHttpHeaders().forEach(x -> headers.put(x.getName(), x.getValue()));
      }
      action =
          new ProbePlan.HttpGet(
              Objects.requireNonNullElse(h.getScheme(), "HTTP"),
              Objects.requireNonNullElse(h.getHost(), ""),
              port(h.getPort(), c, field + ".httpGet.port"),
              Objects.requireNonNullElse(h.getPath(), "/"),
              headers);
    } else if (p.getTcpSocket() != null) {
      action =
          new ProbePlan.TcpSocket(
              Objects.requireNonNullElse(p.getTcpSocket().getHost(), ""),
              port(p.getTcpSocket().getPort(), c, field + ".tcpSocket.port"));
    } else if (p.getGrpc() != null) {
      if (p.getGrpc().getPort() == null) {
        throw new PodRefusedException(field + ".grpc.port", "missing");
      }
      action =
          new ProbePlan.Grpc(
              p.getGrpc().getPort(), Objects.requireNonNullElse(p.getGrpc().getService(), ""));
    } else {
      throw new PodRefusedException(field, "needs exec, httpGet, tcpSocket or grpc");
    }
    return Optional.of(
        new ProbePlan(
            action,
            Duration.ofSeconds(positive(p.getInitialDelaySeconds(), 0)),
            Duration.ofSeconds(positive(p.getPeriodSeconds(), 10)),
            Duration.ofSeconds(positive(p.getTimeoutSeconds(), 1)),
            positive(p.getSuccessThreshold(), 1),
            positive(p.getFailureThreshold(), 3)));
  }

  private static int positive(Integer value, int dflt) {
    return value == null || value <= 0 ? dflt : value;
  }

  static int port(IntOrString port, Container c, String field) {
    if (port == null) {
      throw new PodRefusedException(field, "missing");
    }
    if (port.getIntVal() != null) {
      return port.getIntVal();
    }
    String name = port.getStrVal();
    return Objects.requireNonNullElse(c.getPorts(), List.<ContainerPort>of()).stream()
        .filter(p -> name.equals(p.getName()))
        .map(ContainerPort::getContainerPort)
        .findFirst()
        .orElseThrow(
            () -> new PodRefusedException(field, "no container port named '" + name + "'"));
  }
}
