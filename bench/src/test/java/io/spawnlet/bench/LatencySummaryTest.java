package io.spawnlet.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

class LatencySummaryTest {

  @Test
  void nearestRankOfOneToHundredMilliseconds() {
    long[] nanos = LongStream.rangeClosed(1, 100).map(ms -> ms * 1_000_000).toArray();
    // shuffled input must not matter
    long[] reversed = LongStream.rangeClosed(1, 100).map(i -> nanos[100 - (int) i]).toArray();

    LatencySummary summary = LatencySummary.ofNanos(reversed);

    assertThat(summary.count()).isEqualTo(100);
    assertThat(summary.p50()).isEqualTo(50.0);
    assertThat(summary.p99()).isEqualTo(99.0);
    assertThat(summary.mean()).isEqualTo(50.5);
    assertThat(summary.min()).isEqualTo(1.0);
    assertThat(summary.max()).isEqualTo(100.0);
  }

  @Test
  void singleSampleIsEveryPercentile() {
    LatencySummary summary = LatencySummary.ofNanos(new long[] {2_500_000});

    assertThat(summary.p50()).isEqualTo(2.5);
    assertThat(summary.p99()).isEqualTo(2.5);
  }

  @Test
  void p99OfFewSamplesIsTheLargest() {
    assertThat(LatencySummary.nearestRank(new long[] {1, 2, 3}, 99)).isEqualTo(3);
    assertThat(LatencySummary.nearestRank(new long[] {1, 2, 3}, 50)).isEqualTo(2);
  }

  @Test
  void noSamplesIsAnError() {
    assertThatThrownBy(() -> LatencySummary.ofNanos(new long[0]))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("--pods");
  }
}
