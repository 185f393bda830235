package io.spawnlet.agent.cri;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.unix.DomainSocketAddress;
import io.spawnlet.agent.kubeletapi.PodStreams;
import io.spawnlet.agent.pod.ContainerPlan;
import io.spawnlet.agent.pod.MountPlan;
import io.spawnlet.agent.pod.PodPlanner;
import io.spawnlet.agent.pod.PodRuntime;
import io.spawnlet.agent.pod.PodRuntimeException;
import io.spawnlet.agent.pod.PortPlan;
import io.spawnlet.agent.pod.PullPolicy;
import io.spawnlet.agent.pod.SandboxPlan;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import runtime.v1.AttachRequest;
import runtime.v1.AuthConfig;
import runtime.v1.Capability;
import runtime.v1.ContainerConfig;
import runtime.v1.ContainerMetadata;
import runtime.v1.ContainerState;
import runtime.v1.ContainerStatusRequest;
import runtime.v1.CreateContainerRequest;
import runtime.v1.ExecRequest;
import runtime.v1.ExecSyncRequest;
import runtime.v1.ImageServiceGrpc;
import runtime.v1.ImageSpec;
import runtime.v1.ImageStatusRequest;
import runtime.v1.Int64Value;
import runtime.v1.KeyValue;
import runtime.v1.LinuxContainerConfig;
import runtime.v1.LinuxContainerResources;
import runtime.v1.LinuxContainerSecurityContext;
import runtime.v1.LinuxPodSandboxConfig;
import runtime.v1.LinuxSandboxSecurityContext;
import runtime.v1.ListContainersRequest;
import runtime.v1.ListImagesRequest;
import runtime.v1.ListPodSandboxRequest;
import runtime.v1.Mount;
import runtime.v1.NamespaceMode;
import runtime.v1.NamespaceOption;
import runtime.v1.PodSandboxConfig;
import runtime.v1.PodSandboxFilter;
import runtime.v1.PodSandboxMetadata;
import runtime.v1.PodSandboxState;
import runtime.v1.PodSandboxStatusRequest;
import runtime.v1.PortForwardRequest;
import runtime.v1.PortMapping;
import runtime.v1.Protocol;
import runtime.v1.PullImageRequest;
import runtime.v1.RemoveContainerRequest;
import runtime.v1.RemoveImageRequest;
import runtime.v1.RemovePodSandboxRequest;
import runtime.v1.RunPodSandboxRequest;
import runtime.v1.RuntimeServiceGrpc;
import runtime.v1.StartContainerRequest;
import runtime.v1.StatusRequest;
import runtime.v1.StopContainerRequest;
import runtime.v1.StopPodSandboxRequest;
import runtime.v1.VersionRequest;

/**
 * The agent's CRI client: the only class that speaks {@code runtime.v1}. It turns plans into CRI
 * requests the way the kubelet fills them and talks to the daemon over its unix socket (grpc-netty,
 * epoll domain socket). gRPC failures become {@link PodRuntimeException}s naming the call.
 */
