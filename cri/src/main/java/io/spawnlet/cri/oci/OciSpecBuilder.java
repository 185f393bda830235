package io.spawnlet.cri.oci;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.spawnlet.cri.CriException;
import io.spawnlet.cri.store.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.stream.Stream;
import runtime.v1.Capability;
import runtime.v1.ContainerConfig;
import runtime.v1.Device;
import runtime.v1.LinuxContainerResources;
import runtime.v1.LinuxContainerSecurityContext;
import runtime.v1.Mount;
import runtime.v1.NamespaceMode;
import runtime.v1.NamespaceOption;
import runtime.v1.PodSandboxConfig;
import runtime.v1.SecurityProfile;

/**
 * Turns a CRI CreateContainer request (container config, sandbox config, the image's defaults and
 * what the sandbox provides) into an OCI runtime-spec 1.x {@code config.json}. Pure: it reads only
 * the container's rootfs (/etc/passwd, /etc/group), host device nodes for devices, and seccomp
 * files named by the request.
 */
public final class OciSpecBuilder {
  static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  /** containerd's default capability set for unprivileged containers. */
  public static final List<String> DEFAULT_CAPABILITIES =
      List.of(
          "CAP_CHOWN",
          "CAP_DAC_OVERRIDE",
          "CAP_FSETID",
          "CAP_FOWNER",
          "CAP_MKNOD",
          "CAP_NET_RAW",
          "CAP_SETGID",
          "CAP_SETUID",
          "CAP_SETFCAP",
          "CAP_SETPCAP",
          "CAP_NET_BIND_SERVICE",
          "CAP_SYS_CHROOT",
          "CAP_KILL",
          "CAP_AUDIT_WRITE");

  /** Every capability Linux 6.x knows, in number order (what "ALL" and privileged mean). */
  public static final List<String> ALL_CAPABILITIES =
      List.of(
          "CAP_CHOWN",
          "CAP_DAC_OVERRIDE",
          "CAP_DAC_READ_SEARCH",
          "CAP_FOWNER",
          "CAP_FSETID",
          "CAP_KILL",
          "CAP_SETGID",
          "CAP_SETUID",
          "CAP_SETPCAP",
          "CAP_LINUX_IMMUTABLE",
          "CAP_NET_BIND_SERVICE",
          "CAP_NET_BROADCAST",
          "CAP_NET_ADMIN",
          "CAP_NET_RAW",
          "CAP_IPC_LOCK",
          "CAP_IPC_OWNER",
          "CAP_SYS_MODULE",
          "CAP_SYS_RAWIO",
          "CAP_SYS_CHROOT",
          "CAP_SYS_PTRACE",
          "CAP_SYS_PACCT",
          "CAP_SYS_ADMIN",
          "CAP_SYS_BOOT",
          "CAP_SYS_NICE",
          "CAP_SYS_RESOURCE",
          "CAP_SYS_TIME",
          "CAP_SYS_TTY_CONFIG",
          "CAP_MKNOD",
          "CAP_LEASE",
          "CAP_AUDIT_WRITE",
          "CAP_AUDIT_CONTROL",
          "CAP_SETFCAP",
          "CAP_MAC_OVERRIDE",
          "CAP_MAC_ADMIN",
          "CAP_SYSLOG",
          "CAP_WAKE_ALARM",
          "CAP_BLOCK_SUSPEND",
          "CAP_AUDIT_READ",
          "CAP_PERFMON",
          "CAP_BPF",
          "CAP_CHECKPOINT_RESTORE");

  /** containerd's defaults (kubelet normally sends the same lists). */
  public static final List<String> DEFAULT_MASKED_PATHS =
      List.of(
          "/proc/acpi",
          "/proc/asound",
          "/proc/kcore",
          "/proc/keys",
          "/proc/latency_stats",
          "/proc/timer_list",
          "/proc/timer_stats",
          "/proc/sched_debug",
          "/proc/scsi",
          "/sys/firmware",
          "/sys/devices/virtual/powercap");

  public static final List<String> DEFAULT_READONLY_PATHS =
      List.of("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger");

  static final String DEFAULT_PATH =
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

  /** RLIMIT_NOFILE we ask for (CRI-O's default), lowered to what this host allows. */
  static final long DEFAULT_NOFILE = 1_048_576;

