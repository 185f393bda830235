package io.spawnlet.agent.pod;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Everything the runtime needs to create a pod's sandbox, worked out from the manifest by {@link
 * PodPlanner}. Runtime-neutral: {@code CriPodRuntime} turns it into a {@code PodSandboxConfig}.
 */
public record SandboxPlan(
    String name,
    String namespace,
    String uid,
    String hostname,
    Path logDirectory,
    Map<String, String> labels,
    Map<String, String> annotations,
    List<PortPlan> ports,
    String runtimeHandler,
    boolean hostNetwork,
    boolean hostPid,
    boolean hostIpc,
    boolean shareProcessNamespace,
    boolean privileged,
    Map<String, String> sysctls,
    Duration terminationGrace) {

  /** "namespace/name", the key the agent knows a pod by. */
  public String key() {
    return namespace + "/" + name;
  }
}
