package io.spawnlet.cri.oci;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashSet;
import java.util.List;
import org.junit.jupiter.api.Test;

class HostCapabilitiesTest {
  @Test
  void aBoundingSetWithoutSysResourceGrantsEverythingElse() {
    // bit 24 (CAP_SYS_RESOURCE) clear, bits 0-40 otherwise set: this VM's root
    HostCapabilities host = HostCapabilities.parse("Name:\tjava\nCapBnd:\t000001fffeffffff\n");
    assertThat(host.bounding()).doesNotContain("CAP_SYS_RESOURCE").hasSize(40);
    assertThat(
            host.grantable(
                new LinkedHashSet<>(List.of("CAP_SYS_RESOURCE", "CAP_CHOWN", "CAP_BPF"))))
        .containsExactly("CAP_CHOWN", "CAP_BPF");
  }

  @Test
  void capabilityBitsFollowTheKernelsNumbering() {
    assertThat(HostCapabilities.parse("CapBnd:\t0000000000200000\n").bounding())
        .containsExactly("CAP_SYS_ADMIN");
    assertThat(HostCapabilities.parse("CapBnd:\t0000010000000000\n").bounding())
        .containsExactly("CAP_CHECKPOINT_RESTORE");
  }
}
