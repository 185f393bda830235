package io.spawnlet.cri.sandbox;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import io.spawnlet.cri.CriException;
import io.spawnlet.cri.Rollback;
import io.spawnlet.cri.Validation;
import io.spawnlet.cri.host.NamespaceKind;
import io.spawnlet.cri.host.NamespacePinner;
import io.spawnlet.cri.host.NetnsSysctls;
import io.spawnlet.cri.host.PodCgroups;
import io.spawnlet.cri.net.PodNetwork;
import io.spawnlet.cri.net.PodNetworkStatus;
import io.spawnlet.cri.net.PodRef;
import io.spawnlet.cri.oci.RuntimeHandlers;
import io.spawnlet.cri.oci.SystemContainerSpec;
import io.spawnlet.cri.store.Ids;
import io.spawnlet.cri.store.SandboxRecord;
import io.spawnlet.cri.store.StateStore;
import io.spawnlet.cri.store.UserNamespaceMapping;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import runtime.v1.NamespaceMode;
import runtime.v1.PodSandboxConfig;
import runtime.v1.PortMapping;
import runtime.v1.RunPodSandboxRequest;
import runtime.v1.RunPodSandboxResponse;

/**
 * RunPodSandbox. A spawnlet sandbox has no pause process: it is a set of pinned namespaces
 * (network, IPC, UTS), a cgroup parent, the pod's shared files and its CNI attachment (and, only
 * for a pod that shares one PID namespace, that namespace's holder: {@link PodPidNamespace}).
 * Creation is a list of named steps; each pushes its undo, so a failure leaves nothing behind.
 */
public final class PodSandboxRunner {
  private static final Logger log = LoggerFactory.getLogger(PodSandboxRunner.class);

  /** Pods without a cgroup_parent get one of ours, which we also remove. */
  static final String OWN_CGROUP_ROOT = "/spawnlet/";

  private final StateStore state;
  private final SandboxLayout layout;
  private final NamespacePinner namespaces;
  private final PodCgroups cgroups;
  private final PodNetwork network;
  private final RuntimeHandlers handlers;
  private final HostIdRanges idRanges;
  private final PodPidNamespace pidNamespaces;

  // Socket activation hook (io.spawnlet.cri.activation): a no-op unless the daemon sets it.
  private io.spawnlet.cri.activation.PodActivation activation =
      io.spawnlet.cri.activation.PodActivation.NONE;

  public void useActivation(io.spawnlet.cri.activation.PodActivation activation) {
    this.activation = activation;
  }

  public PodSandboxRunner(
      StateStore state,
      SandboxLayout layout,
      NamespacePinner namespaces,
      PodCgroups cgroups,
      PodNetwork network,
      RuntimeHandlers handlers,
      HostIdRanges idRanges,
      PodPidNamespace pidNamespaces) {
    this.state = state;
    this.layout = layout;
    this.namespaces = namespaces;
    this.cgroups = cgroups;
    this.network = network;
    this.handlers = handlers;
    this.idRanges = idRanges;
    this.pidNamespaces = pidNamespaces;
  }

