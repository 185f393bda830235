package io.spawnlet.cri.grpc;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.spawnlet.cri.container.ContainerCreator;
import io.spawnlet.cri.container.ContainerLifecycle;
import io.spawnlet.cri.container.ContainerQueries;
import io.spawnlet.cri.events.ContainerEvents;
import io.spawnlet.cri.info.RuntimeInfo;
import io.spawnlet.cri.sandbox.PodSandboxQueries;
import io.spawnlet.cri.sandbox.PodSandboxRunner;
import io.spawnlet.cri.sandbox.PodSandboxTeardown;
import io.spawnlet.cri.streaming.StreamingService;
import runtime.v1.*;

/** CRI RuntimeService: each RPC delegates to the class that owns its operation family. */
public final class RuntimeServiceEndpoint extends RuntimeServiceGrpc.RuntimeServiceImplBase {
  private final RpcCalls rpc;
  private final RuntimeInfo info;
  private final PodSandboxRunner sandboxRunner;
  private final PodSandboxTeardown sandboxTeardown;
  private final PodSandboxQueries sandboxQueries;
  private final ContainerCreator containerCreator;
  private final ContainerLifecycle containers;
  private final ContainerQueries containerQueries;
  private final ContainerEvents events;
  private final StreamingService streaming;

  public RuntimeServiceEndpoint(
      java.util.function.BooleanSupplier ready,
      RuntimeInfo info,
      PodSandboxRunner sandboxRunner,
      PodSandboxTeardown sandboxTeardown,
      PodSandboxQueries sandboxQueries,
      ContainerCreator containerCreator,
      ContainerLifecycle containers,
      ContainerQueries containerQueries,
      ContainerEvents events,
      StreamingService streaming) {
    this.rpc = new RpcCalls(ready);
    this.info = info;
    this.sandboxRunner = sandboxRunner;
    this.sandboxTeardown = sandboxTeardown;
    this.sandboxQueries = sandboxQueries;
    this.containerCreator = containerCreator;
    this.containers = containers;
    this.containerQueries = containerQueries;
    this.events = events;
    this.streaming = streaming;
  }

  @Override
  public void version(VersionRequest req, StreamObserver<VersionResponse> out) {
    rpc.unary("Version", req, out, () -> info.version(req));
  }

  @Override
  public void status(StatusRequest req, StreamObserver<StatusResponse> out) {
    rpc.unary("Status", req, out, () -> info.status(req));
  }

  @Override
  public void runtimeConfig(RuntimeConfigRequest req, StreamObserver<RuntimeConfigResponse> out) {
    rpc.unary("RuntimeConfig", req, out, info::runtimeConfig);
  }

  @Override
  public void updateRuntimeConfig(
      UpdateRuntimeConfigRequest req, StreamObserver<UpdateRuntimeConfigResponse> out) {
    rpc.unary("UpdateRuntimeConfig", req, out, () -> info.updateRuntimeConfig(req));
  }

  @Override
  public void runPodSandbox(RunPodSandboxRequest req, StreamObserver<RunPodSandboxResponse> out) {
    rpc.unary("RunPodSandbox", req, out, () -> sandboxRunner.run(req));
  }

  @Override
  public void stopPodSandbox(
      StopPodSandboxRequest req, StreamObserver<StopPodSandboxResponse> out) {
    rpc.unary("StopPodSandbox", req, out, () -> sandboxTeardown.stop(req));
  }

  @Override
  public void removePodSandbox(
      RemovePodSandboxRequest req, StreamObserver<RemovePodSandboxResponse> out) {
    rpc.unary("RemovePodSandbox", req, out, () -> sandboxTeardown.remove(req));
  }

  @Override
  public void podSandboxStatus(
      PodSandboxStatusRequest req, StreamObserver<PodSandboxStatusResponse> out) {
    rpc.unary("PodSandboxStatus", req, out, () -> sandboxQueries.status(req));
  }

  @Override
  public void listPodSandbox(
      ListPodSandboxRequest req, StreamObserver<ListPodSandboxResponse> out) {
    rpc.unary("ListPodSandbox", req, out, () -> sandboxQueries.list(req));
  }

  @Override
  public void podSandboxStats(
      PodSandboxStatsRequest req, StreamObserver<PodSandboxStatsResponse> out) {
    rpc.unary("PodSandboxStats", req, out, () -> sandboxQueries.stats(req));
  }

