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

  /**
   * A sandbox's network and activation state: {@code ips} first the primary; {@code activation} is
   * {@code sleeping|waking|running} for a socket-activated pod, empty otherwise.
   */
  record SandboxStatus(List<String> ips, Optional<String> activation) {}

  /** The outcome of a command run to its end in a container. */
  record ExecResult(int exitCode, String stdout, String stderr) {}

  /** A container as the runtime reports it; {@code exitCode} is meaningful once EXITED. */
  record ContainerView(
      String id,
      String name,
      int attempt,
      State state,
      int exitCode,
      long createdAtNanos,
      long startedAtNanos,
      long finishedAtNanos,
      String reason,
      String message,
      String image,
      String imageRef,
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

  /** The pod's IPs (none with host networking) and activation state. */
  SandboxStatus sandboxStatus(String sandboxId);

  /** The pod's primary IP, if it has its own network. */
  default Optional<String> sandboxIp(String sandboxId) {
    return sandboxStatus(sandboxId).ips().stream().findFirst();
  }

  /** The runtime's name and version, e.g. {@code spawnlet 0.1.0}. */
  String runtimeVersion();

  /** What keeps the runtime from running pods (its RuntimeReady/NetworkReady conditions). */
  List<String> runtimeProblems();

  /** Runs {@code command} in the running container, killed after {@code timeout}. */
  ExecResult execSync(String containerId, List<String> command, Duration timeout);

  void stopSandbox(String sandboxId);

  void removeSandbox(String sandboxId);

  /**
   * Makes the image available per its pull policy; throws naming the image and what to do when it
   * is absent and cannot be pulled.
   */
  void ensureImage(String image, PullPolicy policy, List<RegistryCredential> credentials);

  /**
   * Registry credentials from a pod's imagePullSecrets ({@code auth} is base64 user:password);
   * {@code registry} is a host[:port], as in a docker config's keys.
   */
  record RegistryCredential(String registry, String username, String password, String auth) {

    /** The credential for {@code image}'s registry host, as docker and the kubelet match. */
    public static Optional<RegistryCredential> forImage(
        String image, List<RegistryCredential> credentials) {
      String host = registryHost(image);
      return credentials.stream()
          .filter(
              c ->
                  registryHost(c.registry() + "/x").equals(host)
                      || normalized(c.registry()).equals(host))
          .findFirst();
    }

    /** The registry host of an image reference; docker.io when the reference has none. */
    static String registryHost(String image) {
      String ref = image.replaceFirst("^[a-z]+://", "");
      int slash = ref.indexOf('/');
      if (slash < 0) {
        return "docker.io";
      }
      String first = ref.substring(0, slash);
      boolean host = first.contains(".") || first.contains(":") || first.equals("localhost");
      return host ? normalized(first) : "docker.io";
    }

    private static String normalized(String registry) {
      String r = registry.replaceFirst("^[a-z]+://", "");
      int slash = r.indexOf('/');
      r = slash < 0 ? r : r.substring(0, slash);
      return r.equals("index.docker.io") || r.equals("registry-1.docker.io") ? "docker.io" : r;
    }
  }

  /** The ids of every image the runtime holds (for a node's cleanup when it is released). */
  List<String> imageIds();

  /** Removes an image; one already gone is not an error. */
  void removeImage(String imageId);

  /** Every container of the sandbox, each with its current status. */
  List<ContainerView> containers(String sandboxId);

  String createContainer(
      String sandboxId, SandboxPlan sandbox, ContainerPlan container, int attempt);

  void startContainer(String containerId);

  void stopContainer(String containerId, Duration grace);

  void removeContainer(String containerId);
}
