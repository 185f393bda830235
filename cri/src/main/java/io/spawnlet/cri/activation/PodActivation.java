package io.spawnlet.cri.activation;

import io.spawnlet.cri.Rollback;
import io.spawnlet.cri.store.ContainerRecord;
import java.nio.file.Path;
import java.util.Optional;
import runtime.v1.ContainerConfig;
import runtime.v1.PodSandboxConfig;

/**
 * The points where socket activation joins the ordinary sandbox and container paths. Every method
 * is a no-op for pods that do not opt in ({@link #NONE} is the no-op everywhere), so the callers
 * stay unchanged for them. {@link SocketActivation} is the implementation.
 */
public interface PodActivation {
  PodActivation NONE = new PodActivation() {};

  /** RunPodSandbox validation: INVALID_ARGUMENT naming the bad annotation. */
  default void validate(PodSandboxConfig config) {}

  /**
   * RunPodSandbox, after CNI ADD: opens the pod's listening sockets in {@code netns} and starts
   * their holder; pushes the undo.
   */
  default void open(
      String sandboxId, PodSandboxConfig config, Path netns, String cgroupParent, Rollback undo) {}

  /** True for an activated pod: its containers are created in the runtime only when it wakes. */
  default boolean activated(String sandboxId) {
    return false;
  }

  /** CreateContainer: the container's config with {@code LISTEN_FDS} & co. added. */
  default ContainerConfig withListenEnv(String sandboxId, ContainerConfig config) {
    return config;
  }

  /** StartContainer recorded {@code c} as running: it runs now if its pod is awake. */
  default void started(ContainerRecord c) {}

  /** StopContainer/RemoveContainer: from now on the CRI owns {@code c}'s exits again. */
  default void releasing(ContainerRecord c) {}

  /**
   * An exit reported by conmon; true when activation takes it (a sleep, not a crash) and it must
   * not be recorded.
   */
  default boolean absorbsExit(String containerId, int exitCode) {
    return false;
  }

  /** Stop/Remove of the sandbox: closes the sockets and ends the holder. Idempotent. */
  default void close(String sandboxId) {}

  /** Daemon start, after the records are loaded: takes the sockets back from the holders. */
  default void recover() {}

  /** Recovery leaves {@code c} alone: activation has reconciled it. */
  default boolean recovered(ContainerRecord c) {
    return false;
  }

  /**
   * The pod's activation state for the verbose status info (key "activation" of "info"), if it is
   * activated.
   */
  default Optional<java.util.Map<String, Object>> info(String sandboxId) {
    return Optional.empty();
  }
}
