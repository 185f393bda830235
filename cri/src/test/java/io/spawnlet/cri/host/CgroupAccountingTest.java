package io.spawnlet.cri.host;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** Reads fixture cgroup trees laid out as the kernel does in each layout. */
class CgroupAccountingTest {
  private static final Instant NOW = Instant.parse("2026-01-02T03:04:05Z");

  private static CgroupAccounting accounting(String layout) throws Exception {
    Path root = CgroupHierarchiesTest.fixture(layout);
    CgroupHierarchies h = CgroupHierarchies.detect(root.resolve("mountinfo"), root);
    return new CgroupAccounting(h, Clock.fixed(NOW, ZoneOffset.UTC));
  }

  @Test
  void v1() throws Exception {
    CgroupStats s = accounting("v1").read("/kubepods/pod1");

    assertThat(s.timestamp()).isEqualTo(NOW);
    assertThat(s.cpuUsageNanos()).hasValue(123456789);
    assertThat(s.memoryUsageBytes()).hasValue(50_000_000);
    assertThat(s.workingSetBytes()).hasValue(50_000_000 - 12_000_000);
    assertThat(s.rssBytes()).hasValue(25_000_000);
    assertThat(s.pageFaults()).hasValue(4242);
    assertThat(s.majorPageFaults()).hasValue(17);
    assertThat(s.pidsCurrent()).hasValue(3);
  }

  @Test
  void v2() throws Exception {
    CgroupStats s = accounting("v2").read("/kubepods/pod1");

    assertThat(s.cpuUsageNanos()).hasValue(987_654_000);
    assertThat(s.memoryUsageBytes()).hasValue(40_000_000);
    assertThat(s.workingSetBytes()).hasValue(40_000_000 - 6_000_000);
    assertThat(s.rssBytes()).hasValue(30_000_000);
    assertThat(s.pageFaults()).hasValue(5151);
    assertThat(s.majorPageFaults()).hasValue(3);
    assertThat(s.pidsCurrent()).hasValue(5);
  }

  @Test
  void missingFilesAreAbsentValues() throws Exception {
    for (String layout : new String[] {"v1", "v2"}) {
      CgroupStats s = accounting(layout).read("/kubepods/pod1/ctr1");
      assertThat(s.cpuUsageNanos()).as(layout).isEmpty();
      assertThat(s.memoryUsageBytes()).isEmpty();
      assertThat(s.workingSetBytes()).isEmpty();
      assertThat(s.pidsCurrent()).isEqualTo(OptionalLong.empty());
      assertThat(accounting(layout).read("/no/such/cgroup").memoryUsageBytes()).isEmpty();
    }
  }

  @Test
  void oomKillsFromMemoryOomControlInV1AndMemoryEventsInV2() throws Exception {
    assertThat(accounting("v1").oomKills("/kubepods/pod1")).hasValue(2);
    assertThat(accounting("v2").oomKills("/kubepods/pod1")).hasValue(1);
    assertThat(accounting("v2").oomKills("/no/such/cgroup")).isEmpty();
  }

  @Test
  void pidsAreCollectedRecursivelyFromEveryHierarchy() throws Exception {
    assertThat(accounting("v1").pids("/kubepods/pod1")).containsExactly(101, 102, 103, 104);
    assertThat(accounting("v2").pids("/kubepods/pod1")).containsExactly(201, 202, 203);
    assertThat(accounting("v2").pids("/kubepods/nothing")).isEmpty();
  }
}
