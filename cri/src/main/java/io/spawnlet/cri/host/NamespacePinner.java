package io.spawnlet.cri.host;

import io.spawnlet.cri.CriException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates a pod's network, IPC and UTS namespaces and keeps them alive without a pause process:
 * each namespace is pinned by a bind mount of its nsfs file onto {@code
 * <runDir>/ns/<sandboxId>/<kind>} (the way {@code ip netns add} pins network namespaces).
 * Containers and CNI plugins join the namespaces through those paths; {@link #unpin} unmounts them
 * and the kernel frees the namespaces once no process is left in them.
 *
 * <p>Creating the namespaces happens inside this JVM on a dedicated platform thread ({@link
 * NamespaceSwitchThread}), no fork per pod: save the thread's namespaces, {@code unshare}, set the
 * hostname, bind-mount {@code /proc/thread-self/ns/*}, {@code setns} back. unshare of net/ipc/uts
 * (unlike user or mount namespaces) is allowed in a multi-threaded process and affects only the
 * calling thread.
 *
 * <p>The loopback interface of a new network namespace is down; the CNI {@code loopback} plugin,
 * run by the network setup, brings it up. This class does not configure any interface.
 *
 * <p>Mount propagation of {@code <runDir>/ns}: on first use it becomes a bind mount of itself in a
 * peer group of its own and <em>shared</em> (what {@code ip netns} does with {@code /run/netns}).
 *
 * <ul>
 *   <li>Its own mount, detached from the parent's peer group (made private before shared): if it
 *       stayed a peer of {@code /run} (a shared mount on systemd hosts), every pin would be
 *       propagated, i.e. duplicated, onto {@code /run}'s peers.
 *   <li>Shared, not private: every mount namespace cloned from the host's while a pod is pinned
 *       (crun's container setup, conmon, a runtime or service with a private mount namespace) gets
 *       a copy of the pin. With a shared mount the copy is a peer (or a slave, if that namespace
 *       chose slave propagation), so our unmount in {@link #unpin} propagates to it and the
 *       namespace is really freed. With a private mount each copy would keep the pod's namespace
 *       alive for as long as that other mount namespace lives.
 * </ul>
 *
 * <p>Except when the run directory is a shared volume of its own (the chart's DaemonSet mounts the
 * host's with bidirectional propagation): then the bind mount stays in that volume's peer group, so
 * the pins are made on the host too and outlive the agent's container for the next agent to adopt.
 */
public final class NamespacePinner {
  private static final Logger log = LoggerFactory.getLogger(NamespacePinner.class);

  /**
   * spawnlet's sandbox ids are 64 hex digits; any id that is a plain file name of safe characters
   * is accepted (it starts with a letter or digit, so it is never "." or "..").
   */
  private static final Pattern SANDBOX_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,127}");

  /** RFC 1123 labels separated by dots; the kernel limit for a hostname is 64 bytes. */
  private static final Pattern HOSTNAME =
      Pattern.compile(
          "[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*");

  private static final int HOSTNAME_MAX = 64;

  private final Path nsRoot;
  private final NamespaceSwitchThread switchThread =
      new NamespaceSwitchThread("spawnlet-ns-pinner");
  private volatile boolean rootPrepared;

  /**
   * @param runDir spawnlet's runtime directory, e.g. {@code /run/spawnlet}
   */
  public NamespacePinner(Path runDir) {
    this.nsRoot = runDir.toAbsolutePath().normalize().resolve("ns");
  }

  /** The directory holding one sub-directory of pinned namespace files per sandbox. */
  public Path root() {
    return nsRoot;
  }

  /**
   * Unmounts the namespace directory's own bind mount when no sandbox is pinned any more (daemon
   * shutdown), so that an idle spawnlet leaves no mount behind. The next {@link #pin} mounts it
   * again.
   */
  public synchronized void releaseRootIfUnused() {
    if (pinnedSandboxIds().isEmpty() && Files.isDirectory(nsRoot)) {
      Syscalls.umount(nsRoot.toString(), Syscalls.MNT_DETACH);
      rootPrepared = false;
    }
  }

  /**
   * Creates new namespaces of the given kinds for {@code sandboxId} and pins them. Kinds that are
   * not asked for (CRI {@code NamespaceMode.NODE}) are not pinned: containers use the node's.
   *
   * @param hostname the pod's hostname, set in the new UTS namespace; if empty the namespace keeps
   *     a copy of the node's hostname
   * @throws CriException ALREADY_EXISTS if the sandbox is pinned already, INVALID_ARGUMENT for a
   *     bad id or hostname, INTERNAL if the kernel refused; nothing is left behind on failure
   */
  public PinnedNamespaces pin(String sandboxId, String hostname, Set<NamespaceKind> kinds) {
    validateId(sandboxId);
    EnumSet<NamespaceKind> wanted =
        kinds.isEmpty() ? EnumSet.noneOf(NamespaceKind.class) : EnumSet.copyOf(kinds);
    if (wanted.contains(NamespaceKind.UTS) && !hostname.isEmpty()) {
      validateHostname(hostname);
    }
    prepareRoot();
    Path dir = nsRoot.resolve(sandboxId);
    Map<NamespaceKind, Path> paths = new EnumMap<>(NamespaceKind.class);
    try {
      Files.createDirectory(dir);
    } catch (java.nio.file.FileAlreadyExistsException e) {
      throw CriException.alreadyExists(
          "namespaces of sandbox " + sandboxId + " are pinned already at " + dir);
    } catch (IOException e) {
      throw CriException.internal("cannot create " + dir + " to pin namespaces", e);
    }
    try {
      for (NamespaceKind kind : wanted) {
        Path file = dir.resolve(kind.procName());
        Files.createFile(file); // a bind mount needs an existing target of the same type
        paths.put(kind, file);
      }
      if (!wanted.isEmpty()) {
        switchThread.run(new PinJob(wanted, hostname, paths));
      }
      return new PinnedNamespaces(sandboxId, paths);
    } catch (IOException | RuntimeException e) {
      try {
        unpin(sandboxId);
      } catch (RuntimeException cleanup) {
        e.addSuppressed(cleanup);
      }
      if (e instanceof CriException ce) {
        throw ce;
      }
      throw CriException.internal(
          "cannot pin " + wanted + " namespaces of sandbox " + sandboxId + " under " + dir, e);
    }
  }

  /**
   * Unmounts (lazily, MNT_DETACH) and deletes the pinned namespace files of {@code sandboxId} and
   * its directory. Idempotent: unpinning a sandbox that is not pinned does nothing.
   */
  public void unpin(String sandboxId) {
    validateId(sandboxId);
    Path dir = nsRoot.resolve(sandboxId);
    if (!Files.isDirectory(dir)) {
      return;
    }
    try (Stream<Path> files = Files.list(dir)) {
      for (Path file : files.toList()) {
        // A file may carry more than one mount if a pin was repeated by hand; unmount them all.
        for (int i = 0; i < 8 && Syscalls.umount(file.toString(), Syscalls.MNT_DETACH); i++) {}
        Files.deleteIfExists(file);
      }
      Files.deleteIfExists(dir);
    } catch (NoSuchFileException e) {
      // unpinned concurrently: the goal is reached
    } catch (IOException | SyscallException e) {
      throw CriException.internal(
          "cannot unpin namespaces of sandbox "
              + sandboxId
              + " at "
              + dir
              + " (check `grep "
              + dir
              + " /proc/self/mountinfo`)",
          e);
    }
  }

  /**
   * The pinned namespaces of {@code sandboxId}, as found on disk after a restart: present only if
   * its directory exists and every namespace file in it is still an nsfs mount. A sandbox whose
   * pins are broken (a file no longer mounted) is reported absent: unpin it and treat it as not
   * ready.
   */
  public Optional<PinnedNamespaces> find(String sandboxId) {
    validateId(sandboxId);
    Path dir = nsRoot.resolve(sandboxId);
    if (!Files.isDirectory(dir)) {
      return Optional.empty();
    }
    Map<NamespaceKind, Path> paths = new EnumMap<>(NamespaceKind.class);
    for (NamespaceKind kind : NamespaceKind.values()) {
      Path file = dir.resolve(kind.procName());
      if (!Files.exists(file)) {
        continue;
      }
      try {
        if (Syscalls.statfsType(file.toString()) != Syscalls.NSFS_MAGIC) {
          return Optional.empty();
        }
      } catch (SyscallException e) {
        return Optional.empty();
      }
      paths.put(kind, file);
    }
    return Optional.of(new PinnedNamespaces(sandboxId, paths));
  }

  /** The ids of all sandboxes with a pin directory (pinned, or left half-pinned by a crash). */
  public List<String> pinnedSandboxIds() {
    if (!Files.isDirectory(nsRoot)) {
      return List.of();
    }
    try (Stream<Path> dirs = Files.list(nsRoot)) {
      List<String> ids = new ArrayList<>();
      dirs.filter(Files::isDirectory)
          .map(p -> p.getFileName().toString())
          .filter(id -> SANDBOX_ID.matcher(id).matches())
          .sorted()
          .forEach(ids::add);
      return ids;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list pinned namespaces in " + nsRoot, e);
    }
  }

  /** Threads started to switch namespaces so far (more than one means one was discarded). */
  int switchThreadGeneration() {
    return switchThread.generation();
  }

  private synchronized void prepareRoot() {
    if (rootPrepared) {
      return;
    }
    try {
      Files.createDirectories(nsRoot);
    } catch (IOException e) {
      throw CriException.internal("cannot create " + nsRoot + " for pinned namespaces", e);
    }
    // After a restart the root is a mount point already, with peers in other mount namespaces:
    // leave it as it is (making it private again would cut those peers off).
    MountTable mounts = MountTable.readSelf();
    if (!mounts.isMountPoint(nsRoot)) {
      String root = nsRoot.toString();
      Syscalls.mount(root, root, null, Syscalls.MS_BIND, null);
      if (joinsHostPeerGroup(mounts)) {
        // spawnlet in a container (the chart's DaemonSet): the run dir is the host's, mounted
        // with bidirectional propagation. The bind stays in that peer group, so the pins are
        // the host's too and outlive this container's mount namespace for the next agent to
        // adopt. A peer group of our own would keep them in this container only: when it goes,
        // the pods' namespaces are unreachable and their sandboxes look lost.
        log.info("{}: pinned namespaces propagate to the host's mount namespace", root);
      } else {
        Syscalls.mount(null, root, null, Syscalls.MS_PRIVATE, null);
        Syscalls.mount(null, root, null, Syscalls.MS_SHARED, null);
      }
    }
    rootPrepared = true;
  }

  /**
   * Whether the pins must stay in the peer group of the mount holding {@link #nsRoot}; logs what it
   * found (see {@link #joinsPeerGroup}).
   */
  private boolean joinsHostPeerGroup(MountTable mounts) {
    Path runDir = nsRoot.getParent();
    boolean contained = inOtherMountNamespaceThanInit();
    Optional<MountTable.Mount> holder = mounts.holderOf(runDir);
    log.info(
        "{}: on mount {} ({}), {}",
        nsRoot,
        holder.map(MountTable.Mount::mountPoint).orElse("?"),
        holder.map(m -> String.join(" ", m.optionalFields())).orElse(""),
        contained ? "in a container's mount namespace" : "in the host's mount namespace");
    boolean join = joinsPeerGroup(mounts, runDir, contained);
    if (!join
        && (contained || holder.map(m -> runDir.equals(Path.of(m.mountPoint()))).orElse(false))) {
      log.warn(
          "{} is not on a shared mount: if spawnlet runs in a container, its pods will not survive"
              + " a restart of that container (mount {} from the host with bidirectional"
              + " propagation)",
          nsRoot,
          runDir);
    }
    return join;
  }

  /**
   * Whether pins under {@code runDir} must stay in the peer group of the mount holding it: when
   * that mount is shared and is {@code runDir} itself (a volume, as the chart's Bidirectional
   * hostPath) or this process is {@code contained} in a mount namespace other than the host's (PID
   * 1's, when it can be read). On the host itself, where the run dir is a plain directory of {@code
   * /run}, the pins get a peer group of their own (see the class comment).
   */
  static boolean joinsPeerGroup(MountTable mounts, Path runDir, boolean contained) {
    Optional<MountTable.Mount> holder = mounts.holderOf(runDir);
    if (holder.isEmpty()
        || holder.get().optionalFields().stream().noneMatch(f -> f.startsWith("shared:"))) {
      return false;
    }
    return contained || runDir.equals(Path.of(holder.get().mountPoint()));
  }

  private static boolean inOtherMountNamespaceThanInit() {
    try {
      return !Files.readSymbolicLink(Path.of("/proc/1/ns/mnt"))
          .equals(Files.readSymbolicLink(Path.of("/proc/self/ns/mnt")));
    } catch (IOException | RuntimeException e) {
      log.info("cannot compare the mount namespaces of PID 1 and spawnlet: {}", e.toString());
      return false;
    }
  }

  private static void validateId(String sandboxId) {
    if (sandboxId == null || !SANDBOX_ID.matcher(sandboxId).matches()) {
      throw CriException.invalid(
          "pod_sandbox_id",
          "\""
              + sandboxId
              + "\" is not a valid sandbox id (letters, digits, '_', '.', '-';"
              + " at most 128)");
    }
  }

  private static void validateHostname(String hostname) {
    if (hostname.length() > HOSTNAME_MAX || !HOSTNAME.matcher(hostname).matches()) {
      throw CriException.invalid(
          "hostname",
          "\""
              + hostname
              + "\" is not a valid hostname (dot-separated RFC 1123 labels, at most "
              + HOSTNAME_MAX
              + " characters)");
    }
  }

  /**
   * Runs on the switching thread. Between unshare and the final setns this thread is in the pod's
   * namespaces: only raw system calls and plain file access happen there (no logging, no thread
   * creation, see {@link NamespaceSwitchThread}).
   */
  private static final class PinJob extends NamespaceSwitchThread.Job<Void> {
    private final Set<NamespaceKind> kinds;
    private final String hostname;
    private final Map<NamespaceKind, Path> targets;

    PinJob(Set<NamespaceKind> kinds, String hostname, Map<NamespaceKind, Path> targets) {
      this.kinds = kinds;
      this.hostname = hostname;
      this.targets = targets;
    }

    @Override
    public Void get() {
      Map<NamespaceKind, Integer> home = new EnumMap<>(NamespaceKind.class);
      Map<NamespaceKind, Path> homeIds = new EnumMap<>(NamespaceKind.class);
      RuntimeException failure = null;
      try {
        for (NamespaceKind kind : kinds) {
          homeIds.put(kind, identity(kind));
          home.put(kind, Syscalls.openReadOnly(selfNs(kind)));
        }
        int flags = 0;
        for (NamespaceKind kind : kinds) {
          flags |= kind.cloneFlag();
        }
        Syscalls.unshare(flags);
        if (kinds.contains(NamespaceKind.UTS) && !hostname.isEmpty()) {
          Syscalls.sethostname(hostname);
        }
        for (NamespaceKind kind : kinds) {
          Syscalls.bindMount(selfNs(kind), targets.get(kind).toString(), false);
        }
      } catch (RuntimeException e) {
        failure = e;
      } finally {
        failure = restore(home, homeIds, failure);
      }
      if (failure != null) {
        throw failure;
      }
      return null;
    }

    /** Goes back to the saved namespaces; if that fails, poisons this thread. */
    private RuntimeException restore(
        Map<NamespaceKind, Integer> home,
        Map<NamespaceKind, Path> homeIds,
        RuntimeException failure) {
      for (Map.Entry<NamespaceKind, Integer> saved : home.entrySet()) {
        NamespaceKind kind = saved.getKey();
        try {
          Syscalls.setns(saved.getValue(), kind.cloneFlag());
          Path now = identity(kind);
          if (!now.equals(homeIds.get(kind))) {
            throw new IllegalStateException(
                "thread is in " + now + " after setns back to " + homeIds.get(kind));
          }
        } catch (RuntimeException e) {
          poison();
          RuntimeException restoreFailure =
              CriException.internal(
                  "cannot return the namespace-switching thread to its "
                      + kind.procName()
                      + " namespace; the thread is discarded",
                  e);
          if (failure != null) {
            restoreFailure.addSuppressed(failure);
          }
          failure = restoreFailure;
        }
      }
      for (int fd : home.values()) {
        Syscalls.close(fd);
      }
      return failure;
    }

    private static String selfNs(NamespaceKind kind) {
      return "/proc/thread-self/ns/" + kind.procName();
    }

    /** The namespace this OS thread is in, e.g. {@code net:[4026531840]}. */
    private static Path identity(NamespaceKind kind) {
      try {
        return Files.readSymbolicLink(Path.of(selfNs(kind)));
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read " + selfNs(kind), e);
      }
    }
  }
}
