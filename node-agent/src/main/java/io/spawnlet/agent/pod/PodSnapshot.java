package io.spawnlet.agent.pod;

import io.spawnlet.agent.pod.PodRuntime.ContainerView;
import java.util.List;
import java.util.Optional;

/**
 * What a {@link PodWorker} knows of its pod after a sync, for status reporting: phase, IPs, whether
 * init containers are done, each container's current and previous instance.
 *
 * @param problem why the pod failed or cannot start (reason and message), if it did
 * @param awake for a socket-activated pod, whether its containers run (false: sleeping)
 */
public record PodSnapshot(
    Phase phase,
    Optional<Problem> problem,
    boolean sandboxReady,
    List<String> podIps,
    boolean initialized,
    Optional<Boolean> awake,
    List<ContainerSnapshot> initContainers,
    List<ContainerSnapshot> containers) {

  public enum Phase {
    PENDING,
    RUNNING,
    SUCCEEDED,
    FAILED
  }

  public record Problem(String reason, String message) {}

  /**
   * One container: its newest instance, the one before (for lastState), restarts so far, and
   * whether it is started (startup probe passed) and ready (readiness probe passed).
   *
   * @param waiting why no instance runs now (ContainerCreating, CrashLoopBackOff, ...)
   */
  public record ContainerSnapshot(
      String name,
      String image,
      Optional<ContainerView> current,
      Optional<ContainerView> previous,
      int restartCount,
      boolean started,
      boolean ready,
      Optional<Problem> waiting) {}
}
