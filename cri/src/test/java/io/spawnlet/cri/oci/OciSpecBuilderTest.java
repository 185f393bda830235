package io.spawnlet.cri.oci;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.ByteString;
import io.spawnlet.cri.CriException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import runtime.v1.Capability;
import runtime.v1.ContainerConfig;
import runtime.v1.ContainerMetadata;
import runtime.v1.Device;
import runtime.v1.HugepageLimit;
import runtime.v1.Int64Value;
import runtime.v1.KeyValue;
import runtime.v1.LinuxContainerConfig;
import runtime.v1.LinuxContainerResources;
import runtime.v1.LinuxContainerSecurityContext;
import runtime.v1.LinuxPodSandboxConfig;
import runtime.v1.Mount;
import runtime.v1.MountPropagation;
import runtime.v1.NamespaceMode;
import runtime.v1.NamespaceOption;
import runtime.v1.PodSandboxConfig;
import runtime.v1.PodSandboxMetadata;
import runtime.v1.SecurityProfile;

class OciSpecBuilderTest {
  private static final String PASSWD =
      """
      root:x:0:0:root:/root:/bin/sh
      www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
      app:x:1000:1000::/home/app:/bin/sh
      """;
  private static final String GROUP =
      """
      root:x:0:
      www-data:x:33:
      app:x:1000:
      audio:x:29:app,www-data
      video:x:44:app
      """;

  @TempDir Path tmp;
  private Path rootfs;
  private SandboxContext sandbox;
  private final OciSpecBuilder builder =
      new OciSpecBuilder(new HostLimits(Map.of("RLIMIT_NOFILE", 20000L)));
  private final PodSandboxConfig pod =
      PodSandboxConfig.newBuilder()
          .setMetadata(
              PodSandboxMetadata.newBuilder().setName("web").setNamespace("prod").setUid("u-1"))
          .setLinux(LinuxPodSandboxConfig.newBuilder().putSysctls("net.ipv4.ip_forward", "1"))
          .build();

  @BeforeEach
  void setUp() throws IOException {
    rootfs = Files.createDirectories(tmp.resolve("rootfs"));
    Files.createDirectories(rootfs.resolve("etc"));
    Files.writeString(rootfs.resolve("etc/passwd"), PASSWD);
    Files.writeString(rootfs.resolve("etc/group"), GROUP);
    sandbox =
        new SandboxContext(
            "sb1",
            Optional.of(Path.of("/run/spawnlet/ns/net-sb1")),
            Optional.of(Path.of("/run/spawnlet/ns/ipc-sb1")),
            Optional.of(Path.of("/run/spawnlet/ns/uts-sb1")),
            Optional.empty(),
            "/spawnlet/pod-u-1",
            "web-0",
            Optional.of(Path.of("/var/lib/spawnlet/sb1/resolv.conf")),
            Optional.of(Path.of("/var/lib/spawnlet/sb1/hosts")),
            Optional.of(Path.of("/var/lib/spawnlet/sb1/hostname")),
            Optional.of(Path.of("/run/spawnlet/sb1/shm")),
            rootfs,
            Path.of("/var/log/pods/prod_web_u-1"));
  }

  private static ContainerConfig.Builder config() {
    return ContainerConfig.newBuilder()
        .setMetadata(ContainerMetadata.newBuilder().setName("app").setAttempt(2))
        .setLogPath("app/2.log");
  }

  private static ContainerConfig withSecurity(LinuxContainerSecurityContext.Builder security) {
    return config()
        .addCommand("/bin/true")
        .setLinux(LinuxContainerConfig.newBuilder().setSecurityContext(security))
        .build();
  }

  private static final ImageDefaults IMAGE =
      new ImageDefaults(
          List.of("/entry"),
          List.of("serve", "--port=80"),
          List.of("PATH=/opt/bin:/usr/bin", "MODE=image", "LANG=C"),
          "/srv",
          "",
          "SIGQUIT");

  private ObjectNode build(ContainerConfig config) {
    return builder.build("c1", config, pod, IMAGE, sandbox);
  }

  private static List<String> texts(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }

  private static JsonNode mountAt(JsonNode spec, String destination) {
    for (JsonNode m : spec.get("mounts")) {
      if (m.get("destination").asText().equals(destination)) {
        return m;
      }
    }
    return null;
  }

  @Test
  void commandReplacesEntrypointAndDropsImageCmd() {
    JsonNode spec = build(config().addCommand("/bin/sh").addArgs("-c").addArgs("echo").build());
    assertThat(texts(spec.at("/process/args"))).containsExactly("/bin/sh", "-c", "echo");
  }

