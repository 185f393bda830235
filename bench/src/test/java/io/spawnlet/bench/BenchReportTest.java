package io.spawnlet.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.EnumMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BenchReportTest {

  private static BenchReport report() {
    Map<Operation, long[]> samples = new EnumMap<>(Operation.class);
    long base = 1_000_000;
    for (Operation operation : Operation.values()) {
      samples.put(operation, new long[] {base, 3 * base});
      base *= 2;
    }
    return new BenchReport(
        "containerd",
        "/tmp/x/containerd.sock",
        "containerd",
        "1.6.20~ds1",
        "",
        "docker.io/library/busybox:latest",
        2,
        1,
        Instant.parse("2025-01-02T03:04:05Z"),
        1.5,
        samples);
  }

  @Test
  void jsonNamesEveryOperationWithItsPercentilesAndSamples() {
    String json = report().toJson();

    assertThat(json)
        .contains("\"label\": \"containerd\"")
        .contains("\"started_at\": \"2025-01-02T03:04:05Z\"")
        .contains(
            "\"RunPodSandbox\": {\"count\": 2, \"p50_ms\": 1.000, \"p99_ms\": 3.000,"
                + " \"mean_ms\": 2.000, \"min_ms\": 1.000, \"max_ms\": 3.000,"
                + " \"samples_ms\": [1.000, 3.000]}")
        .contains("\"StopPodSandbox+RemovePodSandbox\": {\"count\": 2, \"p50_ms\": 8.000");
    assertThat(json.trim()).startsWith("{").endsWith("}");
  }

  @Test
  void quoteEscapesJsonSpecials() {
    assertThat(BenchReport.quote("a\"b\\c\nd\u0001")).isEqualTo("\"a\\\"b\\\\c\\nd\\u0001\"");
  }

  @Test
  void textTableHasOneRowPerOperation() {
    String text = report().toText();

    for (Operation operation : Operation.values()) {
      assertThat(text).contains(operation.label());
    }
  }
}
