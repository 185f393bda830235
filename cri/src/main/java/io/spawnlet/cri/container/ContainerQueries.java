package io.spawnlet.cri.container;

import io.spawnlet.cri.host.CgroupAccounting;
import io.spawnlet.cri.host.CgroupStats;
import io.spawnlet.cri.sandbox.PodSandboxQueries;
import io.spawnlet.cri.store.ContainerRecord;
import io.spawnlet.cri.store.SandboxRecord;
import io.spawnlet.cri.store.StateStore;
import java.util.Comparator;
import java.util.List;
import runtime.v1.ContainerAttributes;
import runtime.v1.ContainerConfig;
import runtime.v1.ContainerFilter;
import runtime.v1.ContainerMetadata;
import runtime.v1.ContainerState;
import runtime.v1.ContainerStats;
import runtime.v1.ContainerStatsFilter;
import runtime.v1.ContainerStatsRequest;
import runtime.v1.ContainerStatsResponse;
import runtime.v1.ContainerStatus;
import runtime.v1.ContainerStatusRequest;
import runtime.v1.ContainerStatusResponse;
import runtime.v1.CpuUsage;
import runtime.v1.FilesystemIdentifier;
import runtime.v1.FilesystemUsage;
import runtime.v1.ImageSpec;
import runtime.v1.LinuxPodSandboxStats;
import runtime.v1.ListContainerStatsRequest;
import runtime.v1.ListContainerStatsResponse;
import runtime.v1.ListContainersRequest;
import runtime.v1.ListContainersResponse;
import runtime.v1.MemoryUsage;
import runtime.v1.PodSandboxAttributes;
import runtime.v1.PodSandboxMetadata;
import runtime.v1.PodSandboxStats;
import runtime.v1.ProcessUsage;
import runtime.v1.UInt64Value;

/** ContainerStatus, ListContainers (all filters), ContainerStats, ListContainerStats, pod stats. */
public final class ContainerQueries {
  private final StateStore state;
  private final ContainerBundles bundles;
  private final CgroupAccounting cgroups;

  // Socket activation hook (io.spawnlet.cri.activation): a no-op unless the daemon sets it.
  private io.spawnlet.cri.activation.PodActivation activation =
      io.spawnlet.cri.activation.PodActivation.NONE;

  public void useActivation(io.spawnlet.cri.activation.PodActivation activation) {
    this.activation = activation;
  }

  public ContainerQueries(StateStore state, ContainerBundles bundles, CgroupAccounting cgroups) {
    this.state = state;
    this.bundles = bundles;
    this.cgroups = cgroups;
  }

  public ContainerStatusResponse status(ContainerStatusRequest req) {
    ContainerRecord c = state.container("container_id", req.getContainerId());
    ContainerStatusResponse.Builder b = ContainerStatusResponse.newBuilder().setStatus(status(c));
    if (req.getVerbose()) {
      b.putInfo("info", withActivation(bundles.verboseInfo(c), c.sandboxId()));
    }
    return b.build();
  }

