package io.spawnlet.bench;

import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import runtime.v1.ContainerConfig;
import runtime.v1.ContainerState;
import runtime.v1.ContainerStatusRequest;
import runtime.v1.CreateContainerRequest;
import runtime.v1.PodSandboxConfig;
import runtime.v1.RemoveContainerRequest;
import runtime.v1.RemovePodSandboxRequest;
import runtime.v1.RunPodSandboxRequest;
import runtime.v1.RuntimeServiceGrpc.RuntimeServiceBlockingStub;
import runtime.v1.StartContainerRequest;
import runtime.v1.StopContainerRequest;
import runtime.v1.StopPodSandboxRequest;

/**
 * Takes one pod through its whole life the way kubelet does, one call after the other, and times
 * each {@link Operation}. Between timed steps it checks (untimed) that the container really runs,
 * so a runtime cannot look fast by skipping work. On failure it removes what it made and throws.
 */
final class PodCycle {

  private final RuntimeServiceBlockingStub runtime;
  private final BenchPodConfigs configs;
  private final String runtimeHandler;
  private final long callTimeoutSeconds;

  PodCycle(
      RuntimeServiceBlockingStub runtime,
      BenchPodConfigs configs,
      String runtimeHandler,
      long callTimeoutSeconds) {
    this.runtime = runtime;
    this.configs = configs;
    this.runtimeHandler = runtimeHandler;
    this.callTimeoutSeconds = callTimeoutSeconds;
  }

  PodTimings run(int index) {
    PodSandboxConfig sandboxConfig = configs.sandbox(index);
    ContainerConfig containerConfig = configs.sleeper();
    createLogDirectories(sandboxConfig, containerConfig);
    Map<Operation, Long> nanos = new EnumMap<>(Operation.class);
    String podId = null;
    boolean podRemoved = false;
    Operation current = Operation.RUN_POD_SANDBOX;
    try {
      long start = System.nanoTime();
      podId =
          stub()
              .runPodSandbox(
                  RunPodSandboxRequest.newBuilder()
                      .setConfig(sandboxConfig)
                      .setRuntimeHandler(runtimeHandler)
                      .build())
              .getPodSandboxId();
      nanos.put(Operation.RUN_POD_SANDBOX, System.nanoTime() - start);

      current = Operation.CREATE_START_CONTAINER;
      start = System.nanoTime();
      String containerId =
          stub()
              .createContainer(
                  CreateContainerRequest.newBuilder()
                      .setPodSandboxId(podId)
                      .setConfig(containerConfig)
                      .setSandboxConfig(sandboxConfig)
                      .build())
              .getContainerId();
      stub().startContainer(StartContainerRequest.newBuilder().setContainerId(containerId).build());
      nanos.put(Operation.CREATE_START_CONTAINER, System.nanoTime() - start);
      requireRunning(containerId);

      current = Operation.STOP_REMOVE_CONTAINER;
      start = System.nanoTime();
      stub()
          .stopContainer(
              StopContainerRequest.newBuilder().setContainerId(containerId).setTimeout(0).build());
      stub()
          .removeContainer(RemoveContainerRequest.newBuilder().setContainerId(containerId).build());
      nanos.put(Operation.STOP_REMOVE_CONTAINER, System.nanoTime() - start);

      current = Operation.STOP_REMOVE_POD_SANDBOX;
      start = System.nanoTime();
      stub().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(podId).build());
      stub().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(podId).build());
      nanos.put(Operation.STOP_REMOVE_POD_SANDBOX, System.nanoTime() - start);
      podRemoved = true;
      return new PodTimings(nanos);
    } catch (StatusRuntimeException | IllegalStateException e) {
      throw new IllegalStateException(
          "pod " + index + ": " + current.label() + " failed: " + e.getMessage(), e);
    } finally {
      if (podId != null && !podRemoved) {
        LeftoverPods.removeQuietly(stub(), podId);
      }
    }
  }

  private void requireRunning(String containerId) {
    ContainerState state =
        stub()
            .containerStatus(
                ContainerStatusRequest.newBuilder().setContainerId(containerId).build())
            .getStatus()
            .getState();
    if (state != ContainerState.CONTAINER_RUNNING) {
      throw new IllegalStateException(
          "container " + containerId + " is " + state + " right after StartContainer, not running");
    }
  }

  private static void createLogDirectories(PodSandboxConfig sandbox, ContainerConfig container) {
    // kubelet makes these before RunPodSandbox/CreateContainer; runtimes expect them to exist.
    Path podLogs = Path.of(sandbox.getLogDirectory());
    try {
      Files.createDirectories(podLogs.resolve(container.getLogPath()).getParent());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create the pod log directory " + podLogs, e);
    }
  }

  private RuntimeServiceBlockingStub stub() {
    return runtime.withDeadlineAfter(callTimeoutSeconds, TimeUnit.SECONDS);
  }
}
