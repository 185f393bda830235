package io.spawnlet.cri.container;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.spawnlet.cri.CriException;
import io.spawnlet.cri.Rollback;
import io.spawnlet.cri.host.CgroupDelegation;
import io.spawnlet.cri.host.CgroupHierarchies;
import io.spawnlet.cri.host.CgroupLayout;
import io.spawnlet.cri.host.Syscalls;
import io.spawnlet.cri.oci.Conmon;
import io.spawnlet.cri.oci.CreateRequest;
import io.spawnlet.cri.oci.ExitMonitor;
import io.spawnlet.cri.oci.HostCapabilities;
import io.spawnlet.cri.oci.HostLimits;
import io.spawnlet.cri.oci.ImageDefaults;
import io.spawnlet.cri.oci.OciRuntime;
import io.spawnlet.cri.oci.OciSpecBuilder;
import io.spawnlet.cri.oci.RuntimeHandlers;
import io.spawnlet.cri.oci.SandboxContext;
import io.spawnlet.cri.oci.SystemContainerSpec;
import io.spawnlet.cri.oci.UserNamespaceSpec;
import io.spawnlet.cri.sandbox.MachineId;
import io.spawnlet.cri.sandbox.PodPidNamespace;
import io.spawnlet.cri.sandbox.SandboxFiles;
import io.spawnlet.cri.storage.Digest;
import io.spawnlet.cri.storage.FsUsage;
import io.spawnlet.cri.storage.Image;
import io.spawnlet.cri.storage.Layer;
import io.spawnlet.cri.storage.LayerStore;
import io.spawnlet.cri.storage.RootfsDriver;
import io.spawnlet.cri.store.ContainerRecord;
import io.spawnlet.cri.store.Directories;
import io.spawnlet.cri.store.SandboxRecord;
import io.spawnlet.cri.store.StateStore;
import io.spawnlet.cri.store.UserNamespaceMapping;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import runtime.v1.ContainerConfig;
import runtime.v1.NamespaceOption;
import runtime.v1.PodSandboxConfig;
import runtime.v1.Signal;

/**
 * The host side of a container: its root filesystem (overlay over the image's shared layers), its
 * OCI bundle ({@code config.json}, conmon's files) and its runtime container. What CreateContainer
 * makes here, {@link #delete} unmakes.
 */
