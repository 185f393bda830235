package io.spawnlet.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import runtime.v1.NamespaceMode;
import runtime.v1.PodSandboxConfig;

class BenchPodConfigsTest {

  private final BenchPodConfigs configs =
      new BenchPodConfigs("r1", "docker.io/library/busybox:latest", Path.of("/tmp/logs"), "");

  @Test
  void podsHaveUniqueNamesAndLogDirectoriesAndTheRunLabel() {
    PodSandboxConfig first = configs.sandbox(0);
    PodSandboxConfig second = configs.sandbox(1);

    assertThat(first.getMetadata().getName()).isNotEqualTo(second.getMetadata().getName());
    assertThat(first.getMetadata().getUid()).isNotEqualTo(second.getMetadata().getUid());
    assertThat(first.getLogDirectory())
        .startsWith("/tmp/logs/")
        .isNotEqualTo(second.getLogDirectory());
    assertThat(first.getLabelsMap()).containsEntry(BenchPodConfigs.RUN_LABEL, "r1");
    assertThat(first.getPortMappingsList()).isEmpty();
    assertThat(first.getLinux().getCgroupParent()).isEmpty();
  }

  @Test
  void namespacesAreKubeletDefaults() {
    var namespaces = configs.sandbox(0).getLinux().getSecurityContext().getNamespaceOptions();

    assertThat(namespaces.getNetwork()).isEqualTo(NamespaceMode.POD);
    assertThat(namespaces.getPid()).isEqualTo(NamespaceMode.CONTAINER);
  }

  @Test
  void sleeperRunsSleepFromTheGivenImage() {
    var sleeper = configs.sleeper();

    assertThat(sleeper.getImage().getImage()).isEqualTo("docker.io/library/busybox:latest");
    assertThat(sleeper.getCommandList()).containsExactly("sleep", "3600");
    assertThat(sleeper.getLogPath()).isEqualTo("sleeper/0.log");
  }
}