public final class CriPodRuntime implements PodRuntime, PodStreams, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CriPodRuntime.class);
  private static final Duration CALL_DEADLINE = Duration.ofMinutes(2);
  private static final Duration PULL_DEADLINE = Duration.ofMinutes(10);
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Below the workers' 1 s poll: each poll sees a listing made after the previous poll. */
  private static final Duration LISTING_MAX_AGE = Duration.ofMillis(500);

  private static final String ACTIVATION_ANNOTATION = "spawnlet.io/activation";

  private final EventLoopGroup group =
      new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
  private final ManagedChannel channel;
  private final ContainerListing listing =
      new ContainerListing(
          new ContainerListing.Source() {
            @Override
            public List<ContainerListing.Listed> list() {
              return listAllContainers();
            }

            @Override
            public Optional<ContainerView> status(String containerId) {
              return containerStatus(containerId);
            }
          },
          LISTING_MAX_AGE);

  /**
   * Statuses of sandboxes that are not socket-activated: their IPs are fixed at RunPodSandbox and
   * they have no activation state, so one verbose PodSandboxStatus each is enough.
   */
  private final Map<String, SandboxStatus> fixedSandboxStatuses =
      new java.util.concurrent.ConcurrentHashMap<>();

  public CriPodRuntime(Path socket) {
    channel =
        NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
            .eventLoopGroup(group)
            .channelType(EpollDomainSocketChannel.class)
            .usePlaintext()
            .maxInboundMessageSize(16 * 1024 * 1024)
            .build();
  }

  private RuntimeServiceGrpc.RuntimeServiceBlockingStub runtime(Duration deadline) {
    return RuntimeServiceGrpc.newBlockingStub(channel)
        .withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS);
  }

  private RuntimeServiceGrpc.RuntimeServiceBlockingStub runtime() {
    return runtime(CALL_DEADLINE);
  }

  private ImageServiceGrpc.ImageServiceBlockingStub images(Duration deadline) {
    return ImageServiceGrpc.newBlockingStub(channel)
        .withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS);
  }

  @Override
  public List<SandboxView> sandboxes(Map<String, String> labels) {
    var response =
        call(
            "ListPodSandbox",
            () ->
                runtime()
                    .listPodSandbox(
                        ListPodSandboxRequest.newBuilder()
                            .setFilter(PodSandboxFilter.newBuilder().putAllLabelSelector(labels))
                            .build()));
    return response.getItemsList().stream()
        .map(
            s ->
                new SandboxView(
                    s.getId(),
                    s.getLabelsMap(),
                    s.getAnnotationsMap(),
                    s.getState() == PodSandboxState.SANDBOX_READY,
                    s.getCreatedAt()))
        .toList();
  }

  @Override
  public String runSandbox(SandboxPlan sandbox) {
    return call(
            "RunPodSandbox " + sandbox.key(),
            () ->
                runtime()
                    .runPodSandbox(
                        RunPodSandboxRequest.newBuilder()
                            .setConfig(sandboxConfig(sandbox))
                            .setRuntimeHandler(sandbox.runtimeHandler())
                            .build()))
        .getPodSandboxId();
  }

  @Override
  public SandboxStatus sandboxStatus(String sandboxId) {
    SandboxStatus fixed = fixedSandboxStatuses.get(sandboxId);
    if (fixed != null) {
      return fixed;
    }
    var response =
        call(
            "PodSandboxStatus " + sandboxId,
            () ->
                runtime()
                    .podSandboxStatus(
                        PodSandboxStatusRequest.newBuilder()
                            .setPodSandboxId(sandboxId)
                            .setVerbose(true)
                            .build()));
    List<String> ips = new ArrayList<>();
    var network = response.getStatus().getNetwork();
    if (!network.getIp().isEmpty()) {
      ips.add(network.getIp());
    }
    network.getAdditionalIpsList().forEach(ip -> ips.add(ip.getIp()));
    SandboxStatus status =
        new SandboxStatus(ips, activationState(response.getInfoOrDefault("info", "")));
    if (response.getStatus().getState() == PodSandboxState.SANDBOX_READY
        && !response.getStatus().getAnnotationsMap().containsKey(ACTIVATION_ANNOTATION)) {
      fixedSandboxStatuses.put(sandboxId, status);
    }
    return status;
  }

  /** The daemon puts a socket-activated pod's state under "activation" of the verbose info. */
  private static Optional<String> activationState(String info) {
    if (info.isEmpty()) {
      return Optional.empty();
    }
    try {
      JsonNode state = JSON.readTree(info).path("activation").path("state");
      return state.isTextual() ? Optional.of(state.asText()) : Optional.empty();
    } catch (JsonProcessingException e) {
      return Optional.empty();
    }
  }

  @Override
  public String runtimeVersion() {
    var v = call("Version", () -> runtime().version(VersionRequest.getDefaultInstance()));
    return v.getRuntimeName() + " " + v.getRuntimeVersion();
  }

  @Override
  public List<String> runtimeProblems() {
    try {
      var status = runtime().status(StatusRequest.getDefaultInstance()).getStatus();
      return status.getConditionsList().stream()
          .filter(c -> !c.getStatus())
          .map(c -> c.getType() + ": " + c.getReason() + " " + c.getMessage())
          .toList();
    } catch (StatusRuntimeException e) {
      return List.of("the CRI daemon does not answer: " + e.getStatus().getCode());
    }
  }

  @Override
  public ExecResult execSync(String containerId, List<String> command, Duration timeout) {
    var r =
        call(
            "ExecSync " + containerId,
            () ->
                runtime(timeout.plusSeconds(10))
                    .execSync(
                        ExecSyncRequest.newBuilder()
                            .setContainerId(containerId)
                            .addAllCmd(command)
                            .setTimeout(Math.max(1, timeout.toSeconds()))
                            .build()));
    return new ExecResult(
        r.getExitCode(), r.getStdout().toStringUtf8(), r.getStderr().toStringUtf8());
  }

  @Override
  public void stopSandbox(String sandboxId) {
    idempotent(
        "StopPodSandbox " + sandboxId,
        () ->
            runtime()
                .stopPodSandbox(
                    StopPodSandboxRequest.newBuilder().setPodSandboxId(sandboxId).build()));
    fixedSandboxStatuses.remove(sandboxId);
    listing.invalidate();
  }

  @Override
  public void removeSandbox(String sandboxId) {
    idempotent(
        "RemovePodSandbox " + sandboxId,
        () ->
            runtime()
                .removePodSandbox(
                    RemovePodSandboxRequest.newBuilder().setPodSandboxId(sandboxId).build()));
    fixedSandboxStatuses.remove(sandboxId);
    listing.invalidate();
  }

  @Override
  public void ensureImage(String image, PullPolicy policy, List<RegistryCredential> credentials) {
    ImageSpec spec = ImageSpec.newBuilder().setImage(image).build();
    boolean present =
        call(
                "ImageStatus " + image,
                () ->
                    images(CALL_DEADLINE)
                        .imageStatus(ImageStatusRequest.newBuilder().setImage(spec).build()))
            .hasImage();
    if (policy == PullPolicy.NEVER || (present && policy == PullPolicy.IF_NOT_PRESENT)) {
      if (!present) {
        throw new PodRuntimeException(
            PodRuntimeException.Kind.NOT_FOUND,
            "image "
                + image
                + " is not present and imagePullPolicy is Never: import it with"
                + " 'spawnlet image import SRC --name "
                + image
                + "'",
            null);
      }
      return;
    }
    try {
      PullImageRequest.Builder pull = PullImageRequest.newBuilder().setImage(spec);
      RegistryCredential.forImage(image, credentials)
          .ifPresent(
              c ->
                  pull.setAuth(
                      AuthConfig.newBuilder()
                          .setUsername(c.username())
                          .setPassword(c.password())
                          .setAuth(c.auth())
                          .setServerAddress(c.registry())));
      images(PULL_DEADLINE).pullImage(pull.build());
    } catch (StatusRuntimeException e) {
      if (present) {
        log.warn(
            "pulling {} failed ({}); using the image already present",
            image,
            e.getStatus().getCode());
        return;
      }
      String hint =
          e.getStatus().getCode() == Status.Code.UNIMPLEMENTED
              ? "this daemon cannot pull images yet: import it with 'spawnlet image import SRC"
                  + " --name "
                  + image
                  + "'"
              : String.valueOf(e.getStatus().getDescription());
      throw new PodRuntimeException(
          kind(e), "image " + image + " is not present and cannot be pulled: " + hint, e);
    }
  }

  @Override
  public List<String> imageIds() {
    return call(
            "ListImages",
            () -> images(CALL_DEADLINE).listImages(ListImagesRequest.getDefaultInstance()))
        .getImagesList()
        .stream()
        .map(runtime.v1.Image::getId)
        .toList();
  }

  @Override
  public void removeImage(String imageId) {
    idempotent(
        "RemoveImage " + imageId,
        () ->
            images(CALL_DEADLINE)
                .removeImage(
                    RemoveImageRequest.newBuilder()
                        .setImage(ImageSpec.newBuilder().setImage(imageId))
                        .build()));
  }

  @Override
  public List<ContainerView> containers(String sandboxId) {
    return listing.containers(sandboxId);
  }

  /** Every container of the runtime, one ListContainers (see {@link ContainerListing}). */
  private List<ContainerListing.Listed> listAllContainers() {
    return call(
            "ListContainers",
            () -> runtime().listContainers(ListContainersRequest.getDefaultInstance()))
        .getContainersList()
        .stream()
        .map(c -> new ContainerListing.Listed(c.getId(), c.getPodSandboxId(), state(c.getState())))
        .toList();
  }

  private Optional<ContainerView> containerStatus(String id) {
    runtime.v1.ContainerStatus st;
    try {
      st =
          runtime()
              .containerStatus(ContainerStatusRequest.newBuilder().setContainerId(id).build())
              .getStatus();
    } catch (StatusRuntimeException e) {
      if (e.getStatus().getCode() == Status.Code.NOT_FOUND) {
        return Optional.empty();
      }
      throw failure("ContainerStatus " + id, e);
    }
    return Optional.of(
        new ContainerView(
            st.getId(),
            st.getMetadata().getName(),
            st.getMetadata().getAttempt(),
            state(st.getState()),
            st.getExitCode(),
            st.getCreatedAt(),
            st.getStartedAt(),
            st.getFinishedAt(),
            st.getReason(),
            st.getMessage(),
            st.getImage().getImage(),
            st.getImageRef(),
            st.getLogPath()));
  }

  @Override
  public String createContainer(
      String sandboxId, SandboxPlan sandbox, ContainerPlan container, int attempt) {
    String id =
        call(
                "CreateContainer " + sandbox.key() + "/" + container.name(),
                () ->
                    runtime()
                        .createContainer(
                            CreateContainerRequest.newBuilder()
                                .setPodSandboxId(sandboxId)
                                .setConfig(containerConfig(sandbox, container, attempt))
                                .setSandboxConfig(sandboxConfig(sandbox))
                                .build()))
            .getContainerId();
    listing.invalidate();
    return id;
  }

  @Override
  public void startContainer(String containerId) {
    call(
        "StartContainer " + containerId,
        () ->
            runtime()
                .startContainer(
                    StartContainerRequest.newBuilder().setContainerId(containerId).build()));
    listing.invalidate();
  }

  @Override
  public void stopContainer(String containerId, Duration grace) {
    idempotent(
        "StopContainer " + containerId,
        () ->
            runtime(CALL_DEADLINE.plus(grace))
                .stopContainer(
                    StopContainerRequest.newBuilder()
                        .setContainerId(containerId)
                        .setTimeout(grace.toSeconds())
                        .build()));
    listing.invalidate();
  }

  @Override
  public void removeContainer(String containerId) {
    idempotent(
        "RemoveContainer " + containerId,
        () ->
            runtime()
                .removeContainer(
                    RemoveContainerRequest.newBuilder().setContainerId(containerId).build()));
    listing.invalidate();
  }

  @Override
  public void close() {
    channel.shutdownNow();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
  }

  /** The kubelet's PodSandboxConfig for a pod. */
  static PodSandboxConfig sandboxConfig(SandboxPlan s) {
    PodSandboxConfig.Builder b =
        PodSandboxConfig.newBuilder()
            .setMetadata(
                PodSandboxMetadata.newBuilder()
                    .setName(s.name())
                    .setNamespace(s.namespace())
                    .setUid(s.uid())
                    .setAttempt(0))
            .setHostname(s.hostname())
            .setLogDirectory(s.logDirectory().toString())
            .putAllLabels(s.labels())
            .putAllAnnotations(s.annotations());
    for (PortPlan p : s.ports()) {
      b.addPortMappings(
          PortMapping.newBuilder()
              .setProtocol(protocol(p.protocol()))
              .setContainerPort(p.containerPort())
              .setHostPort(p.hostPort())
              .setHostIp(p.hostIp()));
    }
    b.setLinux(
        LinuxPodSandboxConfig.newBuilder()
            .putAllSysctls(s.sysctls())
            .setSecurityContext(
                LinuxSandboxSecurityContext.newBuilder()
                    .setPrivileged(s.privileged())
                    .setNamespaceOptions(namespaces(s))));
    return b.build();
  }

  /** The kubelet's ContainerConfig for one container of a pod, attempt = restart count. */
  static ContainerConfig containerConfig(SandboxPlan s, ContainerPlan c, int attempt) {
    ContainerConfig.Builder b =
        ContainerConfig.newBuilder()
            .setMetadata(ContainerMetadata.newBuilder().setName(c.name()).setAttempt(attempt))
            .setImage(ImageSpec.newBuilder().setImage(c.image()))
            .addAllCommand(c.command())
            .addAllArgs(c.args())
            .setWorkingDir(c.workingDir())
            .setLogPath(c.name() + "/" + attempt + ".log")
            .setStdin(c.stdin())
            .setTty(c.tty())
            .putLabels(PodPlanner.CONTAINER_NAME_LABEL, c.name())
            .putLabels(PodPlanner.POD_NAME_LABEL, s.name())
            .putLabels(PodPlanner.POD_NAMESPACE_LABEL, s.namespace())
            .putLabels(PodPlanner.POD_UID_LABEL, s.uid())
            .putAnnotations("io.kubernetes.container.restartCount", Integer.toString(attempt))
            .putAnnotations(
                "io.kubernetes.container.terminationMessagePath", c.terminationMessagePath())
            .putAnnotations(
                PodPlanner.GRACE_ANNOTATION, Long.toString(s.terminationGrace().toSeconds()));
    c.env()
        .forEach(
            (k, v) ->
                b.addEnvs(
                    KeyValue.newBuilder()
                        .setKey(k)
                        .setValue(com.google.protobuf.ByteString.copyFromUtf8(v))));
    for (MountPlan m : c.mounts()) {
      b.addMounts(
          Mount.newBuilder()
              .setContainerPath(m.containerPath())
              .setHostPath(m.hostPath().toString())
              .setReadonly(m.readOnly()));
    }
    LinuxContainerSecurityContext.Builder security =
        LinuxContainerSecurityContext.newBuilder()
            .setPrivileged(c.privileged())
            .setReadonlyRootfs(c.readOnlyRootFilesystem())
            .setNamespaceOptions(namespaces(s))
            .setCapabilities(
                Capability.newBuilder()
                    .addAllAddCapabilities(c.addCapabilities())
                    .addAllDropCapabilities(c.dropCapabilities()));
    c.runAsUser().ifPresent(u -> security.setRunAsUser(Int64Value.newBuilder().setValue(u)));
    c.runAsGroup().ifPresent(g -> security.setRunAsGroup(Int64Value.newBuilder().setValue(g)));
    ContainerPlan.Resources r = c.resources();
    b.setLinux(
        LinuxContainerConfig.newBuilder()
            .setSecurityContext(security)
            .setResources(
                LinuxContainerResources.newBuilder()
                    .setCpuShares(r.cpuShares())
                    .setCpuQuota(r.cpuQuota())
                    .setCpuPeriod(r.cpuPeriod())
                    .setMemoryLimitInBytes(r.memoryLimitBytes())));
    return b.build();
  }

  private static NamespaceOption namespaces(SandboxPlan s) {
    return NamespaceOption.newBuilder()
        .setNetwork(s.hostNetwork() ? NamespaceMode.NODE : NamespaceMode.POD)
        .setPid(
            s.hostPid()
                ? NamespaceMode.NODE
                : s.shareProcessNamespace() ? NamespaceMode.POD : NamespaceMode.CONTAINER)
        .setIpc(s.hostIpc() ? NamespaceMode.NODE : NamespaceMode.POD)
        .build();
  }

  private static Protocol protocol(String name) {
    return switch (name) {
      case "UDP" -> Protocol.UDP;
      case "SCTP" -> Protocol.SCTP;
      default -> Protocol.TCP;
    };
  }

  @Override
  public URI exec(String containerId, List<String> command, StreamOptions o) {
    return URI.create(
        call(
                "Exec " + containerId,
                () ->
                    runtime()
                        .exec(
                            ExecRequest.newBuilder()
                                .setContainerId(containerId)
                                .addAllCmd(command)
                                .setTty(o.tty())
                                .setStdin(o.stdin())
                                .setStdout(o.stdout())
                                .setStderr(o.stderr())
                                .build()))
            .getUrl());
  }

  @Override
  public URI attach(String containerId, StreamOptions o) {
    return URI.create(
        call(
                "Attach " + containerId,
                () ->
                    runtime()
                        .attach(
                            AttachRequest.newBuilder()
                                .setContainerId(containerId)
                                .setTty(o.tty())
                                .setStdin(o.stdin())
                                .setStdout(o.stdout())
                                .setStderr(o.stderr())
                                .build()))
            .getUrl());
  }

  @Override
  public URI portForward(String sandboxId, List<Integer> ports) {
    return URI.create(
        call(
                "PortForward " + sandboxId,
                () ->
                    runtime()
                        .portForward(
                            PortForwardRequest.newBuilder()
                                .setPodSandboxId(sandboxId)
                                .addAllPort(ports)
                                .build()))
            .getUrl());
  }

  private static ContainerView.State state(ContainerState s) {
    return switch (s) {
      case CONTAINER_CREATED -> ContainerView.State.CREATED;
      case CONTAINER_RUNNING -> ContainerView.State.RUNNING;
      case CONTAINER_EXITED -> ContainerView.State.EXITED;
      default -> ContainerView.State.UNKNOWN;
    };
  }

  private static <T> T call(String what, Supplier<T> rpc) {
    try {
      return rpc.get();
    } catch (StatusRuntimeException e) {
      throw failure(what, e);
    }
  }

  private static void idempotent(String what, Supplier<?> rpc) {
    try {
      rpc.get();
    } catch (StatusRuntimeException e) {
      if (e.getStatus().getCode() != Status.Code.NOT_FOUND) {
        throw failure(what, e);
      }
    }
  }

  private static PodRuntimeException failure(String what, StatusRuntimeException e) {
    return new PodRuntimeException(
        kind(e),
        what + " failed: " + e.getStatus().getCode() + ": " + e.getStatus().getDescription(),
        e);
  }

  private static PodRuntimeException.Kind kind(StatusRuntimeException e) {
    return switch (e.getStatus().getCode()) {
      case NOT_FOUND -> PodRuntimeException.Kind.NOT_FOUND;
      case UNIMPLEMENTED -> PodRuntimeException.Kind.UNIMPLEMENTED;
      case UNAVAILABLE -> PodRuntimeException.Kind.UNAVAILABLE;
      default -> PodRuntimeException.Kind.FAILED;
    };
  }
}