public final class ContainerBundles {
  private static final Logger log = LoggerFactory.getLogger(ContainerBundles.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Executor VIRTUAL = task -> Thread.ofVirtual().start(task);

  /** conmon's control FIFO message that makes it reopen the container's log file. */
  private static final String REOPEN_LOGS = "2 0 0\n";

  private static final Duration LOG_REOPEN_WAIT = Duration.ofSeconds(5);

  private final Path containersRoot;
  private final StateStore state;
  private final RuntimeHandlers handlers;
  private final LayerStore layers;
  private final RootfsDriver rootfs;
  private final OciSpecBuilder specs =
      new OciSpecBuilder(HostLimits.ofThisProcess(), HostCapabilities.ofThisProcess());
  private final BootReadiness boot;
  private final SystemContainerSpec systemSpec = new SystemContainerSpec(CgroupLayout.detect());
  private final CgroupDelegation delegation = new CgroupDelegation(CgroupHierarchies.detect());

  public ContainerBundles(
      Path root,
      StateStore state,
      RuntimeHandlers handlers,
      LayerStore layers,
      RootfsDriver rootfs) {
    this.containersRoot = root.resolve("containers");
    this.state = state;
    this.handlers = handlers;
    this.layers = layers;
    this.rootfs = rootfs;
    this.boot = new BootReadiness(root.resolve("notify"));
  }

  /** Readiness (sd_notify READY=1) of system containers. */
  public BootReadiness boot() {
    return boot;
  }

  /** The OCI bundle of container {@code id} (conmon's attach socket and control FIFO are there). */
  public Path bundleDir(String id) {
    return bundle(id);
  }

  Path bundle(String id) {
    return containersRoot.resolve(id).resolve("bundle");
  }

  /** Makes rootfs, bundle and runtime container; every step's undo goes into {@code undo}. */
  int create(
      String id,
      SandboxRecord sandbox,
      PodSandboxConfig sandboxConfig,
      ContainerConfig config,
      Image image,
      Path logPath,
      SandboxFiles files,
      Rollback undo,
      boolean deferRuntime) {
    List<Layer> lowerTopFirst = new ArrayList<>();
    for (String diffId : image.diffIds()) {
      lowerTopFirst.add(
          0,
          layers
              .get(Digest.parse("image.diffIds", diffId))
              .orElseThrow(
                  () ->
                      CriException.precondition(
                          "layer "
                              + diffId
                              + " of image "
                              + image.digestId()
                              + " is missing from the store: re-import the image")));
    }
    Optional<UserNamespaceMapping> userns = sandbox.userNamespaceMapping();
    Path bundle = bundle(id);
    undo.push("delete bundle", () -> Directories.deleteTree(bundle.getParent()));
    Path log = logPath != null ? logPath : bundle.resolve("console.log");
    // conmon starts now, while the rootfs is mounted and the spec written: moving it into its
    // monitor cgroup is mostly waiting (Conmon#launch), which then costs no time of its own.
    Optional<CompletableFuture<Conmon.Launched>> launching = Optional.empty();
    if (!deferRuntime) {
      try {
        Files.createDirectories(bundle);
      } catch (IOException e) {
        throw CriException.internal("creating bundle " + bundle + ": " + e.getMessage(), e);
      }
      OciRuntime runtime = handlers.runtime(sandbox.runtimeHandler());
      CreateRequest request = createRequest(id, sandbox, sandboxConfig, config, log, List.of());
      CompletableFuture<Conmon.Launched> future =
          CompletableFuture.supplyAsync(() -> runtime.launch(request), VIRTUAL);
      undo.push("end waiting conmon", () -> launched(future).close());
      launching = Optional.of(future);
    }
    Path merged = rootfs.create(id, lowerTopFirst, userns);
    undo.push("remove rootfs", () -> rootfs.remove(id));

    Map<String, String> ns = sandbox.namespacePaths();
    SandboxContext context =
        new SandboxContext(
            sandbox.id(),
            Optional.ofNullable(ns.get("network")).map(Path::of),
            Optional.ofNullable(ns.get("ipc")).map(Path::of),
            Optional.ofNullable(ns.get("uts")).map(Path::of),
            pidNamespace(
                sandbox,
                files,
                OciSpecBuilder.namespaceOptions(
                    config.getLinux().getSecurityContext(), sandboxConfig)),
            sandbox.cgroupParent(),
            sandboxConfig.getHostname(),
            Optional.of(files.resolvConf()),
            Optional.of(files.hosts()),
            Optional.of(files.hostname()),
            Optional.of(files.shm()),
            merged,
            logPath == null ? bundle : logPath.getParent());
    var c = image.config();
    boolean systemPod = SystemContainerSpec.HANDLER.equals(sandbox.runtimeHandler());
    ImageDefaults defaults =
        new ImageDefaults(
            c.entrypoint(),
            systemPod && c.entrypoint().isEmpty() && c.cmd().isEmpty()
                ? SystemContainerSpec.DEFAULT_COMMAND
                : c.cmd(),
            c.env(),
            c.workingDir(),
            c.user(),
            c.stopSignal());
    ObjectNode spec = specs.build(id, config, sandboxConfig, defaults, context);
    if (systemPod) {
      Path notifyDir = boot.open(id);
      undo.push("close notify socket", () -> boot.close(id));
      systemSpec.decorate(spec, notifyDir);
      MachineId.install(MachineId.ensure(files.machineId()), rootfs.editableRoot(id));
      userns.ifPresent(
          m ->
              Syscalls.lchown(
                  merged.resolve("etc/machine-id").toString(), m.rootUid(), m.rootGid()));
    }
    userns.ifPresent(m -> UserNamespaceSpec.apply(spec, m));
    if (launching.isEmpty()) {
      // Socket activation: the runtime container is made when the pod wakes (createRuntime),
      // since only then are its sockets known to be wanted, and a created container cannot be
      // handed descriptors any more.
      OciSpecBuilder.write(spec, bundle);
      try {
        Files.createDirectories(log.getParent());
      } catch (IOException e) {
        throw CriException.internal(
            "creating log directory " + log.getParent() + ": " + e.getMessage(), e);
      }
      return 0;
    }
    // The runtime reads config.json at once; making it durable (fsync) runs beside the create
    // and is done before the container's record (which points at the bundle) is written.
    CompletableFuture<Void> specDurable = OciSpecBuilder.writeThenSync(spec, bundle, VIRTUAL);
    OciRuntime runtime = handlers.runtime(sandbox.runtimeHandler());
    // Before proceeding: a create that fails half-way leaves a runtime container or a monitor
    // cgroup, and delete tolerates both being absent.
    undo.push("delete runtime container", () -> runtime.delete(id, true, sandbox.cgroupParent()));
    int pid;
    try (Conmon.Launched launched = launched(launching.get())) {
      pid = launched.proceed();
    }
    delegateCgroups(sandbox, id);
    joinRethrowing(specDurable, "making " + bundle.resolve("config.json") + " durable");
    return pid;
  }

  /** POD: the pod's shared PID namespace, if it has one; TARGET: the target container's. */
  private Optional<Path> pidNamespace(
      SandboxRecord sandbox, SandboxFiles files, NamespaceOption options) {
    return switch (options.getPid()) {
      case POD -> PodPidNamespace.namespace(sandbox.id(), files);
      case TARGET -> Optional.of(targetPidNamespace(sandbox, options.getTargetId()));
      default -> Optional.empty();
    };
  }

  private Path targetPidNamespace(SandboxRecord sandbox, String targetId) {
    String field = "config.linux.security_context.namespace_options.target_id";
    if (targetId.isEmpty()) {
      throw CriException.invalid(field, "is required for pid mode TARGET");
    }
    ContainerRecord target =
        state
            .containers
            .get(targetId)
            .filter(c -> c.sandboxId().equals(sandbox.id()))
            .orElseThrow(
                () ->
                    CriException.invalid(
                        field, "no container " + targetId + " in pod sandbox " + sandbox.id()));
    if (target.state() != ContainerRecord.State.RUNNING || target.pid() <= 0) {
      throw CriException.precondition(
          "pid mode TARGET: container "
              + targetId
              + " is "
              + target.state()
              + ", not running; start it first");
    }
    return Path.of("/proc/" + target.pid() + "/ns/pid");
  }

  private static Conmon.Launched launched(CompletableFuture<Conmon.Launched> launching) {
    return joinRethrowing(launching, "starting conmon");
  }

  /** The future's value; its failure rethrown as it was (not wrapped in CompletionException). */
  private static <T> T joinRethrowing(CompletableFuture<T> future, String what) {
    try {
      return future.join();
    } catch (CompletionException e) {
      if (e.getCause() instanceof RuntimeException r) {
        throw r;
      }
      throw CriException.internal(what, e.getCause());
    }
  }

  /**
   * Creates the runtime container of a recorded container whose bundle is written (a socket
   * activated pod waking), passing {@code extraFds} as its fds 3, 4, …; returns its pid.
   */
  public int createRuntime(ContainerRecord c, SandboxRecord sandbox, List<Integer> extraFds) {
    return runtimeCreate(
        c.id(),
        sandbox,
        io.spawnlet.cri.sandbox.PodSandboxQueries.config(sandbox),
        ContainerCreator.fromJson(c.configJson()),
        logFile(c),
        extraFds);
  }

  private int runtimeCreate(
      String id,
      SandboxRecord sandbox,
      PodSandboxConfig sandboxConfig,
      ContainerConfig config,
      Path log,
      List<Integer> extraFds) {
    int pid =
        handlers
            .runtime(sandbox.runtimeHandler())
            .create(createRequest(id, sandbox, sandboxConfig, config, log, extraFds));
    delegateCgroups(sandbox, id);
    return pid;
  }

  /**
   * Between create and start: a user-namespaced container's init (systemd) makes its cgroups as the
   * mapped root, so its cgroup subtree is handed to that root.
   */
  private void delegateCgroups(SandboxRecord sandbox, String id) {
    sandbox
        .userNamespaceMapping()
        .ifPresent(
            m ->
                delegation.delegate(
                    OciSpecBuilder.cgroupsPath(sandbox.cgroupParent(), id),
                    m.rootUid(),
                    m.rootGid()));
  }

  private CreateRequest createRequest(
      String id,
      SandboxRecord sandbox,
      PodSandboxConfig sandboxConfig,
      ContainerConfig config,
      Path log,
      List<Integer> extraFds) {
    // system pods always get a console: their boot log is the CRI log
    boolean systemPod = SystemContainerSpec.HANDLER.equals(sandbox.runtimeHandler());
    return new CreateRequest(
        id,
        sandboxConfig.getMetadata().getName() + "_" + config.getMetadata().getName(),
        bundle(id),
        log,
        config.getTty() || systemPod,
        config.getStdin(),
        config.getStdinOnce(),
        sandbox.cgroupParent(),
        extraFds,
        Duration.ofMinutes(2));
  }

  /** The exit code conmon recorded, if the container has exited. */
  public Optional<Integer> exitCodeIfExited(String id) {
    return exitFile(id).flatMap(ExitMonitor::read).map(ExitMonitor.Exit::exitCode);
  }

  public long exitTimeNanos(String id) {
    return exitFile(id)
        .flatMap(ExitMonitor::read)
        .map(e -> e.finishedAt().toEpochMilli() * 1_000_000L)
        .orElse(System.currentTimeMillis() * 1_000_000L);
  }

  private Optional<Path> exitFile(String id) {
    return state
        .containers
        .get(id)
        .map(c -> handlers.runtime(c.runtimeHandler()).exitDir().resolve(id))
        .filter(Files::exists);
  }

  /**
   * CRI stop_signal if set, else the image's (systemd images say SIGRTMIN+3), else SIGRTMIN+3 in
   * system pods (systemd's clean poweroff) and SIGTERM elsewhere.
   */
  int stopSignal(ContainerConfig config, Image image, String runtimeHandler) {
    if (config.getStopSignal() != Signal.RUNTIME_DEFAULT
        && config.getStopSignal() != Signal.UNRECOGNIZED) {
      return StopSignals.parse("config.stop_signal", config.getStopSignal().name());
    }
    String fromImage = image.config().stopSignal();
    if (fromImage.isEmpty() && SystemContainerSpec.HANDLER.equals(runtimeHandler)) {
      return StopSignals.parse("system pod stop signal", SystemContainerSpec.STOP_SIGNAL);
    }
    return fromImage.isEmpty()
        ? ContainerLifecycle.SIGTERM
        : StopSignals.parse("image config StopSignal", fromImage);
  }

  /** The file conmon writes the container's output to (its CRI log, else the bundle's). */
  Path logFile(ContainerRecord c) {
    return c.logPath().isEmpty() ? bundle(c.id()).resolve("console.log") : Path.of(c.logPath());
  }

  /** Deletes the runtime container, the rootfs and the bundle; every part tolerates "gone". */
  void delete(ContainerRecord c) {
    String cgroupParent =
        state.sandboxes.get(c.sandboxId()).map(SandboxRecord::cgroupParent).orElse("");
    handlers.runtime(c.runtimeHandler()).delete(c.id(), true, cgroupParent);
    boot.close(c.id());
    rootfs.remove(c.id());
    try {
      Directories.deleteTree(bundle(c.id()));
    } catch (IOException e) {
      throw CriException.internal("deleting bundle of " + c.id() + ": " + e.getMessage(), e);
    }
  }

  /** Recovery: removes root filesystems and runtime containers that no record owns. */
  public void removeUnknown(Set<String> known) {
    for (String id : rootfs.list()) {
      if (!known.contains(id)) {
        log.info("removing root filesystem of unknown container {}", id);
        rootfs.remove(id);
      }
    }
  }

  public String cgroupPath(ContainerRecord c) {
    String parent = state.sandboxes.get(c.sandboxId()).map(SandboxRecord::cgroupParent).orElse("");
    return OciSpecBuilder.cgroupsPath(parent, c.id());
  }

  public record LayerUsage(String mountpoint, long bytes, long inodes) {}

  public LayerUsage writableLayerUsage(ContainerRecord c) {
    RootfsDriver.WritableLayer layer = rootfs.writableLayer(c.id());
    FsUsage u = layer.usage();
    return new LayerUsage(layer.dir().toString(), u.bytes(), u.inodes());
  }

  /** Tells conmon to reopen the log file (after the kubelet rotated it). */
  void reopenLog(ContainerRecord c) {
    Path ctl = bundle(c.id()).resolve("ctl");
    if (!Files.exists(ctl)) {
      throw CriException.precondition(
          "container "
              + c.id()
              + " has no conmon control pipe ("
              + ctl
              + "): is its conmon still running?");
    }
    try (OutputStream out = Files.newOutputStream(ctl, StandardOpenOption.WRITE)) {
      out.write(REOPEN_LOGS.getBytes(StandardCharsets.US_ASCII));
    } catch (IOException e) {
      throw CriException.internal(
          "asking conmon to reopen the log of " + c.id() + ": " + e.getMessage(), e);
    }
    // The kubelet (and critest) expect the new file once the call returns; conmon reopens it
    // asynchronously, on reading its control pipe.
    Path logFile = logFile(c);
    long deadline = System.nanoTime() + LOG_REOPEN_WAIT.toNanos();
    while (!Files.exists(logFile)) {
      if (System.nanoTime() > deadline) {
        throw CriException.internal(
            "conmon of container "
                + c.id()
                + " did not reopen its log "
                + logFile
                + " within "
                + LOG_REOPEN_WAIT
                + ": is its conmon still running?",
            null);
      }
      try {
        Thread.sleep(5);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw CriException.internal("interrupted while waiting for " + logFile, e);
      }
    }
  }

  String verboseInfo(ContainerRecord c) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("pid", c.pid());
    m.put("sandboxID", c.sandboxId());
    m.put("runtimeHandler", c.runtimeHandler());
    m.put("bundle", bundle(c.id()).toString());
    m.put("rootfs", rootfs.rootfsPath(c.id()).toString());
    m.put("cgroupsPath", cgroupPath(c));
    if (SystemContainerSpec.HANDLER.equals(c.runtimeHandler())) {
      m.put("ready", boot.ready(c.id()));
      boot.status(c.id()).ifPresent(s -> m.put("systemdStatus", s));
    }
    try {
      m.put("runtimeSpec", JSON.readTree(bundle(c.id()).resolve("config.json").toFile()));
    } catch (IOException e) {
      m.put("runtimeSpec", null);
    }
    try {
      return JSON.writeValueAsString(m);
    } catch (IOException e) {
      return "{}";
    }
  }
}
