package io.spawnlet.cri.activation;

/**
 * A pod's activation state.
 *
 * <pre>
 *   open ──► SLEEPING ──readable socket──► WAKING ──containers started──► RUNNING
 *               ▲                                                            │
 *               └──────── containers stopped ◄── STOPPING ◄── idle timeout ──┘
 *                                               (or every container exited 0)
 * </pre>
 *
 * The CRI sees RUNNING containers throughout; this is only in the verbose info and metrics.
 */
public enum ActivationState {
  SLEEPING,
  WAKING,
  RUNNING,
  STOPPING;

  public String label() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
