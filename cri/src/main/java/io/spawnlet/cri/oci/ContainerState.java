package io.spawnlet.cri.oci;

/**
 * The runtime's view of a container ({@code runtime state}). {@code pid} is 0 when no process is
 * left.
 */
public record ContainerState(Status status, int pid) {
  public enum Status {
    CREATED,
    RUNNING,
    PAUSED,
    STOPPED
  }

  static Status parseStatus(String runtimeStatus) {
    return switch (runtimeStatus) {
      case "created", "creating" -> Status.CREATED;
      case "running" -> Status.RUNNING;
      case "paused", "pausing" -> Status.PAUSED;
      default -> Status.STOPPED;
    };
  }
}
