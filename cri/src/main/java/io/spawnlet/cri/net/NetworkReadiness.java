package io.spawnlet.cri.net;

/**
 * The CRI {@code NetworkReady} condition: ready, or not with a machine-readable reason and a
 * message that says what is wrong and what to do.
 */
public record NetworkReadiness(boolean ready, String reason, String message) {
  /** Reason used by containerd and CRI-O for the same condition; kubelet shows it as is. */
  public static final String NOT_READY_REASON = "NetworkPluginNotReady";

  public static NetworkReadiness isReady() {
    return new NetworkReadiness(true, "", "");
  }

  public static NetworkReadiness notReady(String message) {
    return new NetworkReadiness(false, NOT_READY_REASON, message);
  }
}
