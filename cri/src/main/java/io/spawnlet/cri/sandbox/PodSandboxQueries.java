package io.spawnlet.cri.sandbox;

import io.spawnlet.cri.container.ContainerQueries;
import io.spawnlet.cri.store.SandboxRecord;
import io.spawnlet.cri.store.StateStore;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import runtime.v1.LinuxPodSandboxStatus;
import runtime.v1.ListPodSandboxRequest;
import runtime.v1.ListPodSandboxResponse;
import runtime.v1.ListPodSandboxStatsRequest;
import runtime.v1.ListPodSandboxStatsResponse;
import runtime.v1.Namespace;
import runtime.v1.PodIP;
import runtime.v1.PodSandbox;
import runtime.v1.PodSandboxConfig;
import runtime.v1.PodSandboxFilter;
import runtime.v1.PodSandboxMetadata;
import runtime.v1.PodSandboxNetworkStatus;
import runtime.v1.PodSandboxState;
import runtime.v1.PodSandboxStats;
import runtime.v1.PodSandboxStatsFilter;
import runtime.v1.PodSandboxStatsRequest;
import runtime.v1.PodSandboxStatsResponse;
import runtime.v1.PodSandboxStatus;
import runtime.v1.PodSandboxStatusRequest;
import runtime.v1.PodSandboxStatusResponse;

/** PodSandboxStatus, ListPodSandbox (all filters), PodSandboxStats, ListPodSandboxStats. */
public final class PodSandboxQueries {
  private final StateStore state;
  private final ContainerQueries containers;

  public PodSandboxQueries(StateStore state, ContainerQueries containers) {
    this.state = state;
    this.containers = containers;
  }

  // Socket activation hook (io.spawnlet.cri.activation): a no-op unless the daemon sets it.
  private io.spawnlet.cri.activation.PodActivation activation =
      io.spawnlet.cri.activation.PodActivation.NONE;

  public void useActivation(io.spawnlet.cri.activation.PodActivation activation) {
    this.activation = activation;
  }

  public static PodSandboxConfig config(SandboxRecord s) {
    return PodSandboxRunner.fromJson(s.configJson());
  }

  public PodSandboxStatusResponse status(PodSandboxStatusRequest req) {
    SandboxRecord s = state.sandbox("pod_sandbox_id", req.getPodSandboxId());
    PodSandboxConfig config = config(s);
    PodSandboxStatus.Builder st =
        PodSandboxStatus.newBuilder()
            .setId(s.id())
            .setMetadata(metadata(s))
            .setState(state(s))
            .setCreatedAt(s.createdAtNanos())
            .putAllLabels(s.labels())
            .putAllAnnotations(s.annotations())
            .setRuntimeHandler(s.runtimeHandler())
            .setLinux(
                LinuxPodSandboxStatus.newBuilder()
                    .setNamespaces(
                        Namespace.newBuilder()
                            .setOptions(
                                config
                                    .getLinux()
                                    .getSecurityContext()
                                    .getNamespaceOptions()
                                    .toBuilder()
                                    .build())));
    if (!s.ips().isEmpty() && s.state() == SandboxRecord.State.READY) {
      PodSandboxNetworkStatus.Builder net =
          PodSandboxNetworkStatus.newBuilder().setIp(s.ips().get(0));
      s.ips().stream().skip(1).forEach(ip -> net.addAdditionalIps(PodIP.newBuilder().setIp(ip)));
      st.setNetwork(net);
    }
    PodSandboxStatusResponse.Builder resp = PodSandboxStatusResponse.newBuilder().setStatus(st);
    if (req.getVerbose()) {
      resp.putInfo("info", verboseInfo(s));
    }
    if (s.state() == SandboxRecord.State.READY) {
      resp.addAllContainersStatuses(containers.statusesOf(s.id()));
    }
    resp.setTimestamp(System.currentTimeMillis() * 1_000_000L);
    return resp.build();
  }

  private String verboseInfo(SandboxRecord s) {
    var m = new java.util.LinkedHashMap<String, Object>();
    m.put("runtimeHandler", s.runtimeHandler());
    m.put("cgroupParent", s.cgroupParent());
    m.put("namespaces", s.namespacePaths());
    m.put("hostNetwork", s.hostNetwork());
    m.put("config", config(s).getMetadata().getName());
    activation.info(s.id()).ifPresent(a -> m.put("activation", a));
    try {
      return new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(m);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      return "{}";
    }
  }

  public ListPodSandboxResponse list(ListPodSandboxRequest req) {
    PodSandboxFilter f = req.getFilter();
    List<PodSandbox> items =
        state.sandboxes.all().stream()
            .filter(s -> s.id().startsWith(f.getId()))
            .filter(s -> !f.hasState() || state(s) == f.getState().getState())
            .filter(s -> matches(s.labels(), f.getLabelSelectorMap()))
            .sorted(Comparator.comparingLong(SandboxRecord::createdAtNanos))
            .map(
                s ->
                    PodSandbox.newBuilder()
                        .setId(s.id())
                        .setMetadata(metadata(s))
                        .setState(state(s))
                        .setCreatedAt(s.createdAtNanos())
                        .putAllLabels(s.labels())
                        .putAllAnnotations(s.annotations())
                        .setRuntimeHandler(s.runtimeHandler())
                        .build())
            .toList();
    return ListPodSandboxResponse.newBuilder().addAllItems(items).build();
  }

  public PodSandboxStatsResponse stats(PodSandboxStatsRequest req) {
    SandboxRecord s = state.sandbox("pod_sandbox_id", req.getPodSandboxId());
    return PodSandboxStatsResponse.newBuilder().setStats(stats(s)).build();
  }

  public ListPodSandboxStatsResponse listStats(ListPodSandboxStatsRequest req) {
    PodSandboxStatsFilter f = req.getFilter();
    return ListPodSandboxStatsResponse.newBuilder()
        .addAllStats(
            state.sandboxes.all().stream()
                .filter(s -> s.id().startsWith(f.getId()))
                .filter(s -> matches(s.labels(), f.getLabelSelectorMap()))
                .map(this::stats)
                .toList())
        .build();
  }

  private PodSandboxStats stats(SandboxRecord s) {
    return containers.podStats(s, metadata(s));
  }

  static PodSandboxMetadata metadata(SandboxRecord s) {
    return PodSandboxMetadata.newBuilder()
        .setName(s.name())
        .setNamespace(s.namespace())
        .setUid(s.uid())
        .setAttempt(s.attempt())
        .build();
  }

  static PodSandboxState state(SandboxRecord s) {
    return s.state() == SandboxRecord.State.READY
        ? PodSandboxState.SANDBOX_READY
        : PodSandboxState.SANDBOX_NOTREADY;
  }

  public static boolean matches(Map<String, String> labels, Map<String, String> selector) {
    for (var e : selector.entrySet()) {
      if (!e.getValue().equals(labels.get(e.getKey()))) {
        return false;
      }
    }
    return true;
  }
}
