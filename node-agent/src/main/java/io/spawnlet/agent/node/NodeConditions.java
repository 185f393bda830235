package io.spawnlet.agent.node;

import io.fabric8.kubernetes.api.model.NodeCondition;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The node's conditions from what the host and runtime say now, with the kubelet's default eviction
 * thresholds: memory.available &lt; 100Mi, nodefs.available &lt; 10%, and (spawnlet's choice, the
 * kubelet has none by default) fewer than 5% of pid_max free.
 */
final class NodeConditions {
  static final long MEMORY_THRESHOLD = 100L * 1024 * 1024;

  private NodeConditions() {}

  /**
   * @param previous the conditions last written, so lastTransitionTime stays until a status flips
   */
  static List<NodeCondition> of(
      HostFacts host,
      List<String> runtimeProblems,
      Map<String, NodeCondition> previous,
      Instant now) {
    List<NodeCondition> out = new ArrayList<>();
    boolean memory = host.memoryAvailableBytes() < MEMORY_THRESHOLD;
    out.add(
        condition(
            "MemoryPressure",
            memory,
            memory ? "KubeletHasInsufficientMemory" : "KubeletHasSufficientMemory",
            memory
                ? "node has memory pressure: "
                    + host.memoryAvailableBytes() / (1024 * 1024)
                    + "Mi available"
                : "kubelet has sufficient memory available",
            previous,
            now));
    boolean disk = host.diskAvailableBytes() * 10 < host.diskBytes();
    out.add(
        condition(
            "DiskPressure",
            disk,
            disk ? "KubeletHasDiskPressure" : "KubeletHasNoDiskPressure",
            disk ? "node has disk pressure: less than 10% free" : "kubelet has no disk pressure",
            previous,
            now));
    boolean pids = (host.pidMax() - host.threads()) * 20 < host.pidMax();
    out.add(
        condition(
            "PIDPressure",
            pids,
            pids ? "KubeletHasInsufficientPID" : "KubeletHasSufficientPID",
            pids ? "node has PID pressure" : "kubelet has sufficient PID available",
            previous,
            now));
    boolean ready = runtimeProblems.isEmpty();
    out.add(
        condition(
            "Ready",
            ready,
            ready ? "KubeletReady" : "KubeletNotReady",
            ready ? "spawnlet is posting ready status" : String.join("; ", runtimeProblems),
            previous,
            now));
    return out;
  }

  private static NodeCondition condition(
      String type,
      boolean status,
      String reason,
      String message,
      Map<String, NodeCondition> previous,
      Instant now) {
    String s = status ? "True" : "False";
    NodeCondition before = previous.get(type);
    String transition =
        before != null && s.equals(before.getStatus()) && before.getLastTransitionTime() != null
            ? before.getLastTransitionTime()
            : Times.seconds(now);
    return new NodeCondition(Times.seconds(now), transition, message, reason, s, type);
  }
}
