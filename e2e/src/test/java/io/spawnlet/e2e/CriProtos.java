package io.spawnlet.e2e;

import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import runtime.v1.ContainerConfig;
import runtime.v1.ContainerMetadata;
import runtime.v1.ImageSpec;
import runtime.v1.KeyValue;
import runtime.v1.PodSandboxConfig;
import runtime.v1.PodSandboxMetadata;

/**
 * The CRI messages the gRPC suites send, shaped the way the kubelet fills them: a pod with
 * metadata, hostname, a log directory under the daemon's temp tree and a label marking it as ours;
 * a container logging to {@code <name>/0.log}.
 */
final class CriProtos {
  static final String BUSYBOX = "docker.io/library/busybox:latest";

  private final Path podLogs;

  /**
   * @param podLogs the parent of the pods' log directories
   */
  CriProtos(Path podLogs) {
    this.podLogs = podLogs;
  }

  /** A pod in namespace "default" with a fresh uid; build on it to add labels, ports, ... */
  PodSandboxConfig.Builder pod(String name) {
    String uid = UUID.randomUUID().toString();
    return PodSandboxConfig.newBuilder()
        .setMetadata(
            PodSandboxMetadata.newBuilder()
                .setName(name)
                .setNamespace("default")
                .setUid(uid)
                .setAttempt(0))
        .setHostname(name.length() > 63 ? name.substring(0, 63) : name)
        .setLogDirectory(podLogs.resolve("default_" + name + "_" + uid).toString())
        .putLabels("io.spawnlet.e2e", "true");
  }

  /** A busybox container running {@code command}. */
  static ContainerConfig.Builder container(String name, List<String> command) {
    return ContainerConfig.newBuilder()
        .setMetadata(ContainerMetadata.newBuilder().setName(name).setAttempt(0))
        .setImage(ImageSpec.newBuilder().setImage(BUSYBOX))
        .addAllCommand(command)
        .setLogPath(name + "/0.log")
        .addEnvs(
            KeyValue.newBuilder()
                .setKey("E2E")
                .setValue(com.google.protobuf.ByteString.copyFromUtf8("1")));
  }

  /** A short random suffix for names that must not collide with concurrent runs. */
  static String suffix() {
    return UUID.randomUUID().toString().substring(0, 8);
  }
}
