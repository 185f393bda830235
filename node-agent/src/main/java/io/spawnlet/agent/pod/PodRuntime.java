package io.spawnlet.agent.pod;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The seam between the agent and the thing that runs pods (spawnlet's CRI daemon through {@code
 * CriPodRuntime}). Calls block; failures are {@link PodRuntimeException}s. Stop and remove calls
 * are idempotent: an id that is already gone is not an error.
 */
public interface PodRuntime {

  /** A sandbox as the runtime reports it. */
  record SandboxView(
      String id,
      Map<String, String> labels,
      Map<String, String> annotations,
      boolean ready,
      long createdAtNanos) {}

  /** A container as the runtime reports it; {@code exitCode} is meaningful once EXITED. */
  record ContainerView(
      String id,
      String name,
      int attempt,
      State state,
      int exitCode,
      long finishedAtNanos,
      String reason,
      String logPath) {
    public enum State {
      CREATED,
      RUNNING,
      EXITED,
      UNKNOWN
    }
  }

  /** Sandboxes (ready or not) carrying all of {@code labels}. */
  List<SandboxView> sandboxes(Map<String, String> labels);

  /** Creates and starts the sandbox; returns its id. */
  String runSandbox(SandboxPlan sandbox);

  /** The pod's IP, if it has its own network. */
  Optional<String> sandboxIp(String sandboxId);

  void stopSandbox(String sandboxId);

  void removeSandbox(String sandboxId);

  /**
   * Makes the image available per its pull policy; throws naming the image and what to do when it
   * is absent and cannot be pulled.
   */
  void ensureImage(String image, PullPolicy policy);

  /** Every container of the sandbox, each with its current status. */
  List<ContainerView> containers(String sandboxId);

  String createContainer(
      String sandboxId, SandboxPlan sandbox, ContainerPlan container, int attempt);

  void startContainer(String containerId);

  void stopContainer(String containerId, Duration grace);

  void removeContainer(String containerId);
}
