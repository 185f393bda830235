package io.spawnlet.agent.probe;

import java.time.Instant;
import java.util.Optional;

/**
 * One probe of one container instance: when it is due and what its thresholds make of the results,
 * the kubelet's way. The first run is {@code initialDelay} after the container started, then one
 * every {@code period}; the result turns to success after {@code successThreshold} consecutive
 * successes and to failure after {@code failureThreshold} consecutive failures.
 *
 * <p>Not thread-safe: the pod's worker owns it.
 */
public final class ProbeTracker {
  private final ProbePlan plan;
  private Instant next;
  private int successes;
  private int failures;
  private Optional<Boolean> result = Optional.empty();

  public ProbeTracker(ProbePlan plan, Instant containerStarted) {
    this.plan = plan;
    this.next = containerStarted.plus(plan.initialDelay());
  }

  public ProbePlan plan() {
    return plan;
  }

  public boolean due(Instant now) {
    return !now.isBefore(next);
  }

  /**
   * Records one run at {@code now}; returns the result once a threshold has been crossed (empty
   * while undecided), which stays until the opposite threshold is crossed.
   */
  public Optional<Boolean> record(boolean success, Instant now) {
    next = now.plus(plan.period());
    if (success) {
      successes++;
      failures = 0;
      if (successes >= plan.successThreshold()) {
        result = Optional.of(true);
      }
    } else {
      failures++;
      successes = 0;
      if (failures >= plan.failureThreshold()) {
        result = Optional.of(false);
      }
    }
    return result;
  }

  public Optional<Boolean> result() {
    return result;
  }

  public int consecutiveFailures() {
    return failures;
  }
}
