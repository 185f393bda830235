package io.spawnlet.bench;

import java.util.Arrays;

/**
 * Latency statistics of one operation over the measured pods, in milliseconds. Percentiles use the
 * nearest-rank method (no interpolation), so p99 of 100 samples is the second largest one.
 */
public record LatencySummary(
    int count, double p50, double p99, double mean, double min, double max) {

  /** Summarises samples given in nanoseconds; there must be at least one. */
  public static LatencySummary ofNanos(long[] nanos) {
    if (nanos.length == 0) {
      throw new IllegalArgumentException("no samples: measure at least one pod (--pods >= 1)");
    }
    long[] sorted = nanos.clone();
    Arrays.sort(sorted);
    double sum = 0;
    for (long sample : sorted) {
      sum += sample;
    }
    return new LatencySummary(
        sorted.length,
        millis(nearestRank(sorted, 50)),
        millis(nearestRank(sorted, 99)),
        sum / sorted.length / 1e6,
        millis(sorted[0]),
        millis(sorted[sorted.length - 1]));
  }

  static long nearestRank(long[] sorted, int percentile) {
    int rank = (int) Math.ceil(percentile / 100.0 * sorted.length);
    return sorted[Math.max(rank, 1) - 1];
  }

  private static double millis(long nanos) {
    return nanos / 1e6;
  }
}
