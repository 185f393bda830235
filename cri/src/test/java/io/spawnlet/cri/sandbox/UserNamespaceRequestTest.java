package io.spawnlet.cri.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.spawnlet.cri.CriException;
import io.spawnlet.cri.store.IdMapping;
import org.junit.jupiter.api.Test;
import runtime.v1.IDMapping;
import runtime.v1.LinuxPodSandboxConfig;
import runtime.v1.LinuxSandboxSecurityContext;
import runtime.v1.NamespaceMode;
import runtime.v1.NamespaceOption;
import runtime.v1.PodSandboxConfig;
import runtime.v1.UserNamespace;

class UserNamespaceRequestTest {
  private static final String FIELD =
      "config.linux.security_context.namespace_options.userns_options";

  private static PodSandboxConfig config(boolean privileged, UserNamespace userns) {
    NamespaceOption.Builder ns = NamespaceOption.newBuilder();
    if (userns != null) {
      ns.setUsernsOptions(userns);
    }
    return PodSandboxConfig.newBuilder()
        .setLinux(
            LinuxPodSandboxConfig.newBuilder()
                .setSecurityContext(
                    LinuxSandboxSecurityContext.newBuilder()
                        .setPrivileged(privileged)
                        .setNamespaceOptions(ns)))
        .build();
  }

  private static IDMapping map(long container, long host, long length) {
    return IDMapping.newBuilder()
        .setContainerId((int) container)
        .setHostId((int) host)
        .setLength((int) length)
        .build();
  }

  private static UserNamespace pod(IDMapping uid, IDMapping gid) {
    return UserNamespace.newBuilder().setMode(NamespaceMode.POD).addUids(uid).addGids(gid).build();
  }

  private static UserNamespaceRequest.Kind kind(boolean system, boolean priv, UserNamespace u) {
    return UserNamespaceRequest.of(config(priv, u), system).kind();
  }

  @Test
  void systemPodsGetOneByDefaultOthersAndPrivilegedOnesDoNot() {
    assertThat(kind(true, false, null)).isEqualTo(UserNamespaceRequest.Kind.ALLOCATE);
    assertThat(kind(false, false, null)).isEqualTo(UserNamespaceRequest.Kind.HOST);
    assertThat(kind(true, true, null)).isEqualTo(UserNamespaceRequest.Kind.HOST);
    UserNamespace node = UserNamespace.newBuilder().setMode(NamespaceMode.NODE).build();
    assertThat(kind(true, false, node)).isEqualTo(UserNamespaceRequest.Kind.HOST);
    UserNamespace podNoMappings = UserNamespace.newBuilder().setMode(NamespaceMode.POD).build();
    assertThat(kind(false, false, podNoMappings)).isEqualTo(UserNamespaceRequest.Kind.ALLOCATE);
  }

  @Test
  void givenMappingsAreTakenAsTheyAre() {
    UserNamespaceRequest r =
        UserNamespaceRequest.of(
            config(false, pod(map(0, 2 << 20, 65536), map(0, 3 << 20, 65536))), true);
    assertThat(r.kind()).isEqualTo(UserNamespaceRequest.Kind.GIVEN);
    assertThat(r.given().orElseThrow().uids()).containsExactly(new IdMapping(0, 2 << 20, 65536));
    assertThat(r.given().orElseThrow().rootGid()).isEqualTo(3 << 20);
    assertThat(r.given().orElseThrow().allocated()).isFalse();
  }

  @Test
  void badMappingsAreRefusedNamingTheField() {
    refused(pod(map(0, 0, 65536), map(0, 1 << 20, 65536)), FIELD + ".uids[0].host_id");
    refused(pod(map(0, 1 << 20, 0), map(0, 1 << 20, 65536)), FIELD + ".uids[0].length");
    refused(pod(map(1, 1 << 20, 10), map(0, 1 << 20, 65536)), FIELD + ".uids");
    refused(pod(map(0, 1 << 20, 65536), map(0, 0xFFFF_0000L, 0x10000)), FIELD + ".gids[0]");
    refused(
        UserNamespace.newBuilder()
            .setMode(NamespaceMode.POD)
            .addUids(map(0, 1 << 20, 100))
            .addUids(map(100, (1 << 20) + 50, 100))
            .addGids(map(0, 1 << 20, 65536))
            .build(),
        FIELD + ".uids[1]");
    refused(
        UserNamespace.newBuilder()
            .setMode(NamespaceMode.POD)
            .addUids(map(0, 1 << 20, 65536))
            .build(),
        FIELD + ".gids");
    refused(UserNamespace.newBuilder().setMode(NamespaceMode.CONTAINER).build(), FIELD + ".mode");
    refused(
        UserNamespace.newBuilder()
            .setMode(NamespaceMode.NODE)
            .addUids(map(0, 1 << 20, 65536))
            .build(),
        FIELD);
  }

  @Test
  void aPrivilegedPodCannotHaveGivenMappings() {
    assertThatThrownBy(
            () ->
                UserNamespaceRequest.of(
                    config(true, pod(map(0, 1 << 20, 65536), map(0, 1 << 20, 65536))), true))
        .isInstanceOf(CriException.class)
        .hasMessageContaining("privileged");
  }

  private static void refused(UserNamespace userns, String field) {
    assertThatThrownBy(() -> UserNamespaceRequest.of(config(false, userns), true))
        .isInstanceOf(CriException.class)
        .hasMessageContaining(field)
        .extracting(e -> ((CriException) e).kind())
        .isEqualTo(CriException.Kind.INVALID_ARGUMENT);
  }
}
