package io.spawnlet.cri.net;

import io.spawnlet.cni.CachedAttachment;
import io.spawnlet.cni.CniConfigList;
import io.spawnlet.cni.CniConfigLoader;
import io.spawnlet.cni.CniException;
import io.spawnlet.cni.CniResult;
import io.spawnlet.cni.CniRuntime;
import io.spawnlet.cni.DefaultNetwork;
import io.spawnlet.cni.PortMapping;
import io.spawnlet.cni.RuntimeConf;
import io.spawnlet.cri.CriException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sandbox code's only door to CNI. A pod gets the {@code loopback} plugin on {@code lo} (as
 * containerd and CRI-O do it, apart from the network's own list) and then the configured network on
 * {@code eth0}. The network is read from the config dirs at each set-up, so a CNI config installed
 * after start (a cluster's network DaemonSet) is picked up; tear-down uses the config cached with
 * the pod's ADD result, so it undoes exactly what was done, also after a restart.
 *
 * <p>Tear down before the network namespace is removed: plugins find some of their host-side state
 * (e.g. the bridge plugin's masquerade rule) through the namespace. Tear-down of a pod whose
 * namespace is already gone still releases its address and port mappings.
 */
public final class PodNetwork {
  public static final String IF_NAME = "eth0";
  private static final String LOOPBACK_IF = "lo";
  private static final Logger LOG = LoggerFactory.getLogger(PodNetwork.class);

  private static final CniConfigList LOOPBACK =
      CniConfigLoader.parse(
          "{\"cniVersion\":\"1.0.0\",\"name\":\"cni-loopback\",\"plugins\":[{\"type\":\"loopback\"}]}",
          Optional.empty());

  private final NetworkSettings settings;
  private final CniRuntime cni;

  public PodNetwork(NetworkSettings settings) {
    this.settings = settings;
    this.cni = new CniRuntime(settings.pluginDirs(), settings.cacheDir(), settings.pluginTimeout());
  }

  /** Attaches the pod's namespace to loopback and the network; on failure leaves nothing behind. */
  public PodNetworkStatus setUp(
      String sandboxId, Path netnsPath, PodRef pod, List<PortMapping> ports) {
    CniConfigList network = network();
    RuntimeConf lo =
        new RuntimeConf(sandboxId, netnsPath.toString(), LOOPBACK_IF, Map.of(), List.of());
    RuntimeConf eth =
        new RuntimeConf(sandboxId, netnsPath.toString(), IF_NAME, podArgs(sandboxId, pod), ports);
    try {
      cni.add(LOOPBACK, lo);
      return statusOf(cni.add(network, eth));
    } catch (CniException e) {
      undo(network, eth, lo);
      throw new CriException(
          CriException.Kind.INTERNAL,
          "setting up the network of pod sandbox "
              + sandboxId
              + " ("
              + pod.namespace()
              + "/"
              + pod.name()
              + ") failed: "
              + e.getMessage()
              + ". Check the CNI network config "
              + origin(network)
              + " and that its plugins are installed in "
              + settings.pluginDirs(),
          e);
    }
  }

  /**
   * Detaches the pod. Idempotent; works after a daemon restart (from the result cache) and when the
   * namespace is already gone.
   */
  public void tearDown(String sandboxId, Path netnsPath, PodRef pod, List<PortMapping> ports) {
    String ns = isNetworkNamespace(netnsPath) ? netnsPath.toString() : "";
    Optional<CachedAttachment> cached = cachedNetworkAttachment(sandboxId);
    Optional<CniConfigList> network = cached.map(CachedAttachment::config);
    if (network.isEmpty()) {
      try {
        network = Optional.of(network());
      } catch (CriException e) {
        // No usable config and nothing cached: this pod was never attached, nothing to undo.
        LOG.debug("no network to tear down for sandbox {}: {}", sandboxId, e.getMessage());
      }
    }
    try {
      if (network.isPresent()) {
        cni.del(
            network.get(), new RuntimeConf(sandboxId, ns, IF_NAME, podArgs(sandboxId, pod), ports));
      }
      cni.del(LOOPBACK, new RuntimeConf(sandboxId, ns, LOOPBACK_IF, Map.of(), List.of()));
    } catch (CniException e) {
      throw new CriException(
          CriException.Kind.INTERNAL,
          "tearing down the network of pod sandbox "
              + sandboxId
              + " failed: "
              + e.getMessage()
              + ". The call can be retried; the CNI result stays cached until it succeeds",
          e);
    }
  }

  /** The pod's addresses from the cached ADD result; empty when it has no network attachment. */
  public Optional<PodNetworkStatus> status(String sandboxId) {
    return cachedNetworkAttachment(sandboxId).map(c -> statusOf(c.result()));
  }

  /** Whether pods can get a network now, for the CRI {@code NetworkReady} condition. */
  public NetworkReadiness readiness() {
    CniConfigList network;
    try {
      network = network();
    } catch (CriException e) {
      return NetworkReadiness.notReady(e.getMessage());
    }
    List<String> missing = new ArrayList<>(cni.missingPlugins(network));
    cni.missingPlugins(LOOPBACK).stream().filter(t -> !missing.contains(t)).forEach(missing::add);
    if (!missing.isEmpty()) {
      return NetworkReadiness.notReady(
          "CNI plugin(s) "
              + missing
              + " needed by "
              + origin(network)
              + " not found in "
              + settings.pluginDirs()
              + "; install them (Debian: containernetworking-plugins)");
    }
    try {
      cni.status(network);
    } catch (CniException e) {
      return NetworkReadiness.notReady(e.getMessage());
    }
    return NetworkReadiness.isReady();
  }

  /** The network pods join now: the first config file, else the default network if enabled. */
  CniConfigList network() {
    Optional<CniConfigList> configured;
    try {
      configured = CniConfigLoader.load(settings.confDirs());
    } catch (CniException e) {
      throw new CriException(
          CriException.Kind.INTERNAL, "invalid CNI network config: " + e.getMessage(), e);
    }
    if (configured.isPresent()) {
      return configured.get();
    }
    if (!settings.useDefaultNetwork()) {
      throw new CriException(
          CriException.Kind.INTERNAL,
          "no CNI network config found in "
              + settings.confDirs()
              + "; install one (a .conflist file) or enable spawnlet's default network");
    }
    return new DefaultNetwork(
            DefaultNetwork.NAME,
            settings.defaultBridge(),
            settings.defaultSubnet(),
            settings.ipamDataDir())
        .configList();
  }

  private Optional<CachedAttachment> cachedNetworkAttachment(String sandboxId) {
    try {
      return cni.cachedAttachments().stream()
          .filter(c -> c.containerId().equals(sandboxId) && c.ifName().equals(IF_NAME))
          .filter(c -> !c.networkName().equals(LOOPBACK.name()))
          .findFirst();
    } catch (CniException e) {
      throw CriException.internal("reading the CNI result cache failed: " + e.getMessage(), e);
    }
  }

  private void undo(CniConfigList network, RuntimeConf eth, RuntimeConf lo) {
    for (var step : List.of(Map.entry(network, eth), Map.entry(LOOPBACK, lo))) {
      try {
        cni.del(step.getKey(), step.getValue());
      } catch (CniException e) {
        LOG.warn(
            "undoing the network of sandbox {} ({}) failed: {}",
            eth.containerId(),
            step.getKey().name(),
            e.getMessage());
      }
    }
  }

  /**
   * A pinned namespace is an nsfs mount; once unmounted only an empty file is left, which plugins
   * cannot enter. Plugins then get no namespace and release what they hold on the host.
   */
  private static boolean isNetworkNamespace(Path path) {
    try {
      return path != null && Files.exists(path) && Files.getFileStore(path).type().equals("nsfs");
    } catch (java.io.IOException e) {
      return false;
    }
  }

  private static Map<String, String> podArgs(String sandboxId, PodRef pod) {
    Map<String, String> args = new LinkedHashMap<>();
    // Plugins reject unknown CNI_ARGS keys unless told to ignore them.
    args.put("IgnoreUnknown", "1");
    args.put("K8S_POD_NAMESPACE", pod.namespace());
    args.put("K8S_POD_NAME", pod.name());
    args.put("K8S_POD_INFRA_CONTAINER_ID", sandboxId);
    args.put("K8S_POD_UID", pod.uid());
    return args;
  }

  static PodNetworkStatus statusOf(CniResult result) {
    // Stable sort: the first IPv4 address of the result stays the primary one.
    List<String> ips =
        result.ips().stream()
            .sorted(Comparator.comparing((CniResult.IpConfig ip) -> ip.isIpv4() ? 0 : 1))
            .map(CniResult.IpConfig::ip)
            .distinct()
            .toList();
    return new PodNetworkStatus(ips);
  }

  private static String origin(CniConfigList network) {
    return network
        .source()
        .map(Path::toString)
        .orElse("(spawnlet default network \"" + network.name() + "\")");
  }
}
