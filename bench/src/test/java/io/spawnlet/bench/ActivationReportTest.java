package io.spawnlet.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class ActivationReportTest {
  private static List<Long> ms(long... millis) {
    return java.util.Arrays.stream(millis).map(m -> m * 1_000_000).boxed().toList();
  }

  private static ActivationReport report(List<Long> coldSpawnlet, long daemonAfterKib) {
    ActivationReport r = new ActivationReport(Instant.EPOCH, 3, 0);
    r.series(ActivationBench.COLD_SPAWNLET, coldSpawnlet);
    r.series(ActivationBench.COLD_NSPAWN, ms(200, 200, 200));
    r.series(ActivationBench.READY_PLAIN, ms(150, 150, 150));
    r.series(ActivationBench.AWAKE_SPAWNLET, ms(2, 2, 2));
    r.series(ActivationBench.AWAKE_PLAIN, ms(2, 2, 2));
    r.series(ActivationBench.AWAKE_NSPAWN, ms(4, 4, 4));
    r.memory(2, List.of(100L, 120L), 10_000, daemonAfterKib);
    return r;
  }

  @Test
  void targetsAreJudgedOnTheRatiosTheIssueStates() {
    String md = report(ms(230, 230, 230), 10_100).toMarkdown();
    assertThat(md).contains("| cold wake ≤ 1.2× systemd's (p50) | 1.15× | yes |");
    assertThat(md).contains("230.0 vs 150.0 + 50 ms | **no** |");
    assertThat(md).contains("1.00× (vs nspawn: 0.50×) | yes |");
    assertThat(md).contains("160 KiB = holder PSS 110 (max 120) + daemon share 50 | yes |");
  }

  @Test
  void aShrinkingDaemonCountsAsNoShare() {
    ActivationReport r = report(ms(300, 300, 300), 9_000);
    assertThat(r.daemonShareKib()).isZero();
    assertThat(r.toMarkdown()).contains("| cold wake ≤ 1.2× systemd's (p50) | 1.50× | **no** |");
    assertThat(r.toJson()).contains("\"holder_pss_kib\": [100, 120]");
  }
}
