package io.spawnlet.cri.oci;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.spawnlet.cri.host.CgroupLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import runtime.v1.ContainerConfig;
import runtime.v1.ContainerMetadata;
import runtime.v1.KeyValue;
import runtime.v1.PodSandboxConfig;
import runtime.v1.PodSandboxMetadata;

/**
 * The system-container spec on the generated config, for every cgroup layout: the host's layout is
 * exercised for real by the e2e SystemContainerIT; the others only here.
 */
class SystemContainerSpecTest {
  @TempDir Path tmp;

  private ObjectNode systemSpec(CgroupLayout layout, ContainerConfig config) throws Exception {
    Path rootfs = Files.createDirectories(tmp.resolve("rootfs/etc"));
    Files.writeString(rootfs.resolve("passwd"), "root:x:0:0:root:/root:/bin/sh\n");
    Files.writeString(rootfs.resolve("group"), "root:x:0:\n");
    SandboxContext sandbox =
        new SandboxContext(
            "sb1",
            Optional.of(Path.of("/run/spawnlet/ns/net-sb1")),
            Optional.of(Path.of("/run/spawnlet/ns/ipc-sb1")),
            Optional.of(Path.of("/run/spawnlet/ns/uts-sb1")),
            Optional.empty(),
            "/spawnlet/sb1",
            "machine1",
            Optional.of(Path.of("/var/lib/spawnlet/sb1/resolv.conf")),
            Optional.of(Path.of("/var/lib/spawnlet/sb1/hosts")),
            Optional.of(Path.of("/var/lib/spawnlet/sb1/hostname")),
            Optional.of(Path.of("/run/spawnlet/sb1/shm")),
            tmp.resolve("rootfs"),
            tmp.resolve("logs"));
    PodSandboxConfig pod =
        PodSandboxConfig.newBuilder()
            .setMetadata(PodSandboxMetadata.newBuilder().setName("m").setNamespace("d").setUid("u"))
            .build();
    ImageDefaults image =
        new ImageDefaults(
            List.of(), SystemContainerSpec.DEFAULT_COMMAND, List.of(), "/", "", "SIGRTMIN+3");
    ObjectNode spec =
        new OciSpecBuilder(new HostLimits(Map.of("RLIMIT_NOFILE", 20000L)))
            .build("c1", config, pod, image, sandbox);
    return new SystemContainerSpec(layout).decorate(spec, Path.of("/var/lib/spawnlet/notify/c1"));
  }

  private static ContainerConfig config() {
    return ContainerConfig.newBuilder()
        .setMetadata(ContainerMetadata.newBuilder().setName("os"))
        .addEnvs(
            KeyValue.newBuilder()
                .setKey("container")
                .setValue(com.google.protobuf.ByteString.copyFromUtf8("docker")))
        .build();
  }

  private static Optional<JsonNode> mount(ObjectNode spec, String destination) {
    for (JsonNode m : spec.get("mounts")) {
      if (m.get("destination").asText().equals(destination)) {
        return Optional.of(m);
      }
    }
    return Optional.empty();
  }

  private static List<String> texts(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }

  @ParameterizedTest
  @EnumSource(CgroupLayout.class)
  void cgroupFileSystemIsWritableInsideItsOwnCgroupNamespace(CgroupLayout layout) throws Exception {
    ObjectNode spec = systemSpec(layout, config());

    JsonNode cgroup = mount(spec, "/sys/fs/cgroup").orElseThrow();
    assertThat(cgroup.get("type").asText()).isEqualTo("cgroup");
    assertThat(texts(cgroup.get("options"))).contains("rw").doesNotContain("ro");
    List<String> namespaces = new ArrayList<>();
    spec.get("linux").get("namespaces").forEach(n -> namespaces.add(n.get("type").asText()));
    assertThat(namespaces).containsOnlyOnce("cgroup");
    // The container's cgroup stays under the pod's parent: systemd's subtree is ours to give.
    assertThat(spec.get("linux").get("cgroupsPath").asText()).isEqualTo("/spawnlet/sb1/c1");
    // /sys itself stays read-only: only the cgroup subtree is handed over.
    assertThat(texts(mount(spec, "/sys").orElseThrow().get("options"))).contains("ro");
  }

  @ParameterizedTest
  @EnumSource(CgroupLayout.class)
  void containerInterfaceMountsEnvironmentAndConsole(CgroupLayout layout) throws Exception {
    ObjectNode spec = systemSpec(layout, config());

    for (String dir : List.of("/run", "/run/lock", "/tmp")) {
      assertThat(mount(spec, dir).orElseThrow().get("type").asText()).as(dir).isEqualTo("tmpfs");
    }
    List<String> order = new ArrayList<>();
    spec.get("mounts").forEach(m -> order.add(m.get("destination").asText()));
    assertThat(order.indexOf("/run")).isLessThan(order.indexOf("/run/lock"));
    assertThat(order.indexOf("/run")).isLessThan(order.indexOf(SystemContainerSpec.NOTIFY_DIR));
    JsonNode notify = mount(spec, SystemContainerSpec.NOTIFY_DIR).orElseThrow();
    assertThat(notify.get("source").asText()).isEqualTo("/var/lib/spawnlet/notify/c1");
    assertThat(texts(notify.get("options"))).contains("bind", "ro");

    JsonNode process = spec.get("process");
    assertThat(process.get("terminal").asBoolean()).isTrue();
    assertThat(texts(process.get("args"))).containsExactly("/sbin/init");
    // The runtime's container=spawnlet wins over whatever the image or the pod said.
    assertThat(texts(process.get("env")))
        .contains("container=spawnlet", "NOTIFY_SOCKET=/run/host/notify/notify", "TERM=linux")
        .doesNotContain("container=docker");
    assertThat(mount(spec, "/etc/hosts")).isPresent();
    assertThat(mount(spec, "/etc/resolv.conf")).isPresent();
    assertThat(mount(spec, "/etc/machine-id"))
        .as("written into the upper dir, not bound: systemd would try to commit a bound one")
        .isEmpty();
  }