  @Test
  void argsAloneReplaceImageCmdAfterEntrypoint() {
    JsonNode spec = build(config().addArgs("debug").build());
    assertThat(texts(spec.at("/process/args"))).containsExactly("/entry", "debug");
  }

  @Test
  void imageEntrypointAndCmdWhenRequestHasNeither() {
    JsonNode spec = build(config().build());
    assertThat(texts(spec.at("/process/args"))).containsExactly("/entry", "serve", "--port=80");
    assertThat(spec.at("/process/cwd").asText()).isEqualTo("/srv");
  }

  @Test
  void noCommandAnywhereIsInvalid() {
    assertThatThrownBy(
            () -> builder.build("c1", config().build(), pod, ImageDefaults.none(), sandbox))
        .isInstanceOfSatisfying(
            CriException.class,
            e -> assertThat(e.kind()).isEqualTo(CriException.Kind.INVALID_ARGUMENT));
  }

  @Test
  void envIsImageThenRequestLaterWins() {
    JsonNode spec =
        build(
            config()
                .addCommand("x")
                .addEnvs(kv("MODE", "cri"))
                .addEnvs(kv("EXTRA", "1"))
                .setWorkingDir("/work")
                .build());
    assertThat(texts(spec.at("/process/env")))
        .containsExactly(
            "HOSTNAME=web-0", "PATH=/opt/bin:/usr/bin", "MODE=cri", "LANG=C", "EXTRA=1");
    assertThat(spec.at("/process/cwd").asText()).isEqualTo("/work");
  }

  @Test
  void defaultPathAndTermForTty() {
    JsonNode spec =
        builder.build(
            "c1",
            config().addCommand("x").setTty(true).build(),
            pod,
            ImageDefaults.none(),
            sandbox);
    assertThat(texts(spec.at("/process/env"))).contains(OciSpecBuilder.DEFAULT_PATH, "TERM=xterm");
    assertThat(spec.at("/process/terminal").asBoolean()).isTrue();
  }

  @Test
  void usernameResolvedAgainstTheImagesPasswdAndGroup() {
    JsonNode spec =
        build(withSecurity(LinuxContainerSecurityContext.newBuilder().setRunAsUsername("app")));
    assertThat(spec.at("/process/user/uid").asLong()).isEqualTo(1000);
    assertThat(spec.at("/process/user/gid").asLong()).isEqualTo(1000);
    assertThat(texts(spec.at("/process/user/additionalGids"))).containsExactly("29", "44");
  }

  @Test
  void numericUserGetsPrimaryGroupAndExplicitGroupAndSupplementalGroups() {
    JsonNode spec =
        build(
            withSecurity(
                LinuxContainerSecurityContext.newBuilder()
                    .setRunAsUser(Int64Value.newBuilder().setValue(33))
                    .setRunAsGroup(Int64Value.newBuilder().setValue(5000))
                    .addSupplementalGroups(7000)));
    assertThat(spec.at("/process/user/uid").asLong()).isEqualTo(33);
    assertThat(spec.at("/process/user/gid").asLong()).isEqualTo(5000);
    assertThat(texts(spec.at("/process/user/additionalGids"))).containsExactly("29", "7000");
  }

  @Test
  void imageUserWithGroupName() {
    ImageDefaults image =
        new ImageDefaults(List.of("/x"), List.of(), List.of(), "", "www-data:audio", "");
    JsonNode spec = builder.build("c1", config().build(), pod, image, sandbox);
    assertThat(spec.at("/process/user/uid").asLong()).isEqualTo(33);
    assertThat(spec.at("/process/user/gid").asLong()).isEqualTo(29);
  }

  @Test
  void unknownUsernameAndGroupWithoutUserAreInvalid() {
    assertThatThrownBy(
            () ->
                build(
                    withSecurity(
                        LinuxContainerSecurityContext.newBuilder().setRunAsUsername("nobody"))))
        .isInstanceOf(CriException.class)
        .hasMessageContaining("nobody");
    assertThatThrownBy(
            () ->
                build(
                    withSecurity(
                        LinuxContainerSecurityContext.newBuilder()
                            .setRunAsGroup(Int64Value.newBuilder().setValue(1)))))
        .isInstanceOf(CriException.class)
        .hasMessageContaining("run_as_group");
  }