  /** Adds the pod's socket activation state (if any) to the verbose info as "activation". */
  private String withActivation(String info, String sandboxId) {
    var a = activation.info(sandboxId);
    if (a.isEmpty()) {
      return info;
    }
    try {
      var json = new com.fasterxml.jackson.databind.ObjectMapper();
      var node = (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(info);
      node.set("activation", json.valueToTree(a.get()));
      return json.writeValueAsString(node);
    } catch (java.io.IOException | ClassCastException e) {
      return info;
    }
  }

  public List<ContainerStatus> statusesOf(String sandboxId) {
    return state.containersOf(sandboxId).stream().map(this::status).toList();
  }

  private ContainerStatus status(ContainerRecord c) {
    ContainerConfig config = ContainerCreator.fromJson(c.configJson());
    ContainerStatus.Builder b =
        ContainerStatus.newBuilder()
            .setId(c.id())
            .setMetadata(metadata(c))
            .setState(state(c))
            .setCreatedAt(c.createdAtNanos())
            .setStartedAt(c.startedAtNanos())
            .setFinishedAt(c.finishedAtNanos())
            .setExitCode(c.exitCode())
            .setImage(ImageSpec.newBuilder().setImage(c.imageRef()))
            .setImageRef(c.imageId())
            .setImageId(c.imageId())
            .setReason(c.reason())
            .setMessage(c.message())
            .putAllLabels(c.labels())
            .putAllAnnotations(c.annotations())
            .addAllMounts(config.getMountsList())
            .setLogPath(c.logPath());
    if (config.hasLinux() && config.getLinux().hasResources()) {
      b.setResources(
          runtime.v1.ContainerResources.newBuilder().setLinux(config.getLinux().getResources()));
    }
    return b.build();
  }

  public ListContainersResponse list(ListContainersRequest req) {
    ContainerFilter f = req.getFilter();
    return ListContainersResponse.newBuilder()
        .addAllContainers(
            state.containers.all().stream()
                .filter(c -> selected(c, f.getId(), f.getPodSandboxId(), f.getLabelSelectorMap()))
                .filter(c -> !f.hasState() || state(c) == f.getState().getState())
                .sorted(Comparator.comparingLong(ContainerRecord::createdAtNanos))
                .map(
                    c ->
                        runtime.v1.Container.newBuilder()
                            .setId(c.id())
                            .setPodSandboxId(c.sandboxId())
                            .setMetadata(metadata(c))
                            .setImage(ImageSpec.newBuilder().setImage(c.imageRef()))
                            .setImageRef(c.imageId())
                            .setImageId(c.imageId())
                            .setState(state(c))
                            .setCreatedAt(c.createdAtNanos())
                            .putAllLabels(c.labels())
                            .putAllAnnotations(c.annotations())
                            .build())
                .toList())
        .build();
  }

  public ContainerStatsResponse stats(ContainerStatsRequest req) {
    ContainerRecord c = state.container("container_id", req.getContainerId());
    return ContainerStatsResponse.newBuilder().setStats(stats(c)).build();
  }

  public ListContainerStatsResponse listStats(ListContainerStatsRequest req) {
    ContainerStatsFilter f = req.getFilter();
    return ListContainerStatsResponse.newBuilder()
        .addAllStats(
            state.containers.all().stream()
                .filter(c -> selected(c, f.getId(), f.getPodSandboxId(), f.getLabelSelectorMap()))
                .filter(c -> c.state() == ContainerRecord.State.RUNNING)
                .map(this::stats)
                .toList())
        .build();
  }

  /** The filter fields ListContainers and ListContainerStats share; ids match by prefix. */
  private static boolean selected(
      ContainerRecord c, String id, String sandboxId, java.util.Map<String, String> labels) {
    return c.id().startsWith(id)
        && c.sandboxId().startsWith(sandboxId)
        && PodSandboxQueries.matches(c.labels(), labels);
  }

  private ContainerStats stats(ContainerRecord c) {
    String cgroup = bundles.cgroupPath(c);
    CgroupStats cg = cgroups.read(cgroup);
    var usage = bundles.writableLayerUsage(c);
    long now = System.currentTimeMillis() * 1_000_000L;
    return ContainerStats.newBuilder()
        .setAttributes(
            ContainerAttributes.newBuilder()
                .setId(c.id())
                .setMetadata(metadata(c))
                .putAllLabels(c.labels())
                .putAllAnnotations(c.annotations()))
        .setCpu(cpu(cg, now))
        .setMemory(memory(cg, now))
        .setWritableLayer(
            FilesystemUsage.newBuilder()
                .setTimestamp(now)
                .setFsId(FilesystemIdentifier.newBuilder().setMountpoint(usage.mountpoint()))
                .setUsedBytes(u64(usage.bytes()))
                .setInodesUsed(u64(usage.inodes())))
        .build();
  }

  /** Pod stats: the pod cgroup's usage plus each running container's. */
  public PodSandboxStats podStats(SandboxRecord s, PodSandboxMetadata md) {
    CgroupStats cg = cgroups.read(s.cgroupParent());
    long now = System.currentTimeMillis() * 1_000_000L;
    LinuxPodSandboxStats.Builder linux =
        LinuxPodSandboxStats.newBuilder()
            .setCpu(cpu(cg, now))
            .setMemory(memory(cg, now))
            .setProcess(
                ProcessUsage.newBuilder().setTimestamp(now).setProcessCount(u64(cg.pidsCurrent())));
    state.containersOf(s.id()).stream()
        .filter(c -> c.state() == ContainerRecord.State.RUNNING)
        .forEach(c -> linux.addContainers(stats(c)));
    return PodSandboxStats.newBuilder()
        .setAttributes(
            PodSandboxAttributes.newBuilder()
                .setId(s.id())
                .setMetadata(md)
                .putAllLabels(s.labels())
                .putAllAnnotations(s.annotations()))
        .setLinux(linux)
        .build();
  }

  private static CpuUsage cpu(CgroupStats cg, long now) {
    return CpuUsage.newBuilder()
        .setTimestamp(now)
        .setUsageCoreNanoSeconds(u64(cg.cpuUsageNanos()))
        .build();
  }

  private static MemoryUsage memory(CgroupStats cg, long now) {
    return MemoryUsage.newBuilder()
        .setTimestamp(now)
        .setWorkingSetBytes(u64(cg.workingSetBytes()))
        .setUsageBytes(u64(cg.memoryUsageBytes()))
        .setRssBytes(u64(cg.rssBytes()))
        .setPageFaults(u64(cg.pageFaults()))
        .setMajorPageFaults(u64(cg.majorPageFaults()))
        .build();
  }

  private static UInt64Value u64(long v) {
    return UInt64Value.newBuilder().setValue(Math.max(0, v)).build();
  }

  private static UInt64Value u64(java.util.OptionalLong v) {
    return u64(v.orElse(0));
  }

  static ContainerMetadata metadata(ContainerRecord c) {
    return ContainerMetadata.newBuilder().setName(c.name()).setAttempt(c.attempt()).build();
  }

  static ContainerState state(ContainerRecord c) {
    return switch (c.state()) {
      case CREATED -> ContainerState.CONTAINER_CREATED;
      case RUNNING -> ContainerState.CONTAINER_RUNNING;
      case EXITED -> ContainerState.CONTAINER_EXITED;
      case UNKNOWN -> ContainerState.CONTAINER_UNKNOWN;
    };
  }
}