  @Test
  void moduleCallsAreRefusedUnlessThePodHasItsOwnSeccompProfileOrCapSysModule() throws Exception {
    JsonNode seccomp = systemSpec(CgroupLayout.V2, config()).get("linux").get("seccomp");
    assertThat(seccomp.get("defaultAction").asText()).isEqualTo("SCMP_ACT_ALLOW");
    assertThat(texts(seccomp.get("architectures"))).contains("SCMP_ARCH_X86_64", "SCMP_ARCH_X86");
    JsonNode deny = seccomp.get("syscalls").get(0);
    assertThat(texts(deny.get("names")))
        .containsExactlyInAnyOrder("init_module", "finit_module", "delete_module");
    assertThat(deny.get("action").asText()).isEqualTo("SCMP_ACT_ERRNO");
    assertThat(deny.get("errnoRet").asInt()).isEqualTo(1);

    ContainerConfig privileged =
        config().toBuilder()
            .setLinux(
                runtime.v1.LinuxContainerConfig.newBuilder()
                    .setSecurityContext(
                        runtime.v1.LinuxContainerSecurityContext.newBuilder().setPrivileged(true)))
            .build();
    assertThat(systemSpec(CgroupLayout.V2, privileged).get("linux").has("seccomp")).isFalse();
    ContainerConfig ownProfile =
        config().toBuilder()
            .setLinux(
                runtime.v1.LinuxContainerConfig.newBuilder()
                    .setSecurityContext(
                        runtime.v1.LinuxContainerSecurityContext.newBuilder()
                            .setSeccomp(
                                runtime.v1.SecurityProfile.newBuilder()
                                    .setProfileType(
                                        runtime.v1.SecurityProfile.ProfileType.RuntimeDefault))))
            .build();
    assertThat(
            systemSpec(CgroupLayout.V2, ownProfile)
                .get("linux")
                .get("seccomp")
                .get("defaultAction")
                .asText())
        .isEqualTo("SCMP_ACT_ERRNO");
  }

  @Test
  void handlerOrAnnotationSelectsSystemPods() {
    Map<String, String> annotated = Map.of(SystemContainerSpec.ANNOTATION, "true");
    assertThat(SystemContainerSpec.selects("system", Map.of())).isTrue();
    assertThat(SystemContainerSpec.selects("", annotated)).isTrue();
    assertThat(SystemContainerSpec.selects(null, annotated)).isTrue();
    // An explicit handler wins over the annotation.
    assertThat(SystemContainerSpec.selects("runc", annotated)).isFalse();
    assertThat(SystemContainerSpec.selects("", Map.of(SystemContainerSpec.ANNOTATION, "no")))
        .isFalse();
    assertThat(SystemContainerSpec.selects("", Map.of())).isFalse();
  }

  /** User namespaced system pods, on every cgroup layout (the host's runs in SystemUsernsIT). */
  @ParameterizedTest
  @EnumSource(CgroupLayout.class)
  void userNamespaceMapsRootBindsSysAndKeepsTheCgroupNamespace(CgroupLayout layout)
      throws Exception {
    ObjectNode spec =
        UserNamespaceSpec.apply(
            systemSpec(layout, config()),
            io.spawnlet.cri.store.UserNamespaceMapping.ofRange(1 << 20, 65536));

    List<String> types = new ArrayList<>();
    spec.at("/linux/namespaces").forEach(n -> types.add(n.get("type").asText()));
    assertThat(types).contains("user", "cgroup", "pid", "mount").doesNotHaveDuplicates();
    for (String key : List.of("uidMappings", "gidMappings")) {
      JsonNode m = spec.at("/linux/" + key);
      assertThat(m).as(key).hasSize(1);
      assertThat(m.get(0).get("containerID").asLong()).isZero();
      assertThat(m.get(0).get("hostID").asLong()).isEqualTo(1 << 20);
      assertThat(m.get(0).get("size").asLong()).isEqualTo(65536);
    }
    JsonNode sys = mount(spec, "/sys").orElseThrow();
    assertThat(sys.get("type").asText()).isEqualTo("bind");
    assertThat(sys.get("source").asText()).isEqualTo("/sys");
    assertThat(sys.get("options").toString()).contains("\"rbind\"", "\"ro\"");
    assertThat(mount(spec, "/sys/fs/cgroup").orElseThrow().get("options").toString())
        .contains("\"rw\"");
    // applying twice (a socket-activated pod's bundle is rewritten) adds no second user namespace
    UserNamespaceSpec.apply(
        spec, io.spawnlet.cri.store.UserNamespaceMapping.ofRange(1 << 20, 65536));
    assertThat(spec.at("/linux/namespaces").findValuesAsText("type")).containsOnlyOnce("user");
  }
}