  @Test
  void defaultCapabilitiesWithAddAndDrop() {
    JsonNode spec =
        build(
            withSecurity(
                LinuxContainerSecurityContext.newBuilder()
                    .setCapabilities(
                        Capability.newBuilder()
                            .addAddCapabilities("NET_ADMIN")
                            .addDropCapabilities("cap_mknod"))));
    List<String> bounding = texts(spec.at("/process/capabilities/bounding"));
    assertThat(bounding)
        .contains("CAP_NET_ADMIN", "CAP_CHOWN")
        .doesNotContain("CAP_MKNOD", "CAP_SYS_ADMIN");
    assertThat(texts(spec.at("/process/capabilities/effective"))).isEqualTo(bounding);
    assertThat(spec.at("/process/capabilities/ambient").isMissingNode()).isTrue();
  }

  @Test
  void dropAllThenAddKeepsOnlyTheAdded() {
    JsonNode spec =
        build(
            withSecurity(
                LinuxContainerSecurityContext.newBuilder()
                    .setCapabilities(
                        Capability.newBuilder()
                            .addDropCapabilities("ALL")
                            .addAddCapabilities("NET_BIND_SERVICE")
                            .addAddAmbientCapabilities("NET_BIND_SERVICE"))));
    assertThat(texts(spec.at("/process/capabilities/bounding")))
        .containsExactly("CAP_NET_BIND_SERVICE");
    assertThat(texts(spec.at("/process/capabilities/ambient")))
        .containsExactly("CAP_NET_BIND_SERVICE");
  }

  @Test
  void privilegedGetsEverythingAndNoConfinement() {
    JsonNode spec =
        build(
            withSecurity(
                LinuxContainerSecurityContext.newBuilder()
                    .setPrivileged(true)
                    .setSeccomp(
                        SecurityProfile.newBuilder()
                            .setProfileType(SecurityProfile.ProfileType.RuntimeDefault))));
    assertThat(texts(spec.at("/process/capabilities/bounding")))
        .containsExactlyElementsOf(OciSpecBuilder.ALL_CAPABILITIES);
    assertThat(spec.at("/linux/maskedPaths").isMissingNode()).isTrue();
    assertThat(spec.at("/linux/readonlyPaths").isMissingNode()).isTrue();
    assertThat(spec.at("/linux/seccomp").isMissingNode()).isTrue();
    assertThat(spec.at("/linux/resources/devices/0/allow").asBoolean()).isTrue();
    assertThat(spec.at("/linux/resources/devices/0/access").asText()).isEqualTo("rwm");
    assertThat(texts(mountAt(spec, "/sys").get("options"))).contains("rw");
  }

  @Test
  void unprivilegedGetsDefaultMaskedAndReadonlyPathsUnlessGiven() {
    JsonNode spec = build(withSecurity(LinuxContainerSecurityContext.newBuilder()));
    assertThat(texts(spec.at("/linux/maskedPaths")))
        .containsExactlyElementsOf(OciSpecBuilder.DEFAULT_MASKED_PATHS);
    assertThat(texts(spec.at("/linux/readonlyPaths"))).contains("/proc/sys");
    assertThat(spec.at("/linux/resources/devices/0/allow").asBoolean()).isFalse();

    JsonNode given =
        build(
            withSecurity(
                LinuxContainerSecurityContext.newBuilder()
                    .addMaskedPaths("/proc/kcore")
                    .addReadonlyPaths("/proc/bus")));
    assertThat(texts(given.at("/linux/maskedPaths"))).containsExactly("/proc/kcore");
    assertThat(texts(given.at("/linux/readonlyPaths"))).containsExactly("/proc/bus");
  }

  @Test
  void readonlyRootfsNoNewPrivsAndRlimitsClampedToOurHardLimit() {
    JsonNode spec =
        build(
            withSecurity(
                LinuxContainerSecurityContext.newBuilder()
                    .setReadonlyRootfs(true)
                    .setNoNewPrivs(true)));
    assertThat(spec.at("/root/readonly").asBoolean()).isTrue();
    assertThat(spec.at("/root/path").asText()).isEqualTo(rootfs.toString());
    assertThat(spec.at("/process/noNewPrivileges").asBoolean()).isTrue();
    assertThat(spec.at("/process/rlimits/0/type").asText()).isEqualTo("RLIMIT_NOFILE");
    assertThat(spec.at("/process/rlimits/0/hard").asLong()).isEqualTo(20000);
    assertThat(spec.at("/process/rlimits/0/soft").asLong()).isEqualTo(20000);
  }