  private final HostLimits hostLimits;
  private final HostCapabilities hostCapabilities;

  public OciSpecBuilder(HostLimits hostLimits) {
    this(hostLimits, HostCapabilities.all());
  }

  public OciSpecBuilder(HostLimits hostLimits, HostCapabilities hostCapabilities) {
    this.hostLimits = hostLimits;
    this.hostCapabilities = hostCapabilities;
  }

  /** Builds the spec of container {@code containerId}. */
  public ObjectNode build(
      String containerId,
      ContainerConfig config,
      PodSandboxConfig sandbox,
      ImageDefaults image,
      SandboxContext context) {
    LinuxContainerSecurityContext security = config.getLinux().getSecurityContext();
    boolean privileged = security.getPrivileged();
    ObjectNode spec = JSON.createObjectNode();
    spec.put("ociVersion", "1.0.2");

    Set<String> capabilities =
        hostCapabilities.grantable(capabilities(security.getCapabilities(), privileged));
    NamespaceOption namespaces = namespaceOptions(security, sandbox);
    boolean hostNetwork = namespaces.getNetwork() == NamespaceMode.NODE;
    boolean ownUts = !hostNetwork && context.utsNs().isEmpty();

    spec.set("process", process(config, image, context, security, capabilities));
    ObjectNode root = spec.putObject("root");
    root.put("path", context.rootfs().toString());
    root.put("readonly", security.getReadonlyRootfs());
    if (ownUts && !context.hostname().isEmpty()) {
      spec.put("hostname", context.hostname());
    }
    spec.set("mounts", mounts(config, context, privileged, hostNetwork));
    spec.set("annotations", annotations(containerId, config, sandbox, context));

    ObjectNode linux = spec.putObject("linux");
    linux.set("namespaces", namespaces(namespaces, context));
    linux.put("cgroupsPath", cgroupsPath(context.cgroupParent(), containerId));
    linux.set("resources", resources(config.getLinux().getResources()));
    devices(config.getDevicesList(), privileged, linux);
    if (!sandbox.getLinux().getSysctlsMap().isEmpty()) {
      ObjectNode sysctl = linux.putObject("sysctl");
      sandbox.getLinux().getSysctlsMap().forEach(sysctl::put);
    }
    propagation(config.getMountsList()).ifPresent(p -> linux.put("rootfsPropagation", p));
    if (!privileged) {
      ArrayNode masked = linux.putArray("maskedPaths");
      (security.getMaskedPathsCount() > 0 ? security.getMaskedPathsList() : DEFAULT_MASKED_PATHS)
          .forEach(masked::add);
      ArrayNode readonly = linux.putArray("readonlyPaths");
      (security.getReadonlyPathsCount() > 0
              ? security.getReadonlyPathsList()
              : DEFAULT_READONLY_PATHS)
          .forEach(readonly::add);
    }
    seccomp(security, privileged, capabilities).ifPresent(s -> linux.set("seccomp", s));
    return spec;
  }

  /** Writes {@code spec} as {@code <bundle>/config.json} (atomically). */
  public static void write(ObjectNode spec, Path bundle) {
    try {
      Files.createDirectories(bundle);
      AtomicFiles.write(bundle.resolve("config.json"), JSON.writeValueAsBytes(spec));
    } catch (IOException e) {
      throw CriException.internal("cannot write " + bundle.resolve("config.json"), e);
    }
  }

  /**
   * Writes {@code bundle/config.json} for the runtime to read now and returns the fsync that makes
   * it durable, running on {@code executor}.
   */
  public static CompletableFuture<Void> writeThenSync(
      ObjectNode spec, Path bundle, Executor executor) {
    Path file = bundle.resolve("config.json");
    try {
      AtomicFiles.writeUnsynced(file, JSON.writeValueAsBytes(spec));
    } catch (IOException e) {
      throw CriException.internal("cannot write " + file, e);
    }
    return CompletableFuture.runAsync(
        () -> {
          try {
            AtomicFiles.sync(file);
          } catch (IOException e) {
            throw CriException.internal("cannot fsync " + file, e);
          }
        },
        executor);
  }

