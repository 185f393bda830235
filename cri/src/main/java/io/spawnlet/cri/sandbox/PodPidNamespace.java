package io.spawnlet.cri.sandbox;

import io.spawnlet.cri.CriException;
import io.spawnlet.cri.Rollback;
import io.spawnlet.cri.host.PodCgroups;
import io.spawnlet.cri.host.ProcessIdentity;
import io.spawnlet.cri.host.ProcessSpawner;
import io.spawnlet.cri.host.ProcessTree;
import io.spawnlet.cri.host.Syscalls;
import io.spawnlet.cri.store.AtomicFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import runtime.v1.NamespaceMode;
import runtime.v1.PodSandboxConfig;

/**
 * The PID namespace that a pod's containers share when the pod asks for one (pid mode POD:
 * Kubernetes' {@code shareProcessNamespace}). A PID namespace lives only as long as its PID 1, and
 * a pod must not lose it when its first container exits, so it gets a holder of its own, as the
 * kubelet's pause process is: {@code catatonit -P} (podman's pause init) as PID 1, started through
 * {@code unshare --pid --fork --kill-child}. catatonit reaps the orphans that land on it; the
 * containers see it, not one of themselves, as PID 1. Only pods that share their PID namespace pay
 * for the two small processes; every other pod still runs without any.
 *
 * <p>The holder runs in a session of its own in the pod's cgroup and outlives a daemon restart; the
 * identities of unshare and of catatonit (pid + start time) are kept in the pod's run directory, so
 * a restarted daemon finds the namespace again and never signals a process that reused a pid.
 */
public final class PodPidNamespace {
  private static final Logger log = LoggerFactory.getLogger(PodPidNamespace.class);

  static final Path UNSHARE = Path.of("/usr/bin/unshare");
  static final Path CATATONIT = Path.of("/usr/bin/catatonit");
  private static final int INIT_WAIT_TRIES = 400; // x 5 ms

  private final ProcessSpawner spawner;
  private final PodCgroups cgroups;
  private final Path catatonit;

  /** Holders started by this daemon run: its children, to be reaped. */
  private final Set<Integer> children = ConcurrentHashMap.newKeySet();

  private volatile boolean warnedMissing;

  public PodPidNamespace(ProcessSpawner spawner, PodCgroups cgroups) {
    this(spawner, cgroups, CATATONIT);
  }

  PodPidNamespace(ProcessSpawner spawner, PodCgroups cgroups, Path catatonit) {
    this.spawner = spawner;
    this.cgroups = cgroups;
    this.catatonit = catatonit;
  }

  /**
   * The two processes that keep one pod's namespace: unshare and its child, the namespace's PID 1.
   */
  record Holder(ProcessIdentity unshare, ProcessIdentity init) {
    String serialize() {
      return unshare.pid()
          + " "
          + unshare.startTime()
          + " "
          + init.pid()
          + " "
          + init.startTime()
          + "\n";
    }

    static Holder parse(String text, Path file) {
      String[] f = text.strip().split(" ");
      if (f.length != 4) {
        throw new IllegalStateException(file + " is not \"pid start pid start\": " + text);
      }
      return new Holder(
          new ProcessIdentity(Integer.parseInt(f[0]), Long.parseLong(f[1])),
          new ProcessIdentity(Integer.parseInt(f[2]), Long.parseLong(f[3])));
    }
  }

  /** Whether the pod's containers are to share one PID namespace of the pod's own. */
  public static boolean wanted(PodSandboxConfig config) {
    return config.getLinux().getSecurityContext().getNamespaceOptions().getPid()
        == NamespaceMode.POD;
  }