  @Test
  void criMountsWithPropagationAndDefaultsFromTheSandbox() {
    JsonNode spec =
        build(
            config()
                .addCommand("x")
                .addMounts(
                    Mount.newBuilder()
                        .setContainerPath("/data/cache")
                        .setHostPath("/srv/cache")
                        .setReadonly(true))
                .addMounts(
                    Mount.newBuilder()
                        .setContainerPath("/data")
                        .setHostPath("/srv/data")
                        .setPropagation(MountPropagation.PROPAGATION_BIDIRECTIONAL))
                .addMounts(
                    Mount.newBuilder()
                        .setContainerPath("/etc/hosts")
                        .setHostPath("/custom/hosts")
                        .setPropagation(MountPropagation.PROPAGATION_HOST_TO_CONTAINER))
                .build());
    JsonNode data = mountAt(spec, "/data");
    assertThat(data.get("type").asText()).isEqualTo("bind");
    assertThat(texts(data.get("options"))).containsExactly("rbind", "rshared", "rw");
    assertThat(texts(mountAt(spec, "/data/cache").get("options")))
        .containsExactly("rbind", "rprivate", "ro");
    assertThat(mountAt(spec, "/etc/hosts").get("source").asText()).isEqualTo("/custom/hosts");
    assertThat(texts(mountAt(spec, "/etc/hosts").get("options"))).contains("rslave");
    assertThat(spec.at("/linux/rootfsPropagation").asText()).isEqualTo("rshared");
    // parents before children
    List<String> destinations = new ArrayList<>();
    spec.get("mounts").forEach(m -> destinations.add(m.get("destination").asText()));
    assertThat(destinations.indexOf("/data")).isLessThan(destinations.indexOf("/data/cache"));
    assertThat(destinations.stream().filter("/etc/hosts"::equals)).hasSize(1);

    assertThat(mountAt(spec, "/dev/shm").get("source").asText()).isEqualTo("/run/spawnlet/sb1/shm");
    assertThat(mountAt(spec, "/etc/resolv.conf").get("source").asText())
        .isEqualTo("/var/lib/spawnlet/sb1/resolv.conf");
    assertThat(mountAt(spec, "/etc/hostname")).isNotNull();
    assertThat(mountAt(spec, "/proc").get("type").asText()).isEqualTo("proc");
    assertThat(mountAt(spec, "/dev/pts").get("type").asText()).isEqualTo("devpts");
    assertThat(mountAt(spec, "/dev/mqueue").get("type").asText()).isEqualTo("mqueue");
    assertThat(texts(mountAt(spec, "/sys/fs/cgroup").get("options"))).contains("ro");
  }

  @Test
  void shmIsPrivateTmpfsWithoutSandboxShm() {
    SandboxContext noShm =
        new SandboxContext(
            "sb1",
            sandbox.netNs(),
            sandbox.ipcNs(),
            sandbox.utsNs(),
            Optional.empty(),
            sandbox.cgroupParent(),
            "web-0",
            Optional.empty(),
            Optional.empty(),
            Optional.empty(),
            Optional.empty(),
            rootfs,
            sandbox.logDir());
    JsonNode spec = builder.build("c1", config().addCommand("x").build(), pod, IMAGE, noShm);
    assertThat(mountAt(spec, "/dev/shm").get("type").asText()).isEqualTo("tmpfs");
    assertThat(mountAt(spec, "/etc/hosts")).isNull();
  }

  @Test
  void joinsTheSandboxNamespacesAndNeedsNoHostnameThen() {
    JsonNode spec = build(config().addCommand("x").build());
    assertThat(namespaces(spec))
        .containsExactly(
            "network=/run/spawnlet/ns/net-sb1",
            "ipc=/run/spawnlet/ns/ipc-sb1",
            "uts=/run/spawnlet/ns/uts-sb1",
            "pid=",
            "mount=",
            "cgroup=");
    assertThat(spec.has("hostname")).isFalse();
    assertThat(spec.at("/linux/cgroupsPath").asText()).isEqualTo("/spawnlet/pod-u-1/c1");
    assertThat(spec.at("/linux/sysctl/net.ipv4.ip_forward").asText()).isEqualTo("1");
  }

  @Test
  void hostNetworkIpcAndPidUseTheHostsNamespaces() {
    JsonNode spec =
        build(
            withSecurity(
                LinuxContainerSecurityContext.newBuilder()
                    .setNamespaceOptions(
                        NamespaceOption.newBuilder()
                            .setNetwork(NamespaceMode.NODE)
                            .setIpc(NamespaceMode.NODE)
                            .setPid(NamespaceMode.NODE))));
    assertThat(namespaces(spec)).containsExactly("mount=", "cgroup=");
    assertThat(mountAt(spec, "/sys").get("type").asText()).isEqualTo("bind");
  }