  /** cgroupfs form: {@code <parent>/<id>}, absolute. */
  public static String cgroupsPath(String parent, String containerId) {
    String p = parent.isBlank() ? "/spawnlet" : parent;
    if (!p.startsWith("/")) {
      p = "/" + p;
    }
    return (p.endsWith("/") ? p : p + "/") + containerId;
  }

  // ---------------------------------------------------------------- process

  private ObjectNode process(
      ContainerConfig config,
      ImageDefaults image,
      SandboxContext context,
      LinuxContainerSecurityContext security,
      Set<String> capabilities) {
    ObjectNode process = JSON.createObjectNode();
    process.put("terminal", config.getTty());
    List<String> args = args(config, image);
    process.set("args", strings(args));
    process.set("env", strings(env(config, image, context.hostname())));
    String cwd = !config.getWorkingDir().isEmpty() ? config.getWorkingDir() : image.workingDir();
    process.put("cwd", cwd.isEmpty() ? "/" : cwd);

    ContainerUser user = user(security, image, context.rootfs());
    ObjectNode userNode = process.putObject("user");
    userNode.put("uid", user.uid());
    userNode.put("gid", user.gid());
    if (!user.additionalGids().isEmpty()) {
      ArrayNode gids = userNode.putArray("additionalGids");
      user.additionalGids().forEach(gids::add);
    }

    ObjectNode caps = process.putObject("capabilities");
    for (String set : List.of("bounding", "effective", "permitted")) {
      caps.set(set, strings(List.copyOf(capabilities)));
    }
    // Ambient capabilities only when asked for, and only those also in the bounding set.
    List<String> ambient =
        security.getCapabilities().getAddAmbientCapabilitiesList().stream()
            .map(OciSpecBuilder::capName)
            .filter(capabilities::contains)
            .toList();
    if (!ambient.isEmpty()) {
      caps.set("ambient", strings(ambient));
      caps.set("inheritable", strings(ambient));
    }
    process.put("noNewPrivileges", security.getNoNewPrivs());
    LinuxContainerResources resources = config.getLinux().getResources();
    if (resources.getOomScoreAdj() != 0) {
      process.put("oomScoreAdj", resources.getOomScoreAdj());
    }
    ArrayNode rlimits = process.putArray("rlimits");
    long nofile = hostLimits.clamp("RLIMIT_NOFILE", DEFAULT_NOFILE);
    ObjectNode rlimit = rlimits.addObject();
    rlimit.put("type", "RLIMIT_NOFILE");
    rlimit.put("hard", nofile);
    rlimit.put("soft", nofile);
    return process;
  }

  /**
   * The kubelet's rule: {@code command} replaces the image's entrypoint (and then the image's cmd
   * is dropped), {@code args} replace the image's cmd.
   */
  static List<String> args(ContainerConfig config, ImageDefaults image) {
    List<String> args = new ArrayList<>();
    if (config.getCommandCount() > 0) {
      args.addAll(config.getCommandList());
      args.addAll(config.getArgsList());
    } else {
      args.addAll(image.entrypoint());
      args.addAll(config.getArgsCount() > 0 ? config.getArgsList() : image.cmd());
    }
    if (args.isEmpty()) {
      throw CriException.invalid(
          "command", "no command given and the image has neither Entrypoint nor Cmd");
    }
    return args;
  }

  /** HOSTNAME, then the image's env, then the CRI env: a later value for a name wins. */
  static List<String> env(ContainerConfig config, ImageDefaults image, String hostname) {
    Map<String, String> env = new LinkedHashMap<>();
    if (!hostname.isEmpty()) {
      env.put("HOSTNAME", "HOSTNAME=" + hostname);
    }
    for (String entry : image.env()) {
      env.put(entry.split("=", 2)[0], entry);
    }
    for (var kv : config.getEnvsList()) {
      env.put(kv.getKey(), kv.getKey() + "=" + kv.getValue().toStringUtf8());
    }
    if (!env.containsKey("PATH")) {
      env.put("PATH", DEFAULT_PATH);
    }
    if (config.getTty() && !env.containsKey("TERM")) {
      env.put("TERM", "TERM=xterm");
    }
    return List.copyOf(env.values());
  }

