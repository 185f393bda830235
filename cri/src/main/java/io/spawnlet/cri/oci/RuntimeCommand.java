package io.spawnlet.cri.oci;

import io.spawnlet.cri.host.CgroupHierarchies;
import io.spawnlet.cri.host.CgroupLayout;
import io.spawnlet.cri.host.MountTable;
import io.spawnlet.cri.store.AtomicFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * How to invoke one handler's OCI runtime on this host: the executable (the runtime itself or a
 * wrapper) and the global arguments every call starts with ({@code --root=…} + the handler's
 * flags). Both the daemon's own calls and conmon (its {@code -r}) use {@link #executable()}.
 *
 * <p><b>Why a wrapper on hybrid hosts.</b> crun 1.8 refuses a host that mounts both cgroup v1
 * controllers and a cgroup2 hierarchy ("cgroups in hybrid mode not supported, drop all controllers
 * from cgroupv2"), even with {@code --cgroup-manager=disabled}. On such a host crun is run in a
 * mount namespace of its own in which the cgroup2 mount is unmounted: crun then sees, and manages,
 * a pure v1 host. The namespace lives only for that one call (the container gets its own mount
 * namespace anyway, which crun sets up from this view). The price is one unshare + umount per
 * runtime call (a few milliseconds). Processes then sit only in the v1 hierarchies; the cgroup2
 * mount holds nothing of ours but hugetlb, which we do not limit on hybrid hosts.
 *
 * <p><b>Propagation.</b> The namespace keeps the host's mount propagation ({@code unshare
 * --propagation unchanged}): a container's {@code rshared}/{@code rslave} volume must stay a peer
 * or slave of the host's mount, or mounts made on the host would never reach the container (and a
 * bidirectional volume's mounts never the host). Only the mount holding the cgroup2 mount point is
 * made private first, so the umount (an umount propagates through the parent mount's peers) stays
 * in the namespace. When that parent cannot be found in the mount table the wrapper falls back to a
 * wholly private namespace: propagation is lost, but the host is never touched.
 *
 * <p>runc 1.1 supports hybrid hosts itself (it also joins the cgroup2 hierarchy), so it is called
 * directly, as is crun on pure v1 or pure v2 hosts: there the wrapper is not written at all.
 */
public final class RuntimeCommand {
  private final RuntimeHandler handler;
  private final Path executable;

  private RuntimeCommand(RuntimeHandler handler, Path executable) {
    this.handler = handler;
    this.executable = executable;
  }

  /**
   * Chooses the invocation for {@code handler} on a host with {@code layout}, writing the wrapper
   * under {@code runDir} when one is needed.
   */
  public static RuntimeCommand forHost(
      RuntimeHandler handler, CgroupHierarchies layout, Path runDir) {
    if (handler.isCrun() && layout.layout() == CgroupLayout.HYBRID) {
      Path unified = layout.unified().orElseThrow();
      Optional<Path> parent = MountTable.readSelf().parentMountPoint(unified);
      return new RuntimeCommand(
          handler,
          writeWrapper(
              handler.name(),
              wrapperScript(handler.runtimePath(), unified, parent),
              runDir.resolve("bin")));
    }
    return new RuntimeCommand(handler, handler.runtimePath());
  }

  /**
   * The wrapper: {@code runtime} with its arguments, in a mount namespace without {@code
   * unifiedMount}. With {@code unifiedParent} known the namespace keeps the host's propagation and
   * only that parent mount is made private; without it the whole namespace is private.
   */
  static String wrapperScript(Path runtime, Path unifiedMount, Optional<Path> unifiedParent) {
    String inNamespace =
        unifiedParent
            .map(p -> "mount --make-private " + p + " && umount " + unifiedMount)
            .orElse("umount " + unifiedMount);
    String propagation = unifiedParent.isPresent() ? "unchanged" : "private";
    return "#!/bin/sh\n"
        + "# Written by spawnlet: runs "
        + runtime
        + " in a mount namespace of its own without the cgroup2 mount,\n"
        + "# because it refuses hybrid cgroup hosts. See RuntimeCommand.java.\n"
        + "exec /usr/bin/unshare --mount --propagation "
        + propagation
        + " /bin/sh -c '"
        + inNamespace
        + " && exec \"$0\" \"$@\"' "
        + runtime
        + " \"$@\"\n";
  }

  private static Path writeWrapper(String handlerName, String script, Path binDir) {
    Path wrapper = binDir.resolve(handlerName + "-v1-view");
    try {
      Files.createDirectories(binDir);
      AtomicFiles.write(wrapper, script.getBytes(StandardCharsets.UTF_8));
      Files.setPosixFilePermissions(wrapper, PosixFilePermissions.fromString("rwxr-xr-x"));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write runtime wrapper " + wrapper, e);
    }
    return wrapper;
  }

  public RuntimeHandler handler() {
    return handler;
  }

  /** What to execute: the runtime, or its hybrid-cgroup wrapper. */
  public Path executable() {
    return executable;
  }

  /** Global arguments for every call, without the executable: {@code --root=…} and the flags. */
  public List<String> globalArgs() {
    List<String> args = new ArrayList<>();
    args.add("--root=" + handler.rootDir());
    args.addAll(handler.globalFlags());
    return args;
  }

  /** The full argv of {@code runtime <global args> <subcommand args…>}. */
  public List<String> argv(List<String> subcommand) {
    List<String> argv = new ArrayList<>();
    argv.add(executable.toString());
    argv.addAll(globalArgs());
    argv.addAll(subcommand);
    return argv;
  }
}