  public RunPodSandboxResponse run(RunPodSandboxRequest req) {
    PodSandboxConfig config = req.getConfig();
    validate(req);
    activation.validate(config);
    String handler =
        handlers.resolve(
            "runtime_handler",
            SystemContainerSpec.selects(req.getRuntimeHandler(), config.getAnnotationsMap())
                ? SystemContainerSpec.HANDLER
                : req.getRuntimeHandler());
    UserNamespaceRequest userns =
        UserNamespaceRequest.of(config, SystemContainerSpec.HANDLER.equals(handler));
    var md = config.getMetadata();
    String id = Ids.newId();
    String uniqueName =
        SandboxRecord.uniqueName(md.getName(), md.getNamespace(), md.getUid(), md.getAttempt());
    state.sandboxNames.reserve(uniqueName, id);
    try (Rollback undo = new Rollback("pod sandbox " + uniqueName)) {
      undo.push("release name", () -> state.sandboxNames.release(uniqueName, id));
      log.info("RunPodSandbox {} ({}): id {}", uniqueName, handler, id);

      UserNamespaceMapping usernsMapping = userNamespace(id, userns, undo);
      String cgroupParent = createCgroupParent(config, id, undo);
      boolean hostNetwork =
          config.getLinux().getSecurityContext().getNamespaceOptions().getNetwork()
              == NamespaceMode.NODE;
      Map<String, String> nsPaths = pinNamespaces(config, id, hostNetwork, undo);
      if (usernsMapping != null && !hostNetwork) {
        NetnsSysctls.write(Path.of(nsPaths.get("network")), NetnsSysctls.UNPRIVILEGED_NETWORK);
      }
      SandboxFiles files = layout.files(id);
      writeSharedFiles(config, files, undo);
      List<String> ips = hostNetwork ? List.of() : setUpNetwork(config, id, nsPaths, undo);
      if (!ips.isEmpty()) {
        writeHosts(config, files, ips);
      }
      if (!hostNetwork) {
        activation.open(id, config, Path.of(nsPaths.get("network")), cgroupParent, undo);
      }
      if (PodPidNamespace.wanted(config)) {
        if (SystemContainerSpec.HANDLER.equals(handler) || activation.activated(id)) {
          // systemd must be PID 1, and an activated container is told LISTEN_PID=1: either
          // gets a PID namespace of its own.
          log.debug("pod sandbox {}: one PID namespace per container", id);
        } else if (usernsMapping != null) {
          // A PID namespace owned by the host's user namespace would keep the pod's root from
          // mounting /proc: a pod in a user namespace gets one PID namespace per container.
          log.info("pod sandbox {}: in a user namespace, so one PID namespace per container", id);
        } else {
          pidNamespaces.start(id, files, cgroupParent, undo);
        }
      }

      SandboxRecord rec =
          new SandboxRecord(
              id,
              md.getName(),
              md.getNamespace(),
              md.getUid(),
              md.getAttempt(),
              handler,
              config.getLabelsMap(),
              config.getAnnotationsMap(),
              toJson(config),
              System.currentTimeMillis() * 1_000_000L,
              SandboxRecord.State.READY,
              ips,
              nsPaths,
              cgroupParent,
              hostNetwork,
              0,
              usernsMapping);
      state.sandboxes.put(rec);
      idRanges.release(id); // the record holds the range from now on
      undo.commit();
      log.info(
          "pod sandbox {} ready: ips {}, user namespace {}",
          id,
          ips,
          usernsMapping == null ? "host" : usernsMapping.uidMap().strip());
      return RunPodSandboxResponse.newBuilder().setPodSandboxId(id).build();
    }
  }

  private static void validate(RunPodSandboxRequest req) {
    if (!req.hasConfig()) {
      throw CriException.invalid("config", "is required");
    }
    PodSandboxConfig c = req.getConfig();
    if (!c.hasMetadata()) {
      throw CriException.invalid("config.metadata", "is required");
    }
    Validation.name("config.metadata.name", c.getMetadata().getName());
    Validation.name("config.metadata.namespace", c.getMetadata().getNamespace());
    Validation.name("config.metadata.uid", c.getMetadata().getUid());
    if (c.getMetadata().getAttempt() < 0) {
      throw CriException.invalid("config.metadata.attempt", "must not be negative");
    }
    Validation.keyValues("config.labels", c.getLabelsMap());
    Validation.keyValues("config.annotations", c.getAnnotationsMap());
    Validation.logDirectory("config.log_directory", c.getLogDirectory());
    if (!c.getHostname().isEmpty()
        && !c.getHostname().matches("[A-Za-z0-9]([-A-Za-z0-9.]{0,62})")) {
      throw CriException.invalid(
          "config.hostname",
          "\""
              + c.getHostname()
              + "\" is not a valid host name (letters, digits, '-', '.', at most 63)");
    }
    for (int i = 0; i < c.getPortMappingsCount(); i++) {
      PortMapping p = c.getPortMappings(i);
      String f = "config.port_mappings[" + i + "]";
      if (p.getContainerPort() <= 0 || p.getContainerPort() > 65535) {
        throw CriException.invalid(
            f + ".container_port", "must be 1-65535, got " + p.getContainerPort());
      }
      if (p.getHostPort() < 0 || p.getHostPort() > 65535) {
        throw CriException.invalid(f + ".host_port", "must be 0-65535, got " + p.getHostPort());
      }
    }
    var cgroupParent = c.getLinux().getCgroupParent();
    if (!cgroupParent.isEmpty() && (!cgroupParent.startsWith("/") || cgroupParent.contains(".."))) {
      throw CriException.invalid(
          "config.linux.cgroup_parent",
          "\""
              + cgroupParent
              + "\" must be an absolute cgroupfs path without '..', e.g. /kubepods/besteffort/pod<uid>");
    }
  }

