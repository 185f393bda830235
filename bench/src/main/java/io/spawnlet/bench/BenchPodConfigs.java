package io.spawnlet.bench;

import java.nio.file.Path;
import java.util.List;
import runtime.v1.ContainerConfig;
import runtime.v1.ContainerMetadata;
import runtime.v1.ImageSpec;
import runtime.v1.LinuxContainerConfig;
import runtime.v1.LinuxContainerSecurityContext;
import runtime.v1.LinuxPodSandboxConfig;
import runtime.v1.LinuxSandboxSecurityContext;
import runtime.v1.NamespaceMode;
import runtime.v1.NamespaceOption;
import runtime.v1.PodSandboxConfig;
import runtime.v1.PodSandboxMetadata;

/**
 * The pod and container configurations sent to every runtime under test, identical for all of them
 * so the comparison is fair. Namespaces are what kubelet asks for by default: pod network and IPC,
 * a PID namespace per container; no port mappings, no resources, no cgroup parent unless one is
 * given.
 *
 * @param runId distinguishes this run's pods (names, uids and the {@link #RUN_LABEL} label)
 * @param image the image reference of the sleeping container, already present in the runtime
 * @param logRoot the directory under which each pod gets its log directory
 * @param cgroupParent the pod cgroup parent, or empty to leave the choice to the runtime
 */
public record BenchPodConfigs(String runId, String image, Path logRoot, String cgroupParent) {

  /** Label every benchmark pod carries; its value is the run id. */
  public static final String RUN_LABEL = "io.spawnlet.bench/run";

  static final String NAMESPACE = "spawnlet-bench";
  static final String CONTAINER_NAME = "sleeper";
  static final List<String> SLEEP_COMMAND = List.of("sleep", "3600");

  private static final NamespaceOption KUBELET_DEFAULT_NAMESPACES =
      NamespaceOption.newBuilder()
          .setNetwork(NamespaceMode.POD)
          .setIpc(NamespaceMode.POD)
          .setPid(NamespaceMode.CONTAINER)
          .build();

  public PodSandboxConfig sandbox(int index) {
    String name = "bench-" + runId + "-" + index;
    String uid = runId + "-" + index;
    LinuxPodSandboxConfig.Builder linux =
        LinuxPodSandboxConfig.newBuilder()
            .setSecurityContext(
                LinuxSandboxSecurityContext.newBuilder()
                    .setNamespaceOptions(KUBELET_DEFAULT_NAMESPACES));
    if (!cgroupParent.isEmpty()) {
      linux.setCgroupParent(cgroupParent);
    }
    return PodSandboxConfig.newBuilder()
        .setMetadata(
            PodSandboxMetadata.newBuilder()
                .setName(name)
                .setUid(uid)
                .setNamespace(NAMESPACE)
                .setAttempt(0))
        .setHostname(name)
        .setLogDirectory(logRoot.resolve(NAMESPACE + "_" + name + "_" + uid).toString())
        .putLabels(RUN_LABEL, runId)
        .setLinux(linux)
        .build();
  }

  public ContainerConfig sleeper() {
    return ContainerConfig.newBuilder()
        .setMetadata(ContainerMetadata.newBuilder().setName(CONTAINER_NAME).setAttempt(0))
        .setImage(ImageSpec.newBuilder().setImage(image))
        .addAllCommand(SLEEP_COMMAND)
        .setLogPath(CONTAINER_NAME + "/0.log")
        .putLabels(RUN_LABEL, runId)
        .setLinux(
            LinuxContainerConfig.newBuilder()
                .setSecurityContext(
                    LinuxContainerSecurityContext.newBuilder()
                        .setNamespaceOptions(KUBELET_DEFAULT_NAMESPACES)))
        .build();
  }
}
