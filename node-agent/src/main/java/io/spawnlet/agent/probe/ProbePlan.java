package io.spawnlet.agent.probe;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * One probe of a container as the manifest gives it, with Kubernetes' defaults filled in (period 10
 * s, timeout 1 s, success threshold 1, failure threshold 3).
 *
 * @param action what to run: exec, an HTTP GET, a TCP connect or a gRPC health check
 * @param initialDelay from the container's start to the first probe
 */
public record ProbePlan(
    Action action,
    Duration initialDelay,
    Duration period,
    Duration timeout,
    int successThreshold,
    int failureThreshold) {

  /** What a probe does; a host of "" means the pod's IP. */
  public sealed interface Action {}

  public record Exec(List<String> command) implements Action {}

  public record HttpGet(
      String scheme, String host, int port, String path, Map<String, String> headers)
      implements Action {}

  public record TcpSocket(String host, int port) implements Action {}

  public record Grpc(int port, String service) implements Action {}
}
