package io.spawnlet.agent.pod;

/**
 * Told by a {@link PodWorker} what happens to its pod: the apiserver's pod source turns this into
 * status patches and Events; static pods without an apiserver {@link #IGNORE} it (the worker logs).
 * Called on the worker's thread; must not block for long.
 */
public interface PodObserver {

  /** After every sync; the observer decides whether anything changed. */
  void synced(PodSnapshot snapshot);

  /** A Kubernetes Event about the pod: {@code warning} or normal, a CamelCase reason, a message. */
  void event(boolean warning, String reason, String message);

  PodObserver IGNORE =
      new PodObserver() {
        @Override
        public void synced(PodSnapshot snapshot) {}

        @Override
        public void event(boolean warning, String reason, String message) {}
      };
}
