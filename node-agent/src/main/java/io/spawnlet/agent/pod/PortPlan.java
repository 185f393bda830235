package io.spawnlet.agent.pod;

/** One container port of a pod; {@code hostPort} 0 means "not published on the host". */
public record PortPlan(String protocol, int containerPort, int hostPort, String hostIp) {
  /** "8080/tcp", or "8080/tcp (host 0.0.0.0:18080)" when published. */
  public String describe() {
    String base = containerPort + "/" + protocol.toLowerCase(java.util.Locale.ROOT);
    if (hostPort == 0) {
      return base;
    }
    return base + " (host " + (hostIp.isEmpty() ? "" : hostIp + ":") + hostPort + ")";
  }
}
