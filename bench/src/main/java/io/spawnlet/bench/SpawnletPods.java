package io.spawnlet.bench;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import runtime.v1.ContainerConfig;
import runtime.v1.ContainerMetadata;
import runtime.v1.CreateContainerRequest;
import runtime.v1.ImageSpec;
import runtime.v1.PodSandboxConfig;
import runtime.v1.PodSandboxMetadata;
import runtime.v1.PodSandboxStatusRequest;
import runtime.v1.PodSandboxStatusResponse;
import runtime.v1.RemovePodSandboxRequest;
import runtime.v1.RunPodSandboxRequest;
import runtime.v1.RuntimeServiceGrpc.RuntimeServiceBlockingStub;
import runtime.v1.StartContainerRequest;
import runtime.v1.StopPodSandboxRequest;

/**
 * The spawnlet side of the activation benchmark, through the CRI: system pods of the Debian image
 * (systemd as PID 1), socket-activated on port 80 or plain, and their activation state as the
 * verbose PodSandboxStatus reports it.
 *
 * @param runId marks this run's pods (the {@link BenchPodConfigs#RUN_LABEL} label)
 */
record SpawnletPods(RuntimeServiceBlockingStub runtime, String image, Path logRoot, String runId) {
  static final int HTTP_PORT = 80;
  private static final long CALL_TIMEOUT_S = 180;
  private static final Pattern STATE = Pattern.compile("\"state\"\\s*:\\s*\"(\\w+)\"");
  private static final Pattern HOLDER = Pattern.compile("\"holderPid\"\\s*:\\s*(\\d+)");

  /** A pod with its one started container. */
  record Pod(String podId, String containerId, InetSocketAddress http, long createStartNanos) {}

  /** A socket-activated pod on port 80; it sleeps once this returns ("0": it never sleeps). */
  Pod activated(String name, String idleTimeout) {
    return run(
        name,
        Map.of(
            "spawnlet.io/system",
            "true",
            "spawnlet.io/activation",
            "socket",
            "spawnlet.io/idle-timeout",
            idleTimeout,
            "spawnlet.io/activation-ports",
            HTTP_PORT + "/tcp"));
  }

  /** A plain system pod: StartContainer returns once systemd inside said READY=1. */
  Pod plain(String name) {
    return run(name, Map.of("spawnlet.io/system", "true"));
  }

  private Pod run(String name, Map<String, String> annotations) {
    String uid = runId + "-" + name;
    PodSandboxConfig sandbox =
        PodSandboxConfig.newBuilder()
            .setMetadata(
                PodSandboxMetadata.newBuilder()
                    .setName(name)
                    .setUid(uid)
                    .setNamespace("spawnlet-bench")
                    .setAttempt(0))
            .setHostname(name)
            .setLogDirectory(logRoot.resolve(name + "_" + uid).toString())
            .putLabels(BenchPodConfigs.RUN_LABEL, runId)
            .putAllAnnotations(annotations)
            .build();
    String podId =
        cri()
            .runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(sandbox).build())
            .getPodSandboxId();
    ContainerConfig container =
        ContainerConfig.newBuilder()
            .setMetadata(ContainerMetadata.newBuilder().setName("os").setAttempt(0))
            .setImage(ImageSpec.newBuilder().setImage(image))
            .setLogPath("os/0.log")
            .putLabels(BenchPodConfigs.RUN_LABEL, runId)
            .build();
    long start = System.nanoTime();
    String containerId =
        cri()
            .createContainer(
                CreateContainerRequest.newBuilder()
                    .setPodSandboxId(podId)
                    .setConfig(container)
                    .setSandboxConfig(sandbox)
                    .build())
            .getContainerId();
    cri().startContainer(StartContainerRequest.newBuilder().setContainerId(containerId).build());
    long took = System.nanoTime() - start;
    String ip = status(podId).getStatus().getNetwork().getIp();
    return new Pod(podId, containerId, new InetSocketAddress(ip, HTTP_PORT), took);
  }

  /** "sleeping", "waking" or "running" (empty for a pod that is not socket-activated). */
  Optional<String> activationState(String podId) {
    return field(podId, STATE);
  }

  /** The pid of the process that holds the pod's listening sockets. */
  long holderPid(String podId) {
    return field(podId, HOLDER)
        .map(Long::parseLong)
        .orElseThrow(() -> new IllegalStateException("pod " + podId + " reports no holderPid"));
  }

  private Optional<String> field(String podId, Pattern pattern) {
    String activation = status(podId).getInfoMap().getOrDefault("info", "");
    Matcher m = pattern.matcher(activation);
    return m.find() ? Optional.of(m.group(1)) : Optional.empty();
  }

  private PodSandboxStatusResponse status(String podId) {
    return cri()
        .podSandboxStatus(
            PodSandboxStatusRequest.newBuilder().setPodSandboxId(podId).setVerbose(true).build());
  }

  void remove(String podId) {
    cri().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(podId).build());
    cri().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(podId).build());
  }

  private RuntimeServiceBlockingStub cri() {
    return runtime.withDeadlineAfter(CALL_TIMEOUT_S, TimeUnit.SECONDS);
  }
}