  /** The pod's id mappings (null: the host's user namespace), held until the record is written. */
  private UserNamespaceMapping userNamespace(
      String id, UserNamespaceRequest request, Rollback undo) {
    UserNamespaceMapping mapping =
        switch (request.kind()) {
          case HOST -> null;
          case ALLOCATE -> idRanges.allocate(id);
          case GIVEN -> {
            idRanges.reserve(id, request.given().orElseThrow(), UserNamespaceRequest.FIELD);
            yield request.given().orElseThrow();
          }
        };
    if (mapping != null) {
      undo.push("release host id range", () -> idRanges.release(id));
    }
    return mapping;
  }

  private String createCgroupParent(PodSandboxConfig config, String id, Rollback undo) {
    String parent = config.getLinux().getCgroupParent();
    if (!parent.isEmpty()) {
      // The caller (kubelet) owns a parent it names; the OCI runtime creates what is missing.
      return parent;
    }
    String path = OWN_CGROUP_ROOT + id;
    cgroups.create(path);
    undo.push("remove cgroup " + path, () -> cgroups.remove(path));
    return path;
  }

  private Map<String, String> pinNamespaces(
      PodSandboxConfig config, String id, boolean hostNetwork, Rollback undo) {
    var opts = config.getLinux().getSecurityContext().getNamespaceOptions();
    var kinds = java.util.EnumSet.noneOf(NamespaceKind.class);
    if (!hostNetwork) {
      kinds.add(NamespaceKind.NET);
      kinds.add(NamespaceKind.UTS);
    }
    if (opts.getIpc() != NamespaceMode.NODE) {
      kinds.add(NamespaceKind.IPC);
    }
    var pinned = namespaces.pin(id, hostnameOf(config), kinds);
    undo.push("unpin namespaces", () -> namespaces.unpin(id));
    return SandboxLayout.namespacePaths(pinned);
  }

  private void writeSharedFiles(PodSandboxConfig config, SandboxFiles files, Rollback undo) {
    try {
      files.write(hostnameOf(config), config.getDnsConfig(), List.of());
    } catch (IOException e) {
      throw CriException.internal("writing the pod's resolv.conf/hosts: " + e.getMessage(), e);
    }
    files.mountShm();
    undo.push("unmount shm", files::unmountShm);
    undo.push("delete sandbox dirs", () -> layout.delete(files));
  }

  private List<String> setUpNetwork(
      PodSandboxConfig config, String id, Map<String, String> nsPaths, Rollback undo) {
    var md = config.getMetadata();
    PodRef pod = new PodRef(md.getNamespace(), md.getName(), md.getUid());
    var ports = SandboxLayout.portMappings(config);
    Path netns = Path.of(nsPaths.get("network"));
    PodNetworkStatus st = network.setUp(id, netns, pod, ports);
    undo.push("CNI DEL", () -> network.tearDown(id, netns, pod, ports));
    return st.ips();
  }

  private static void writeHosts(PodSandboxConfig config, SandboxFiles files, List<String> ips) {
    try {
      files.writeHosts(hostnameOf(config), ips);
    } catch (IOException e) {
      throw CriException.internal("writing the pod's hosts file: " + e.getMessage(), e);
    }
  }

  static String hostnameOf(PodSandboxConfig config) {
    String h =
        config.getHostname().isEmpty() ? config.getMetadata().getName() : config.getHostname();
    return h.length() > 63 ? h.substring(0, 63) : h;
  }

  static String toJson(PodSandboxConfig config) {
    try {
      return JsonFormat.printer().omittingInsignificantWhitespace().print(config);
    } catch (InvalidProtocolBufferException e) {
      throw CriException.internal("encoding the sandbox config", e);
    }
  }

  static PodSandboxConfig fromJson(String json) {
    try {
      PodSandboxConfig.Builder b = PodSandboxConfig.newBuilder();
      JsonFormat.parser().ignoringUnknownFields().merge(json, b);
      return b.build();
    } catch (InvalidProtocolBufferException e) {
      throw CriException.internal("decoding a stored sandbox config", e);
    }
  }
}
