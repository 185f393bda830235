package io.spawnlet.cri.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.spawnlet.cri.CriException;
import io.spawnlet.cri.host.ProcessIdentity;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import runtime.v1.LinuxPodSandboxConfig;
import runtime.v1.LinuxSandboxSecurityContext;
import runtime.v1.NamespaceMode;
import runtime.v1.NamespaceOption;
import runtime.v1.PodSandboxConfig;

class PodPidNamespaceTest {
  @TempDir Path tmp;

  @Test
  void onlyPidModePodAsksForASharedNamespace() {
    assertThat(PodPidNamespace.wanted(pod(NamespaceMode.POD))).isTrue();
    assertThat(PodPidNamespace.wanted(pod(NamespaceMode.CONTAINER))).isFalse();
    assertThat(PodPidNamespace.wanted(pod(NamespaceMode.NODE))).isFalse();
  }

  @Test
  void theRecordSurvivesARoundTripAndAGoneHolderIsAPreconditionFailure() throws Exception {
    SandboxFiles files = new SandboxFiles(tmp.resolve("state"), tmp.resolve("run"));
    Files.createDirectories(tmp.resolve("run"));
    assertThat(PodPidNamespace.namespace("pod", files)).isEmpty();

    long self = ProcessHandle.current().pid();
    ProcessIdentity me = ProcessIdentity.of((int) self).orElseThrow();
    PodPidNamespace.Holder alive = new PodPidNamespace.Holder(me, me);
    assertThat(PodPidNamespace.Holder.parse(alive.serialize(), tmp)).isEqualTo(alive);
    Files.writeString(files.pidNamespaceHolder(), alive.serialize());
    assertThat(PodPidNamespace.namespace("pod", files))
        .contains(Path.of("/proc/" + self + "/ns/pid"));

    // the same pid with another start time: a stranger that reused it, never joined
    ProcessIdentity stranger = new ProcessIdentity(me.pid(), me.startTime() + 1);
    Files.writeString(
        files.pidNamespaceHolder(), new PodPidNamespace.Holder(me, stranger).serialize());
    assertThatThrownBy(() -> PodPidNamespace.namespace("pod", files))
        .isInstanceOfSatisfying(
            CriException.class,
            e -> assertThat(e.kind()).isEqualTo(CriException.Kind.FAILED_PRECONDITION))
        .hasMessageContaining("stop and remove the pod sandbox");
  }

  private static PodSandboxConfig pod(NamespaceMode pid) {
    return PodSandboxConfig.newBuilder()
        .setLinux(
            LinuxPodSandboxConfig.newBuilder()
                .setSecurityContext(
                    LinuxSandboxSecurityContext.newBuilder()
                        .setNamespaceOptions(NamespaceOption.newBuilder().setPid(pid))))
        .build();
  }
}