  @Test
  void ownUtsNamespaceGetsTheHostname() {
    SandboxContext noUts =
        new SandboxContext(
            "sb1",
            sandbox.netNs(),
            sandbox.ipcNs(),
            Optional.empty(),
            Optional.empty(),
            sandbox.cgroupParent(),
            "web-0",
            Optional.empty(),
            Optional.empty(),
            Optional.empty(),
            Optional.empty(),
            rootfs,
            sandbox.logDir());
    JsonNode spec = builder.build("c1", config().addCommand("x").build(), pod, IMAGE, noUts);
    assertThat(spec.get("hostname").asText()).isEqualTo("web-0");
    assertThat(namespaces(spec)).contains("uts=");
  }

  @Test
  void targetPidModeNeedsTheTargetsNamespace() {
    ContainerConfig target =
        withSecurity(
            LinuxContainerSecurityContext.newBuilder()
                .setNamespaceOptions(
                    NamespaceOption.newBuilder()
                        .setPid(NamespaceMode.TARGET)
                        .setTargetId("other")));
    assertThatThrownBy(() -> build(target)).isInstanceOf(CriException.class);
    SandboxContext withPid =
        new SandboxContext(
            "sb1",
            sandbox.netNs(),
            sandbox.ipcNs(),
            sandbox.utsNs(),
            Optional.of(Path.of("/proc/42/ns/pid")),
            sandbox.cgroupParent(),
            "web-0",
            Optional.empty(),
            Optional.empty(),
            Optional.empty(),
            Optional.empty(),
            rootfs,
            sandbox.logDir());
    assertThat(namespaces(builder.build("c1", target, pod, IMAGE, withPid)))
        .contains("pid=/proc/42/ns/pid");
  }

  @Test
  void runtimeDefaultSeccompIsAnAllowList() {
    JsonNode spec =
        build(
            withSecurity(
                LinuxContainerSecurityContext.newBuilder()
                    .setSeccomp(
                        SecurityProfile.newBuilder()
                            .setProfileType(SecurityProfile.ProfileType.RuntimeDefault))));
    JsonNode seccomp = spec.at("/linux/seccomp");
    assertThat(seccomp.get("defaultAction").asText()).isEqualTo("SCMP_ACT_ERRNO");
    assertThat(texts(seccomp.at("/syscalls/0/names"))).contains("read", "write", "execve");
    assertThat(texts(seccomp.at("/syscalls/0/names"))).doesNotContain("mount", "unshare", "ptrace");
    assertThat(seccomp.at("/syscalls/1/names/0").asText()).isEqualTo("clone");
    assertThat(seccomp.at("/syscalls/1/args/0/op").asText()).isEqualTo("SCMP_CMP_MASKED_EQ");
  }

  @Test
  void unconfinedAndUnsetSeccompMeanNone() {
    assertThat(
            build(
                    withSecurity(
                        LinuxContainerSecurityContext.newBuilder()
                            .setSeccomp(
                                SecurityProfile.newBuilder()
                                    .setProfileType(SecurityProfile.ProfileType.Unconfined))))
                .at("/linux/seccomp")
                .isMissingNode())
        .isTrue();
    assertThat(
            build(withSecurity(LinuxContainerSecurityContext.newBuilder()))
                .at("/linux/seccomp")
                .isMissingNode())
        .isTrue();
  }

  @Test
  void localhostSeccompIsLoadedAndDockerArchMapFlattened() throws IOException {
    Path profile = tmp.resolve("profile.json");
    Files.writeString(
        profile,
        """
        {"defaultAction": "SCMP_ACT_LOG",
         "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]}],
         "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}
        """);
    JsonNode spec =
        build(
            withSecurity(
                LinuxContainerSecurityContext.newBuilder()
                    .setSeccomp(
                        SecurityProfile.newBuilder()
                            .setProfileType(SecurityProfile.ProfileType.Localhost)
                            .setLocalhostRef(profile.toString()))));
    assertThat(spec.at("/linux/seccomp/defaultAction").asText()).isEqualTo("SCMP_ACT_LOG");
    assertThat(texts(spec.at("/linux/seccomp/architectures")))
        .containsExactly("SCMP_ARCH_X86_64", "SCMP_ARCH_X86");
    assertThat(spec.at("/linux/seccomp/archMap").isMissingNode()).isTrue();
  }