  static ContainerUser user(
      LinuxContainerSecurityContext security, ImageDefaults image, Path rootfs) {
    Optional<Long> gid =
        security.hasRunAsGroup()
            ? Optional.of(security.getRunAsGroup().getValue())
            : Optional.empty();
    String user;
    if (security.hasRunAsUser()) {
      user = Long.toString(security.getRunAsUser().getValue());
    } else if (!security.getRunAsUsername().isEmpty()) {
      user = security.getRunAsUsername();
    } else {
      user = image.user();
      if (gid.isPresent() && user.isEmpty()) {
        throw CriException.invalid(
            "run_as_group", "is set without run_as_user or run_as_username or an image user");
      }
    }
    return ContainerUser.resolve(rootfs, user, gid, security.getSupplementalGroupsList());
  }

  // ------------------------------------------------------------- capabilities

  static Set<String> capabilities(Capability requested, boolean privileged) {
    if (privileged) {
      return new LinkedHashSet<>(ALL_CAPABILITIES);
    }
    Set<String> caps = new LinkedHashSet<>(DEFAULT_CAPABILITIES);
    List<String> add =
        requested.getAddCapabilitiesList().stream().map(OciSpecBuilder::capName).toList();
    List<String> drop =
        requested.getDropCapabilitiesList().stream().map(OciSpecBuilder::capName).toList();
    // As in containerd: "ALL" in add first adds all; then drops; then explicit adds win over a
    // drop of ALL.
    if (add.contains("CAP_ALL")) {
      caps.addAll(ALL_CAPABILITIES);
    }
    if (drop.contains("CAP_ALL")) {
      caps.clear();
    }
    drop.forEach(caps::remove);
    for (String cap : add) {
      if (cap.equals("CAP_ALL")) {
        continue;
      }
      if (!ALL_CAPABILITIES.contains(cap)) {
        throw CriException.invalid("capabilities.add_capabilities", "unknown capability " + cap);
      }
      caps.add(cap);
    }
    return caps;
  }

  static String capName(String name) {
    String upper = name.toUpperCase(Locale.ROOT);
    return upper.startsWith("CAP_") ? upper : "CAP_" + upper;
  }

  // ------------------------------------------------------------------ mounts

  private static ArrayNode mounts(
      ContainerConfig config, SandboxContext context, boolean privileged, boolean hostNetwork) {
    Set<String> criDestinations = new TreeSet<>();
    config.getMountsList().forEach(m -> criDestinations.add(clean(m.getContainerPath())));
    List<ObjectNode> defaults = new ArrayList<>();
    defaults.add(mount("/proc", "proc", "proc", "nosuid", "noexec", "nodev"));
    defaults.add(
        mount("/dev", "tmpfs", "tmpfs", "nosuid", "strictatime", "mode=755", "size=65536k"));
    defaults.add(
        mount(
            "/dev/pts",
            "devpts",
            "devpts",
            "nosuid",
            "noexec",
            "newinstance",
            "ptmxmode=0666",
            "mode=0620",
            "gid=5"));
    defaults.add(
        context
            .shm()
            .map(
                shm ->
                    mount("/dev/shm", "bind", shm.toString(), "rbind", "nosuid", "noexec", "nodev"))
            .orElse(
                mount(
                    "/dev/shm",
                    "tmpfs",
                    "shm",
                    "nosuid",
                    "noexec",
                    "nodev",
                    "mode=1777",
                    "size=65536k")));
    defaults.add(mount("/dev/mqueue", "mqueue", "mqueue", "nosuid", "noexec", "nodev"));
    String sysMode = privileged ? "rw" : "ro";
    if (hostNetwork) {
      // sysfs can only be mounted afresh inside an own network namespace: bind the host's.
      defaults.add(mount("/sys", "bind", "/sys", "rbind", "nosuid", "noexec", "nodev", sysMode));
    } else {
      defaults.add(mount("/sys", "sysfs", "sysfs", "nosuid", "noexec", "nodev", sysMode));
    }
    defaults.add(
        mount(
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            "nosuid",
            "noexec",
            "nodev",
            "relatime",
            sysMode));
    context.hosts().ifPresent(p -> defaults.add(bind("/etc/hosts", p, false)));
    context.resolvConf().ifPresent(p -> defaults.add(bind("/etc/resolv.conf", p, false)));
    context.hostnameFile().ifPresent(p -> defaults.add(bind("/etc/hostname", p, false)));

    ArrayNode mounts = JSON.createArrayNode();
    defaults.stream()
        .filter(m -> !criDestinations.contains(m.get("destination").asText()))
        .forEach(mounts::add);
    // Parents before children, so that a mount inside another is not hidden by it.
    config.getMountsList().stream()
        .sorted(Comparator.comparingInt(m -> clean(m.getContainerPath()).split("/").length))
        .forEach(m -> mounts.add(criMount(m)));
    return mounts;
  }

