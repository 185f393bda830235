package io.spawnlet.agent.probe;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ProbeTrackerTest {
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  private static ProbePlan plan(int initialDelay, int success, int failure) {
    return new ProbePlan(
        new ProbePlan.Exec(List.of("true")),
        Duration.ofSeconds(initialDelay),
        Duration.ofSeconds(10),
        Duration.ofSeconds(1),
        success,
        failure);
  }

  @Test
  void firstRunAfterTheInitialDelayThenEveryPeriod() {
    ProbeTracker t = new ProbeTracker(plan(5, 1, 3), T0);
    assertThat(t.due(T0.plusSeconds(4))).isFalse();
    assertThat(t.due(T0.plusSeconds(5))).isTrue();
    t.record(true, T0.plusSeconds(5));
    assertThat(t.due(T0.plusSeconds(14))).isFalse();
    assertThat(t.due(T0.plusSeconds(15))).isTrue();
  }

  @Test
  void failsOnlyAfterFailureThresholdConsecutiveFailures() {
    ProbeTracker t = new ProbeTracker(plan(0, 1, 3), T0);
    assertThat(t.record(true, T0)).contains(true);
    assertThat(t.record(false, T0)).contains(true);
    assertThat(t.record(false, T0)).contains(true);
    assertThat(t.record(true, T0)).contains(true); // a success resets the count
    t.record(false, T0);
    t.record(false, T0);
    assertThat(t.record(false, T0)).contains(false);
  }

  @Test
  void succeedsOnlyAfterSuccessThresholdConsecutiveSuccesses() {
    ProbeTracker t = new ProbeTracker(plan(0, 2, 1), T0);
    assertThat(t.record(true, T0)).isEqualTo(Optional.empty());
    assertThat(t.record(true, T0)).contains(true);
    assertThat(t.record(false, T0)).contains(false);
    assertThat(t.record(true, T0)).contains(false);
    assertThat(t.record(true, T0)).contains(true);
  }
}
