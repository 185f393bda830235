package io.spawnlet.bench;

import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One runtime's results: what was measured against what, and each operation's latencies.
 *
 * @param label the name given on the command line (e.g. "containerd", "spawnlet")
 * @param runtimeName the name the runtime reports through the CRI Version call
 * @param runtimeVersion its version, as reported
 * @param measuredSeconds the time spent in the measured calls (warm-up and checks excluded)
 * @param samples per operation, the measured pods' latencies in nanoseconds, in pod order
 */
public record BenchReport(
    String label,
    String socket,
    String runtimeName,
    String runtimeVersion,
    String runtimeHandler,
    String image,
    int pods,
    int warmup,
    Instant startedAt,
    double measuredSeconds,
    Map<Operation, long[]> samples) {

  public LatencySummary summary(Operation operation) {
    return LatencySummary.ofNanos(samples.get(operation));
  }

  /** A table for the terminal. */
  public String toText() {
    StringBuilder text = new StringBuilder();
    text.append(
        String.format(
            Locale.ROOT,
            "%s (%s %s): %d pods (+%d warm-up), measured calls took %.1f s%n",
            label,
            runtimeName,
            runtimeVersion,
            pods,
            warmup,
            measuredSeconds));
    text.append(
        String.format(
            Locale.ROOT,
            "  %-34s %9s %9s %9s %9s %9s%n",
            "operation",
            "p50 ms",
            "p99 ms",
            "mean ms",
            "min ms",
            "max ms"));
    for (Operation operation : Operation.values()) {
      LatencySummary s = summary(operation);
      text.append(
          String.format(
              Locale.ROOT,
              "  %-34s %9.2f %9.2f %9.2f %9.2f %9.2f%n",
              operation.label(),
              s.p50(),
              s.p99(),
              s.mean(),
              s.min(),
              s.max()));
    }
    return text.toString();
  }

  /** The machine-readable report that bench/cri-latency.sh turns into docs/BENCHMARKS.md. */
  public String toJson() {
    StringBuilder json = new StringBuilder("{\n");
    field(json, "label", label);
    field(json, "socket", socket);
    field(json, "runtime_name", runtimeName);
    field(json, "runtime_version", runtimeVersion);
    field(json, "runtime_handler", runtimeHandler);
    field(json, "image", image);
    json.append("  \"pods\": ").append(pods).append(",\n");
    json.append("  \"warmup\": ").append(warmup).append(",\n");
    field(json, "started_at", startedAt.toString());
    json.append("  \"measured_s\": ").append(number(measuredSeconds)).append(",\n");
    json.append("  \"operations\": {\n");
    List<Operation> operations = List.of(Operation.values());
    for (Operation operation : operations) {
      LatencySummary s = summary(operation);
      json.append("    ").append(quote(operation.label())).append(": {");
      json.append("\"count\": ").append(s.count());
      json.append(", \"p50_ms\": ").append(number(s.p50()));
      json.append(", \"p99_ms\": ").append(number(s.p99()));
      json.append(", \"mean_ms\": ").append(number(s.mean()));
      json.append(", \"min_ms\": ").append(number(s.min()));
      json.append(", \"max_ms\": ").append(number(s.max()));
      json.append(", \"samples_ms\": [");
      long[] nanos = samples.get(operation);
      for (int i = 0; i < nanos.length; i++) {
        json.append(i == 0 ? "" : ", ").append(number(nanos[i] / 1e6));
      }
      json.append("]}");
      json.append(operation == operations.getLast() ? "\n" : ",\n");
    }
    json.append("  }\n}\n");
    return json.toString();
  }

  private static void field(StringBuilder json, String name, String value) {
    json.append("  ").append(quote(name)).append(": ").append(quote(value)).append(",\n");
  }

  private static String number(double value) {
    return String.format(Locale.ROOT, "%.3f", value);
  }

  static String quote(String value) {
    StringBuilder quoted = new StringBuilder("\"");
    for (char c : value.toCharArray()) {
      switch (c) {
        case '"' -> quoted.append("\\\"");
        case '\\' -> quoted.append("\\\\");
        case '\n' -> quoted.append("\\n");
        case '\r' -> quoted.append("\\r");
        case '\t' -> quoted.append("\\t");
        default -> {
          if (c < 0x20) {
            quoted.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
          } else {
            quoted.append(c);
          }
        }
      }
    }
    return quoted.append('"').toString();
  }
}
