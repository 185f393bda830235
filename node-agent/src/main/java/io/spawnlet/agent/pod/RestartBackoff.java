package io.spawnlet.agent.pod;

import java.time.Duration;
import java.time.Instant;

/**
 * The kubelet's crash-loop back-off for one container: the first restart is immediate, then 10 s,
 * doubling to at most 5 min; a container that ran 10 min without exiting starts over.
 */
final class RestartBackoff {
  static final Duration INITIAL = Duration.ofSeconds(10);
  static final Duration MAX = Duration.ofMinutes(5);
  static final Duration RESET_AFTER = MAX.multipliedBy(2);

  private int restarts;
  private Instant lastRestart = Instant.MIN;
  private Instant notBefore = Instant.MIN;

  /** Called once per exit of the container, which ended at {@code finishedAt}. */
  void exited(Instant finishedAt) {
    if (lastRestart.isAfter(Instant.MIN)
        && Duration.between(lastRestart, finishedAt).compareTo(RESET_AFTER) >= 0) {
      restarts = 0;
    }
    notBefore = finishedAt.plus(delay(restarts));
  }

  /** Whether a restart may happen at {@code now}; records it if so. */
  boolean tryRestart(Instant now) {
    if (now.isBefore(notBefore)) {
      return false;
    }
    restarts++;
    lastRestart = now;
    notBefore = Instant.MAX;
    return true;
  }

  Instant notBefore() {
    return notBefore;
  }

  Duration currentDelay() {
    return delay(restarts);
  }

  /** Delay before the restart that follows {@code restartsSoFar} earlier ones. */
  static Duration delay(int restartsSoFar) {
    if (restartsSoFar == 0) {
      return Duration.ZERO;
    }
    Duration d = INITIAL;
    for (int i = 1; i < restartsSoFar && d.compareTo(MAX) < 0; i++) {
      d = d.multipliedBy(2);
    }
    return d.compareTo(MAX) > 0 ? MAX : d;
  }
}
