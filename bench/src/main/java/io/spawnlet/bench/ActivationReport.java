package io.spawnlet.bench;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What the activation benchmark measured: latency series by name (nanoseconds, in sample order) and
 * the memory of sleeping pods; rendered as JSON (raw samples) and as the markdown tables of
 * docs/BENCHMARKS.md, with the ratios the targets are stated in.
 */
final class ActivationReport {
  static final double COLD_RATIO_TARGET = 1.2;
  static final double READY_MARGIN_MS = 50;
  static final double AWAKE_RATIO_TARGET = 1.05;
  static final long MEMORY_TARGET_KIB = 256;

  private final Instant startedAt;
  private final int samples;
  private final int warmup;
  private final Map<String, long[]> series = new LinkedHashMap<>();
  private long socketActivatePssKib;
  private int sleepingPods;
  private long[] holderPssKib = new long[0];
  private long daemonPssBeforeKib;
  private long daemonPssAfterKib;

  ActivationReport(Instant startedAt, int samples, int warmup) {
    this.startedAt = startedAt;
    this.samples = samples;
    this.warmup = warmup;
  }

  void series(String name, List<Long> nanos) {
    series.put(name, nanos.stream().mapToLong(Long::longValue).toArray());
  }

  void socketActivatePssKib(long kib) {
    socketActivatePssKib = kib;
  }

  void memory(int pods, List<Long> holders, long daemonBeforeKib, long daemonAfterKib) {
    sleepingPods = pods;
    holderPssKib = holders.stream().mapToLong(Long::longValue).toArray();
    daemonPssBeforeKib = daemonBeforeKib;
    daemonPssAfterKib = daemonAfterKib;
  }

  LatencySummary summary(String name) {
    return LatencySummary.ofNanos(series.get(name));
  }

  /** The daemon's PSS growth divided among the sleeping pods (never below 0). */
  double daemonShareKib() {
    return sleepingPods == 0
        ? 0
        : Math.max(0, daemonPssAfterKib - daemonPssBeforeKib) / (double) sleepingPods;
  }

  double holderMeanKib() {
    long sum = 0;
    for (long k : holderPssKib) {
      sum += k;
    }
    return holderPssKib.length == 0 ? 0 : sum / (double) holderPssKib.length;
  }

  String toMarkdown() {
    StringBuilder md = new StringBuilder();
    md.append("| ms | samples | p50 | p99 | min | max |\n|---|---:|---:|---:|---:|---:|\n");
    series.forEach(
        (name, nanos) -> {
          LatencySummary s = LatencySummary.ofNanos(nanos);
          md.append(
              String.format(
                  Locale.ROOT,
                  "| %s | %d | %.1f | %.1f | %.1f | %.1f |%n",
                  name,
                  s.count(),
                  s.p50(),
                  s.p99(),
                  s.min(),
                  s.max()));
        });
    md.append("\n| target | measured | met |\n|---|---|---|\n");
    LatencySummary cold = summary(ActivationBench.COLD_SPAWNLET);
    LatencySummary coldRef = summary(ActivationBench.COLD_NSPAWN);
    target(
        md,
        "cold wake ≤ " + COLD_RATIO_TARGET + "× systemd's (p50)",
        ratio(cold.p50(), coldRef.p50()) + "×",
        cold.p50() <= COLD_RATIO_TARGET * coldRef.p50());
    target(
        md,
        "cold wake ≤ " + COLD_RATIO_TARGET + "× systemd's (p99)",
        ratio(cold.p99(), coldRef.p99()) + "×",
        cold.p99() <= COLD_RATIO_TARGET * coldRef.p99());
    LatencySummary ready = summary(ActivationBench.READY_PLAIN);
    target(
        md,
        "cold wake p50 ≤ boot-to-READY p50 + " + (int) READY_MARGIN_MS + " ms",
        String.format(
            Locale.ROOT, "%.1f vs %.1f + %.0f ms", cold.p50(), ready.p50(), READY_MARGIN_MS),
        cold.p50() <= ready.p50() + READY_MARGIN_MS);
    LatencySummary awake = summary(ActivationBench.AWAKE_SPAWNLET);
    LatencySummary plain = summary(ActivationBench.AWAKE_PLAIN);
    LatencySummary awakeRef = summary(ActivationBench.AWAKE_NSPAWN);
    target(
        md,
        "awake (socket-activated) within 5% of the plain pod (p50)",
        ratio(awake.p50(), plain.p50())
            + "× (vs nspawn: "
            + ratio(awake.p50(), awakeRef.p50())
            + "×)",
        awake.p50() <= AWAKE_RATIO_TARGET * plain.p50());
    double perPod = holderMeanKib() + daemonShareKib();
    target(
        md,
        "host memory per sleeping pod ≤ " + MEMORY_TARGET_KIB + " KiB (" + sleepingPods + " pods)",
        String.format(
            Locale.ROOT,
            "%.0f KiB = holder PSS %.0f (max %d) + daemon share %.0f",
            perPod,
            holderMeanKib(),
            max(holderPssKib),
            daemonShareKib()),
        perPod <= MEMORY_TARGET_KIB);
    md.append(
        String.format(
            Locale.ROOT,
            "%nMemory: spawnlet daemon PSS %.1f MiB before the %d sleeping pods, %.1f MiB with them;"
                + " reference: one listening `systemd-socket-activate` (systemd's holder) has PSS"
                + " %d KiB.%n",
            daemonPssBeforeKib / 1024.0,
            sleepingPods,
            daemonPssAfterKib / 1024.0,
            socketActivatePssKib));
    return md.toString();
  }

  String toJson() {
    StringBuilder json = new StringBuilder("{\n");
    json.append("  \"started_at\": ").append(BenchReport.quote(startedAt.toString())).append(",\n");
    json.append("  \"samples\": ").append(samples).append(",\n");
    json.append("  \"warmup\": ").append(warmup).append(",\n");
    json.append("  \"series_ms\": {\n");
    int n = 0;
    for (Map.Entry<String, long[]> e : series.entrySet()) {
      json.append("    ").append(BenchReport.quote(e.getKey())).append(": [");
      long[] nanos = e.getValue();
      for (int i = 0; i < nanos.length; i++) {
        json.append(i == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.3f", nanos[i] / 1e6));
      }
      json.append(++n == series.size() ? "]\n" : "],\n");
    }
    json.append("  },\n");
    json.append("  \"sleeping_pods\": ").append(sleepingPods).append(",\n");
    json.append("  \"holder_pss_kib\": ")
        .append(java.util.Arrays.toString(holderPssKib))
        .append(",\n");
    json.append("  \"daemon_pss_before_kib\": ").append(daemonPssBeforeKib).append(",\n");
    json.append("  \"daemon_pss_after_kib\": ").append(daemonPssAfterKib).append(",\n");
    json.append("  \"socket_activate_pss_kib\": ").append(socketActivatePssKib).append("\n}\n");
    return json.toString();
  }

  private static void target(StringBuilder md, String what, String measured, boolean met) {
    md.append("| ").append(what).append(" | ").append(measured).append(" | ");
    md.append(met ? "yes" : "**no**").append(" |\n");
  }

  private static String ratio(double a, double b) {
    return String.format(Locale.ROOT, "%.2f", a / b);
  }

  private static long max(long[] values) {
    long m = 0;
    for (long v : values) {
      m = Math.max(m, v);
    }
    return m;
  }
}