  @Test
  void resourcesAndOomScore() {
    JsonNode spec =
        build(
            config()
                .addCommand("x")
                .setLinux(
                    LinuxContainerConfig.newBuilder()
                        .setResources(
                            LinuxContainerResources.newBuilder()
                                .setCpuPeriod(100000)
                                .setCpuQuota(50000)
                                .setCpuShares(512)
                                .setCpusetCpus("0-1")
                                .setMemoryLimitInBytes(256L << 20)
                                .setOomScoreAdj(900)
                                .addHugepageLimits(
                                    HugepageLimit.newBuilder().setPageSize("2MB").setLimit(1 << 21))
                                .putUnified("memory.high", "200000000")))
                .build());
    JsonNode r = spec.at("/linux/resources");
    assertThat(r.at("/cpu/period").asLong()).isEqualTo(100000);
    assertThat(r.at("/cpu/quota").asLong()).isEqualTo(50000);
    assertThat(r.at("/cpu/shares").asLong()).isEqualTo(512);
    assertThat(r.at("/cpu/cpus").asText()).isEqualTo("0-1");
    assertThat(r.at("/memory/limit").asLong()).isEqualTo(256L << 20);
    assertThat(r.at("/memory/swap").asLong()).isEqualTo(256L << 20);
    assertThat(r.at("/hugepageLimits/0/pageSize").asText()).isEqualTo("2MB");
    assertThat(r.at("/unified/memory.high").asText()).isEqualTo("200000000");
    assertThat(spec.at("/process/oomScoreAdj").asInt()).isEqualTo(900);
  }

  @Test
  void deviceFromTheHostWithItsNumbers() {
    JsonNode spec =
        build(
            config()
                .addCommand("x")
                .addDevices(
                    Device.newBuilder()
                        .setHostPath("/dev/null")
                        .setContainerPath("/dev/mynull")
                        .setPermissions("rw"))
                .build());
    assertThat(spec.at("/linux/devices/0/path").asText()).isEqualTo("/dev/mynull");
    assertThat(spec.at("/linux/devices/0/type").asText()).isEqualTo("c");
    assertThat(spec.at("/linux/devices/0/major").asInt()).isEqualTo(1);
    assertThat(spec.at("/linux/devices/0/minor").asInt()).isEqualTo(3);
    assertThat(spec.at("/linux/resources/devices/1/access").asText()).isEqualTo("rw");
    assertThatThrownBy(
            () ->
                build(
                    config()
                        .addCommand("x")
                        .addDevices(Device.newBuilder().setHostPath("/etc"))
                        .build()))
        .isInstanceOf(CriException.class);
  }

  @Test
  void kubernetesAnnotations() {
    JsonNode spec = build(config().addCommand("x").putAnnotations("user/key", "v").build());
    JsonNode a = spec.get("annotations");
    assertThat(a.get("io.kubernetes.pod.name").asText()).isEqualTo("web");
    assertThat(a.get("io.kubernetes.pod.namespace").asText()).isEqualTo("prod");
    assertThat(a.get("io.kubernetes.pod.uid").asText()).isEqualTo("u-1");
    assertThat(a.get("io.kubernetes.container.name").asText()).isEqualTo("app");
    assertThat(a.get("io.kubernetes.cri.sandbox-id").asText()).isEqualTo("sb1");
    assertThat(a.get("io.kubernetes.cri.log-path").asText())
        .isEqualTo("/var/log/pods/prod_web_u-1/app/2.log");
    assertThat(a.get("user/key").asText()).isEqualTo("v");
  }

  @Test
  void writesConfigJsonIntoTheBundle() throws IOException {
    Path bundle = tmp.resolve("bundle");
    OciSpecBuilder.write(build(config().addCommand("x").build()), bundle);
    assertThat(
            OciSpecBuilder.JSON
                .readTree(bundle.resolve("config.json").toFile())
                .get("ociVersion")
                .asText())
        .startsWith("1.");
  }

  private static List<String> namespaces(JsonNode spec) {
    List<String> out = new ArrayList<>();
    spec.at("/linux/namespaces")
        .forEach(n -> out.add(n.get("type").asText() + "=" + n.path("path").asText("")));
    return out;
  }

  private static KeyValue kv(String k, String v) {
    return KeyValue.newBuilder().setKey(k).setValue(ByteString.copyFromUtf8(v)).build();
  }
}