  private static ObjectNode criMount(Mount m) {
    if (m.getHostPath().isEmpty() || !m.getContainerPath().startsWith("/")) {
      throw CriException.invalid(
          "mounts",
          "mount \""
              + m.getContainerPath()
              + "\" needs a host_path and an absolute container_path");
    }
    List<String> options = new ArrayList<>(List.of("rbind"));
    options.add(
        switch (m.getPropagation()) {
          case PROPAGATION_HOST_TO_CONTAINER -> "rslave";
          case PROPAGATION_BIDIRECTIONAL -> "rshared";
          default -> "rprivate";
        });
    options.add(m.getReadonly() ? "ro" : "rw");
    if (m.getReadonly() && m.getRecursiveReadOnly()) {
      options.add("rro");
    }
    ObjectNode node = JSON.createObjectNode();
    node.put("destination", clean(m.getContainerPath()));
    node.put("type", "bind");
    node.put("source", m.getHostPath());
    node.set("options", strings(options));
    return node;
  }

  /** The rootfs must propagate at least as much as its most propagating bind mount. */
  private static Optional<String> propagation(List<Mount> mounts) {
    if (mounts.stream()
        .anyMatch(
            m -> m.getPropagation() == runtime.v1.MountPropagation.PROPAGATION_BIDIRECTIONAL)) {
      return Optional.of("rshared");
    }
    if (mounts.stream()
        .anyMatch(
            m -> m.getPropagation() == runtime.v1.MountPropagation.PROPAGATION_HOST_TO_CONTAINER)) {
      return Optional.of("rslave");
    }
    return Optional.empty();
  }

  private static ObjectNode bind(String destination, Path source, boolean readonly) {
    return mount(
        destination, "bind", source.toString(), "rbind", "rprivate", readonly ? "ro" : "rw");
  }

  private static ObjectNode mount(
      String destination, String type, String source, String... options) {
    ObjectNode node = JSON.createObjectNode();
    node.put("destination", destination);
    node.put("type", type);
    node.put("source", source);
    node.set("options", strings(List.of(options)));
    return node;
  }

  private static String clean(String path) {
    String p = path.replaceAll("/+", "/");
    return p.length() > 1 && p.endsWith("/") ? p.substring(0, p.length() - 1) : p;
  }

  // ----------------------------------------------------------------- devices

  private static void devices(List<Device> requested, boolean privileged, ObjectNode linux) {
    ArrayNode devices = linux.putArray("devices");
    ArrayNode rules = linux.withObjectProperty("resources").putArray("devices");
    if (privileged) {
      rules.addObject().put("allow", true).put("access", "rwm");
      hostDevices().forEach(d -> devices.add(d.node(d.path())));
    } else {
      rules.addObject().put("allow", false).put("access", "rwm");
    }
    for (Device d : requested) {
      HostDevice host =
          HostDevice.of(Path.of(d.getHostPath()))
              .orElseThrow(
                  () ->
                      CriException.invalid(
                          "devices",
                          "host_path " + d.getHostPath() + " is not a character or block device"));
      String containerPath =
          d.getContainerPath().isEmpty() ? d.getHostPath() : d.getContainerPath();
      devices.add(host.node(containerPath));
      String access = d.getPermissions().isEmpty() ? "rwm" : d.getPermissions();
      rules
          .addObject()
          .put("allow", true)
          .put("type", host.type())
          .put("major", host.major())
          .put("minor", host.minor())
          .put("access", access);
    }
  }

