package io.spawnlet.cri.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DaemonConfigTest {
  @TempDir Path dir;

  @Test
  void metricsAreServedOnLoopbackByDefault() {
    assertThat(DaemonConfig.defaults().metricsEndpoint())
        .contains(new InetSocketAddress("127.0.0.1", 9464));
  }

  @Test
  void theMetricsAddressIsAConfigKeyThatAFlagOverrides() throws Exception {
    Path file = dir.resolve("config.yaml");
    Files.writeString(file, "metricsAddress: \"[::1]:9100\"\n");
    DaemonConfig fromFile = DaemonConfig.load(file);
    assertThat(fromFile.metricsEndpoint()).contains(new InetSocketAddress("::1", 9100));

    Path flags = Files.writeString(dir.resolve("flags.yaml"), "metricsAddress: \"off\"\n");
    assertThat(fromFile.overlay(DaemonConfig.load(flags)).metricsEndpoint()).isEmpty();
  }

  @Test
  void theDefaultIdleTimeoutIsAConfigKey() throws Exception {
    assertThat(DaemonConfig.defaults().idleTimeout()).isEqualTo(java.time.Duration.ofMinutes(5));
    Path file = dir.resolve("idle.yaml");
    Files.writeString(file, "defaultIdleTimeout: 90s\n");
    assertThat(DaemonConfig.load(file).idleTimeout()).isEqualTo(java.time.Duration.ofSeconds(90));
    Files.writeString(file, "defaultIdleTimeout: soon\n");
    DaemonConfig bad = DaemonConfig.load(file);
    assertThatThrownBy(bad::idleTimeout)
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("defaultIdleTimeout");
  }

  @Test
  void anInvalidMetricsAddressNamesTheKey() throws Exception {
    for (String bad : new String[] {"9464", "localhost:", "host:99999", ":80", "on"}) {
      Path file = Files.writeString(dir.resolve("bad.yaml"), "metricsAddress: \"" + bad + "\"\n");
      DaemonConfig config = DaemonConfig.load(file);
      assertThatThrownBy(config::metricsEndpoint)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("metricsAddress")
          .hasMessageContaining(bad);
    }
  }
}
