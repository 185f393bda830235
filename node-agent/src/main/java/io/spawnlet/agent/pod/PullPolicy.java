package io.spawnlet.agent.pod;

/** {@code imagePullPolicy}, with the Kubernetes default (Always for ":latest" or no tag). */
public enum PullPolicy {
  ALWAYS,
  IF_NOT_PRESENT,
  NEVER;

  static PullPolicy parse(String value, String image, String field) {
    if (value == null || value.isEmpty()) {
      return latestOrUntagged(image) ? ALWAYS : IF_NOT_PRESENT;
    }
    return switch (value) {
      case "Always" -> ALWAYS;
      case "IfNotPresent" -> IF_NOT_PRESENT;
      case "Never" -> NEVER;
      default ->
          throw new PodRefusedException(
              field, "'" + value + "' is not Always, IfNotPresent or Never");
    };
  }

  private static boolean latestOrUntagged(String image) {
    if (image.contains("@")) {
      return false;
    }
    int slash = image.lastIndexOf('/');
    int colon = image.lastIndexOf(':');
    return colon <= slash || image.endsWith(":latest");
  }
}
