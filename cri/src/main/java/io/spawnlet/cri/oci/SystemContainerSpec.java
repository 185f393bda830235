package io.spawnlet.cri.oci;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.spawnlet.cri.host.CgroupLayout;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Turns an ordinary container spec (from {@link OciSpecBuilder}) into one a booting systemd accepts
 * as its container, following systemd's Container Interface (systemd.io/CONTAINER_INTERFACE) the
 * way {@code systemd-nspawn -b} and Podman's {@code --systemd=always} do:
 *
 * <ul>
 *   <li>{@code container=spawnlet} in the environment (systemd's virtualization detection);
 *   <li>tmpfs on {@code /run}, {@code /run/lock}, {@code /tmp} (systemd expects them empty and
 *       writable at boot, and the image's copies must not leak between boots);
 *   <li>{@code /sys/fs/cgroup} writable, inside the container's own cgroup namespace, so systemd
 *       can make {@code init.scope} and its service cgroups below the container's cgroup (and only
 *       there);
 *   <li>a stable per-pod {@code /etc/machine-id} (the journal's directory name and D-Bus use it):
 *       written into the container's upper directory by {@code MachineId#install}, not bound: a
 *       bind mount makes systemd try (and fail) to "commit" a transient id at every boot;
 *   <li>a terminal: the console is a pty whose output conmon writes to the CRI log (boot log);
 *   <li>{@code /sbin/init} when neither the image nor the CRI config names a program;
 *   <li>no kernel modules: without a seccomp profile of the pod's own, and unless the container
 *       holds CAP_SYS_MODULE (a privileged pod), a filter fails init_module, finit_module and
 *       delete_module with EPERM, as systemd-nspawn's does. A user namespace already denies them on
 *       a kernel with modules; the filter makes the refusal the same on every kernel.
 * </ul>
 *
 * Hostname, /etc/hosts and /etc/resolv.conf come from the sandbox as for every container.
 */
public final class SystemContainerSpec {
  /** The CRI runtime handler of system pods (the RuntimeClass {@code spawnlet}). */
  public static final String HANDLER = "system";

  /** Pod annotation that selects {@link #HANDLER} when the request names no handler. */
  public static final String ANNOTATION = "spawnlet.io/system";

  /** What systemd reads from {@code $container} (systemd-detect-virt prints it). */
  public static final String CONTAINER_ENV = "container=spawnlet";

  public static final List<String> DEFAULT_COMMAND = List.of("/sbin/init");

  /** systemd's clean poweroff; used when neither the CRI config nor the image names a signal. */
  public static final String STOP_SIGNAL = "SIGRTMIN+3";

  private static final Set<String> TMPFS_DIRS = Set.of("/run", "/run/lock", "/tmp");

  private final CgroupLayout cgroups;

  public SystemContainerSpec(CgroupLayout cgroups) {
    this.cgroups = cgroups;
  }

  /** Whether a pod is a system pod: its handler, or (no handler asked for) its annotation. */
  public static boolean selects(String requestedHandler, Map<String, String> annotations) {
    if (requestedHandler != null && !requestedHandler.isEmpty()) {
      return requestedHandler.equals(HANDLER);
    }
    return "true".equalsIgnoreCase(annotations.getOrDefault(ANNOTATION, ""));
  }

  /** Where the container's init finds its notify socket ({@code NOTIFY_SOCKET}), as nspawn. */
  public static final String NOTIFY_DIR = "/run/host/notify";

  /**
   * Changes {@code spec} in place for a system container.
   *
   * @param notifyDir host directory holding the daemon's notify socket {@code notify}, bound
   *     read-only at {@value #NOTIFY_DIR}
   */
  public ObjectNode decorate(ObjectNode spec, Path notifyDir) {
    ObjectNode process = (ObjectNode) spec.get("process");
    process.put("terminal", true);
    ArrayNode env = (ArrayNode) process.get("env");
    removeEntries(env, "container=");
    env.add(CONTAINER_ENV);
    removeEntries(env, "NOTIFY_SOCKET=");
    env.add("NOTIFY_SOCKET=" + NOTIFY_DIR + "/notify");
    if (!env.toString().contains("\"TERM=")) {
      env.add("TERM=linux");
    }

    ArrayNode mounts = (ArrayNode) spec.get("mounts");
    for (int i = mounts.size() - 1; i >= 0; i--) {
      String destination = mounts.get(i).path("destination").asText();
      if (TMPFS_DIRS.contains(destination)) {
        mounts.remove(i);
      }
    }
    for (JsonNode m : mounts) {
      if (m.path("destination").asText().equals("/sys/fs/cgroup")) {
        writableCgroupMount((ObjectNode) m);
      }
    }
    mounts.add(tmpfs("/run", "mode=755", "size=20%"));
    mounts.add(tmpfs("/run/lock", "mode=1777", "size=5m", "noexec"));
    mounts.add(tmpfs("/tmp", "mode=1777", "size=50%"));
    ObjectNode notify = mounts.addObject();
    notify.put("destination", NOTIFY_DIR);
    notify.put("type", "bind");
    notify.put("source", notifyDir.toString());
    notify.putArray("options").add("bind").add("ro").add("nosuid").add("nodev").add("noexec");

    ObjectNode linux = (ObjectNode) spec.get("linux");
    ensureNamespace((ArrayNode) linux.get("namespaces"), "cgroup");
    if (!linux.has("seccomp")
        && !process.path("capabilities").toString().contains("CAP_SYS_MODULE")) {
      linux.set("seccomp", noModules());
    }
    return spec;
  }

  private static final int EPERM = 1;

  /** Everything allowed but loading and unloading kernel modules (EPERM). */
  static ObjectNode noModules() {
    ObjectNode profile = OciSpecBuilder.JSON.createObjectNode();
    profile.put("defaultAction", "SCMP_ACT_ALLOW");
    // every ABI of the machine: a 32-bit call must not slip past a filter on the 64-bit numbers
    profile
        .putArray("architectures")
        .add("SCMP_ARCH_X86_64")
        .add("SCMP_ARCH_X86")
        .add("SCMP_ARCH_X32");
    ObjectNode deny = profile.putArray("syscalls").addObject();
    deny.putArray("names").add("init_module").add("finit_module").add("delete_module");
    deny.put("action", "SCMP_ACT_ERRNO");
    deny.put("errnoRet", EPERM);
    return profile;
  }

  /** The cgroup file system, read-write: the cgroup namespace confines it to our subtree. */
  private static void writableCgroupMount(ObjectNode mount) {
    ArrayNode options = mount.putArray("options");
    options.add("nosuid").add("noexec").add("nodev").add("relatime").add("rw");
  }

  private static ObjectNode tmpfs(String destination, String... extra) {
    ObjectNode m = OciSpecBuilder.JSON.createObjectNode();
    m.put("destination", destination);
    m.put("type", "tmpfs");
    m.put("source", "tmpfs");
    ArrayNode options = m.putArray("options").add("nosuid").add("nodev").add("strictatime");
    for (String o : extra) {
      options.add(o);
    }
    return m;
  }

  private static void ensureNamespace(ArrayNode namespaces, String type) {
    for (JsonNode n : namespaces) {
      if (n.path("type").asText().equals(type)) {
        return;
      }
    }
    namespaces.addObject().put("type", type);
  }

  private static void removeEntries(ArrayNode values, String prefix) {
    for (int i = values.size() - 1; i >= 0; i--) {
      if (values.get(i).asText().startsWith(prefix)) {
        values.remove(i);
      }
    }
  }
}
