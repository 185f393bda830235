package io.spawnlet.agent.pod;

/** {@code spec.restartPolicy}: which exits of a container lead to a new attempt. */
public enum RestartPolicy {
  ALWAYS,
  ON_FAILURE,
  NEVER;

  static RestartPolicy parse(String value) {
    return switch (value == null ? "Always" : value) {
      case "Always" -> ALWAYS;
      case "OnFailure" -> ON_FAILURE;
      case "Never" -> NEVER;
      default ->
          throw new PodRefusedException(
              "spec.restartPolicy", "'" + value + "' is not Always, OnFailure or Never");
    };
  }

  /** Whether a container that exited with {@code exitCode} runs again. */
  public boolean restarts(int exitCode) {
    return switch (this) {
      case ALWAYS -> true;
      case ON_FAILURE -> exitCode != 0;
      case NEVER -> false;
    };
  }
}