  @Override
  public void listPodSandboxStats(
      ListPodSandboxStatsRequest req, StreamObserver<ListPodSandboxStatsResponse> out) {
    rpc.unary("ListPodSandboxStats", req, out, () -> sandboxQueries.listStats(req));
  }

  @Override
  public void listPodSandboxMetrics(
      ListPodSandboxMetricsRequest req, StreamObserver<ListPodSandboxMetricsResponse> out) {
    rpc.unary("ListPodSandboxMetrics", req, out, ListPodSandboxMetricsResponse::getDefaultInstance);
  }

  @Override
  public void listMetricDescriptors(
      ListMetricDescriptorsRequest req, StreamObserver<ListMetricDescriptorsResponse> out) {
    rpc.unary("ListMetricDescriptors", req, out, ListMetricDescriptorsResponse::getDefaultInstance);
  }

  @Override
  public void createContainer(
      CreateContainerRequest req, StreamObserver<CreateContainerResponse> out) {
    rpc.unary("CreateContainer", req, out, () -> containerCreator.create(req));
  }

  @Override
  public void startContainer(
      StartContainerRequest req, StreamObserver<StartContainerResponse> out) {
    rpc.unary("StartContainer", req, out, () -> containers.start(req));
  }

  @Override
  public void stopContainer(StopContainerRequest req, StreamObserver<StopContainerResponse> out) {
    rpc.unary("StopContainer", req, out, () -> containers.stop(req));
  }

  @Override
  public void removeContainer(
      RemoveContainerRequest req, StreamObserver<RemoveContainerResponse> out) {
    rpc.unary("RemoveContainer", req, out, () -> containers.remove(req));
  }

  @Override
  public void containerStatus(
      ContainerStatusRequest req, StreamObserver<ContainerStatusResponse> out) {
    rpc.unary("ContainerStatus", req, out, () -> containerQueries.status(req));
  }

  @Override
  public void listContainers(
      ListContainersRequest req, StreamObserver<ListContainersResponse> out) {
    rpc.unary("ListContainers", req, out, () -> containerQueries.list(req));
  }

  @Override
  public void containerStats(
      ContainerStatsRequest req, StreamObserver<ContainerStatsResponse> out) {
    rpc.unary("ContainerStats", req, out, () -> containerQueries.stats(req));
  }

  @Override
  public void listContainerStats(
      ListContainerStatsRequest req, StreamObserver<ListContainerStatsResponse> out) {
    rpc.unary("ListContainerStats", req, out, () -> containerQueries.listStats(req));
  }

  @Override
  public void updateContainerResources(
      UpdateContainerResourcesRequest req, StreamObserver<UpdateContainerResourcesResponse> out) {
    rpc.unary("UpdateContainerResources", req, out, () -> containers.updateResources(req));
  }

  @Override
  public void reopenContainerLog(
      ReopenContainerLogRequest req, StreamObserver<ReopenContainerLogResponse> out) {
    rpc.unary("ReopenContainerLog", req, out, () -> containers.reopenLog(req));
  }

  @Override
  public void execSync(ExecSyncRequest req, StreamObserver<ExecSyncResponse> out) {
    rpc.unary("ExecSync", req, out, () -> containers.execSync(req));
  }

  @Override
  public void checkpointContainer(
      CheckpointContainerRequest req, StreamObserver<CheckpointContainerResponse> out) {
    unimplemented("CheckpointContainer", out);
  }

  @Override
  public void updatePodSandboxResources(
      UpdatePodSandboxResourcesRequest req, StreamObserver<UpdatePodSandboxResourcesResponse> out) {
    unimplemented("UpdatePodSandboxResources", out);
  }

  @Override
  public void exec(ExecRequest req, StreamObserver<ExecResponse> out) {
    rpc.unary("Exec", req, out, () -> streaming.exec(req));
  }

  @Override
  public void attach(AttachRequest req, StreamObserver<AttachResponse> out) {
    rpc.unary("Attach", req, out, () -> streaming.attach(req));
  }

  @Override
  public void portForward(PortForwardRequest req, StreamObserver<PortForwardResponse> out) {
    rpc.unary("PortForward", req, out, () -> streaming.portForward(req));
  }

  @Override
  public void getContainerEvents(GetEventsRequest req, StreamObserver<ContainerEventResponse> out) {
    events.subscribe((io.grpc.stub.ServerCallStreamObserver<ContainerEventResponse>) out);
  }

  private static void unimplemented(String what, StreamObserver<?> out) {
    out.onError(
        Status.UNIMPLEMENTED
            .withDescription(what + " is not implemented by spawnlet yet")
            .asRuntimeException());
  }
}