  /** A device node on the host, read with stat. */
  record HostDevice(String path, String type, long major, long minor, int mode, int uid, int gid) {
    static Optional<HostDevice> of(Path path) {
      try {
        Map<String, Object> a = Files.readAttributes(path, "unix:mode,rdev,uid,gid");
        int mode = (Integer) a.get("mode");
        int format = mode & 0170000;
        String type = format == 0020000 ? "c" : format == 0060000 ? "b" : null;
        if (type == null) {
          return Optional.empty();
        }
        long rdev = (Long) a.get("rdev");
        long major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & ~0xfffL);
        long minor = (rdev & 0xff) | ((rdev >> 12) & ~0xffL);
        return Optional.of(
            new HostDevice(
                path.toString(),
                type,
                major,
                minor,
                mode & 07777,
                (Integer) a.get("uid"),
                (Integer) a.get("gid")));
      } catch (IOException | UnsupportedOperationException e) {
        return Optional.empty();
      }
    }

    ObjectNode node(String containerPath) {
      ObjectNode n = JSON.createObjectNode();
      n.put("path", containerPath);
      n.put("type", type);
      n.put("major", major);
      n.put("minor", minor);
      n.put("fileMode", mode);
      n.put("uid", uid);
      n.put("gid", gid);
      return n;
    }
  }

  /** The host's top-level device nodes (what a privileged container sees, as with containerd). */
  private static List<HostDevice> hostDevices() {
    try (Stream<Path> entries = Files.list(Path.of("/dev"))) {
      return entries
          .filter(p -> !Files.isSymbolicLink(p) && !Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS))
          .filter(p -> !p.getFileName().toString().equals("console"))
          .map(HostDevice::of)
          .flatMap(Optional::stream)
          .sorted(Comparator.comparing(HostDevice::path))
          .toList();
    } catch (IOException e) {
      return List.of();
    }
  }

  // --------------------------------------------------------------- resources

  /** OCI {@code linux.resources} (without devices) from the CRI resources; also for update. */
  public static ObjectNode resources(LinuxContainerResources r) {
    ObjectNode resources = JSON.createObjectNode();
    ObjectNode cpu = JSON.createObjectNode();
    if (r.getCpuShares() > 0) {
      cpu.put("shares", r.getCpuShares());
    }
    if (r.getCpuQuota() > 0) {
      cpu.put("quota", r.getCpuQuota());
    }
    if (r.getCpuPeriod() > 0) {
      cpu.put("period", r.getCpuPeriod());
    }
    if (!r.getCpusetCpus().isEmpty()) {
      cpu.put("cpus", r.getCpusetCpus());
    }
    if (!r.getCpusetMems().isEmpty()) {
      cpu.put("mems", r.getCpusetMems());
    }
    if (!cpu.isEmpty()) {
      resources.set("cpu", cpu);
    }
    ObjectNode memory = JSON.createObjectNode();
    if (r.getMemoryLimitInBytes() > 0) {
      memory.put("limit", r.getMemoryLimitInBytes());
      // Without an explicit swap limit, no swap beyond the memory limit (as kubelet expects).
      memory.put(
          "swap",
          r.getMemorySwapLimitInBytes() > 0
              ? r.getMemorySwapLimitInBytes()
              : r.getMemoryLimitInBytes());
    } else if (r.getMemorySwapLimitInBytes() > 0) {
      memory.put("swap", r.getMemorySwapLimitInBytes());
    }
    if (!memory.isEmpty()) {
      resources.set("memory", memory);
    }
    if (r.getHugepageLimitsCount() > 0) {
      ArrayNode huge = resources.putArray("hugepageLimits");
      r.getHugepageLimitsList()
          .forEach(
              h -> huge.addObject().put("pageSize", h.getPageSize()).put("limit", h.getLimit()));
    }
    if (!r.getUnifiedMap().isEmpty()) {
      ObjectNode unified = resources.putObject("unified");
      r.getUnifiedMap().forEach(unified::put);
    }
    return resources;
  }

  // -------------------------------------------------------------- namespaces

  /** The namespace modes of a container: its own when it gives any, else its pod's. */
  public static NamespaceOption namespaceOptions(
      LinuxContainerSecurityContext security, PodSandboxConfig sandbox) {
    if (security.hasNamespaceOptions()) {
      return security.getNamespaceOptions();
    }
    return sandbox.getLinux().getSecurityContext().getNamespaceOptions();
  }

  /**
   * Network and IPC: the sandbox's pinned namespaces, or the host's for NODE. UTS follows the
   * network (host network means the host's hostname, as with the kubelet). PID: NODE host, TARGET
   * the target container's namespace; POD the pod's shared namespace when it has one (its holder:
   * sandbox.PodPidNamespace; without one POD behaves like CONTAINER); CONTAINER a new one. Mount
   * and cgroup namespaces are always new.
   */
  private static ArrayNode namespaces(NamespaceOption options, SandboxContext context) {
    ArrayNode namespaces = JSON.createArrayNode();
    if (options.getNetwork() != NamespaceMode.NODE) {
      addNamespace(namespaces, "network", context.netNs());
    }
    if (options.getIpc() != NamespaceMode.NODE) {
      addNamespace(namespaces, "ipc", context.ipcNs());
    }
    if (options.getNetwork() != NamespaceMode.NODE) {
      addNamespace(namespaces, "uts", context.utsNs());
    }
    switch (options.getPid()) {
      case NODE -> {}
      case TARGET -> {
        Path target =
            context
                .pidNs()
                .orElseThrow(
                    () ->
                        CriException.invalid(
                            "namespace_options.target_id",
                            "pid mode TARGET needs the target container running"));
        addNamespace(namespaces, "pid", Optional.of(target));
      }
      case POD -> addNamespace(namespaces, "pid", context.pidNs());
      default -> addNamespace(namespaces, "pid", Optional.empty());
    }
    addNamespace(namespaces, "mount", Optional.empty());
    addNamespace(namespaces, "cgroup", Optional.empty());
    return namespaces;
  }

  private static void addNamespace(ArrayNode namespaces, String type, Optional<Path> path) {
    ObjectNode ns = namespaces.addObject();
    ns.put("type", type);
    path.ifPresent(p -> ns.put("path", p.toString()));
  }

  // ---------------------------------------------------------------- seccomp

  @SuppressWarnings("deprecation") // seccomp_profile_path: older kubelets still send it
  private static Optional<ObjectNode> seccomp(
      LinuxContainerSecurityContext security, boolean privileged, Set<String> capabilities) {
    if (privileged) {
      return Optional.empty();
    }
    if (security.hasSeccomp()) {
      SecurityProfile profile = security.getSeccomp();
      return switch (profile.getProfileType()) {
        case RuntimeDefault -> Optional.of(SeccompProfiles.runtimeDefault(capabilities));
        case Localhost ->
            Optional.of(SeccompProfiles.localhost(Path.of(profile.getLocalhostRef())));
        default -> Optional.empty();
      };
    }
    String path = security.getSeccompProfilePath();
    if (path.equals("runtime/default") || path.equals("docker/default")) {
      return Optional.of(SeccompProfiles.runtimeDefault(capabilities));
    }
    if (path.startsWith("localhost/")) {
      return Optional.of(SeccompProfiles.localhost(Path.of(path.substring("localhost".length()))));
    }
    return Optional.empty();
  }

  // ------------------------------------------------------------- annotations

  private static ObjectNode annotations(
      String containerId,
      ContainerConfig config,
      PodSandboxConfig sandbox,
      SandboxContext context) {
    ObjectNode a = JSON.createObjectNode();
    config.getAnnotationsMap().entrySet().stream()
        .sorted(Map.Entry.comparingByKey())
        .forEach(e -> a.put(e.getKey(), e.getValue()));
    a.put("io.kubernetes.cri.container-type", "container");
    a.put("io.kubernetes.cri.sandbox-id", context.sandboxId());
    a.put("io.kubernetes.container.name", config.getMetadata().getName());
    a.put("io.kubernetes.container.attempt", Integer.toString(config.getMetadata().getAttempt()));
    a.put("io.kubernetes.pod.name", sandbox.getMetadata().getName());
    a.put("io.kubernetes.pod.namespace", sandbox.getMetadata().getNamespace());
    a.put("io.kubernetes.pod.uid", sandbox.getMetadata().getUid());
    a.put("io.kubernetes.cri.image-name", config.getImage().getImage());
    if (!config.getLogPath().isEmpty()) {
      a.put("io.kubernetes.cri.log-path", context.logDir().resolve(config.getLogPath()).toString());
    }
    a.put("io.spawnlet.container-id", containerId);
    return a;
  }

  private static ArrayNode strings(List<String> values) {
    ArrayNode array = JSON.createArrayNode();
    values.forEach(array::add);
    return array;
  }
}