  /**
   * Starts the holder of sandbox {@code sandboxId}'s PID namespace and records it in {@code files}.
   * Without catatonit on the host the pod goes on without one (each container then gets a PID
   * namespace of its own, as before the holder existed), with a warning saying what to install.
   */
  public void start(String sandboxId, SandboxFiles files, String cgroupParent, Rollback undo) {
    if (!Files.isExecutable(catatonit)) {
      if (!warnedMissing) {
        warnedMissing = true;
        log.warn(
            "{} is missing: pods that share their PID namespace (shareProcessNamespace) get one"
                + " per container instead; install it (Debian: apt-get install catatonit)",
            catatonit);
      }
      return;
    }
    int unsharePid =
        spawner.spawn(
            ProcessSpawner.Request.of(
                    List.of(
                        UNSHARE.toString(),
                        "--pid",
                        "--fork",
                        "--kill-child=SIGKILL",
                        "--",
                        catatonit.toString(),
                        "-P"),
                    Map.of("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"))
                .inNewSession()
                .inDirectory(files.runDirectory()));
    children.add(unsharePid);
    ProcessIdentity unshare =
        ProcessIdentity.of(unsharePid).orElse(new ProcessIdentity(unsharePid, 0));
    // Ending unshare ends its child too (--kill-child), found or not.
    undo.push("end the PID namespace holder", () -> end(unshare, Optional.empty()));
    ProcessIdentity init = awaitInit(unshare, sandboxId);
    Holder holder = new Holder(unshare, init);
    try {
      cgroups.addProcess(cgroupParent, unshare.pid());
      cgroups.addProcess(cgroupParent, init.pid());
    } catch (RuntimeException e) {
      // e.g. a cgroup parent the kubelet made with controllers we cannot write: the holder then
      // stays in the daemon's cgroup, which costs nothing but accounting of two idle processes.
      log.warn(
          "PID namespace holder of pod {} stays outside the pod cgroup: {}",
          sandboxId,
          e.getMessage());
    }
    try {
      AtomicFiles.write(
          files.pidNamespaceHolder(), holder.serialize().getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw CriException.internal(
          "cannot record the PID namespace holder in " + files.pidNamespaceHolder(), e);
    }
    log.info("pod {}: PID namespace held by catatonit, pid {} on the host", sandboxId, init.pid());
  }

  /**
   * The pod's PID namespace ({@code /proc/<init>/ns/pid}) when it has one; empty when the pod
   * shares none (or catatonit was missing when it started).
   *
   * @throws CriException FAILED_PRECONDITION when the holder has gone: no process can join the
   *     namespace any more
   */
  public static Optional<Path> namespace(String sandboxId, SandboxFiles files) {
    Optional<Holder> holder = read(files);
    if (holder.isEmpty()) {
      return Optional.empty();
    }
    ProcessIdentity init = holder.get().init();
    if (!init.alive()) {
      throw CriException.precondition(
          "the shared PID namespace of pod sandbox "
              + sandboxId
              + " is gone (its holder, catatonit pid "
              + init.pid()
              + ", exited): stop and remove the pod sandbox, then run it again");
    }
    return Optional.of(Path.of("/proc/" + init.pid() + "/ns/pid"));
  }

  /**
   * Ends the pod's holder (which ends every process left in the namespace) and forgets it. A no-op
   * for pods without one or already stopped, so stop, remove and recovery may all call it.
   */
  public void stop(SandboxFiles files) {
    Optional<Holder> holder = read(files);
    holder.ifPresent(h -> end(h.unshare(), Optional.of(h.init())));
    try {
      Files.deleteIfExists(files.pidNamespaceHolder());
    } catch (IOException e) {
      throw CriException.internal("cannot delete " + files.pidNamespaceHolder(), e);
    }
  }

  private void end(ProcessIdentity unshare, Optional<ProcessIdentity> init) {
    // SIGKILL to a PID namespace's init kills everything in it; unshare then exits on its own.
    init.filter(ProcessIdentity::alive).ifPresent(i -> Syscalls.kill(i.pid(), 9));
    if (unshare.alive() || unshare.startTime() == 0) {
      Syscalls.kill(unshare.pid(), 9);
    }
    if (children.remove(unshare.pid())) {
      Syscalls.waitpid(unshare.pid());
    }
  }

  private ProcessIdentity awaitInit(ProcessIdentity unshare, String sandboxId) {
    for (int i = 0; i < INIT_WAIT_TRIES; i++) {
      List<Integer> tree = ProcessTree.of(unshare.pid());
      if (tree.size() > 1) {
        Optional<ProcessIdentity> init = ProcessIdentity.of(tree.get(1));
        if (init.isPresent()) {
          return init.get();
        }
      }
      if (!unshare.alive()) {
        break;
      }
      sleepMillis(5);
    }
    throw CriException.internal(
        "the PID namespace holder of pod sandbox "
            + sandboxId
            + " did not start ("
            + UNSHARE
            + " --pid --fork "
            + catatonit
            + " -P, pid "
            + unshare.pid()
            + "): check that the kernel allows PID namespaces",
        null);
  }

  private static Optional<Holder> read(SandboxFiles files) {
    Path file = files.pidNamespaceHolder();
    try {
      return Optional.of(Holder.parse(Files.readString(file), file));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    } catch (IOException | RuntimeException e) {
      throw CriException.internal("cannot read the PID namespace holder record " + file, e);
    }
  }

  private static void sleepMillis(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
