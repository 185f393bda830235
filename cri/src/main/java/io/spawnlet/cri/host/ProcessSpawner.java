package io.spawnlet.cri.host;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Memory;
import jnr.ffi.Platform;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import jnr.ffi.byref.IntByReference;

/**
 * Starts a program with an exact set of file descriptors: 0-2 from files (or /dev/null) and the
 * given parent descriptors as 3, 4, 5 … in order, nothing else. That is how conmon receives its
 * sync and start pipes ({@code _OCI_SYNCPIPE=3}, {@code _OCI_STARTPIPE=4}) and how activation
 * sockets will reach a container ({@code LISTEN_FDS}, {@code --preserve-fds}).
 *
 * <p>Why not {@link ProcessBuilder}: it cannot pass descriptors beyond stdio. Why not jnr-posix's
 * {@code posix_spawnp}: it has no "close every other descriptor" action, and a JVM holds many
 * descriptors without close-on-exec (sockets, jars) that conmon and the container would otherwise
 * inherit for their whole life. glibc's {@code posix_spawn_file_actions_addclosefrom_np} (2.34+)
 * does exactly that, so we bind {@code posix_spawn} ourselves.
 *
 * <p>File actions run in order in the child: every passed descriptor is first duplicated to a
 * scratch number above all sources and targets (so that a source that happens to be 3 is not
 * overwritten by another's dup2, and so that dup2 always clears close-on-exec), then onto its
 * target, then everything from {@code 3 + passed} up is closed.
 */
public final class ProcessSpawner {

  /** Where the child's stdout or stderr goes. */
  public sealed interface Output {
    /** /dev/null. */
    record Discard() implements Output {}

    /** A file, created or appended to. */
    record ToFile(Path path) implements Output {}

    /** One of our descriptors (a pipe's write end), duplicated onto the child's. */
    record ToFd(int fd) implements Output {}
  }

  /**
   * What to start. {@code passFds.get(i)} becomes descriptor {@code 3 + i} in the child; {@code
   * workingDirectory} empty: the child starts in ours.
   */
  public record Request(
      List<String> argv,
      Map<String, String> env,
      Output stdout,
      Output stderr,
      List<Integer> passFds,
      boolean newSession,
      Optional<Path> workingDirectory) {
    public Request {
      if (argv.isEmpty()) {
        throw new IllegalArgumentException("argv is empty: the program to start is missing");
      }
      argv = List.copyOf(argv);
      env = Map.copyOf(env);
      passFds = List.copyOf(passFds);
      Objects.requireNonNull(stdout);
      Objects.requireNonNull(stderr);
      Objects.requireNonNull(workingDirectory);
    }

    public static Request of(List<String> argv, Map<String, String> env) {
      return new Request(
          argv,
          env,
          new Output.Discard(),
          new Output.Discard(),
          List.of(),
          false,
          Optional.empty());
    }

    public Request withOutput(Path stdoutFile, Path stderrFile) {
      return new Request(
          argv,
          env,
          new Output.ToFile(stdoutFile),
          new Output.ToFile(stderrFile),
          passFds,
          newSession,
          workingDirectory);
    }

    /** stdout and stderr into our descriptors {@code stdoutFd} and {@code stderrFd}. */
    public Request withOutputFds(int stdoutFd, int stderrFd) {
      return new Request(
          argv,
          env,
          new Output.ToFd(stdoutFd),
          new Output.ToFd(stderrFd),
          passFds,
          newSession,
          workingDirectory);
    }

    public Request withPassedFds(List<Integer> fds) {
      return new Request(argv, env, stdout, stderr, fds, newSession, workingDirectory);
    }

    public Request inNewSession() {
      return new Request(argv, env, stdout, stderr, passFds, true, workingDirectory);
    }

    /**
     * Starts the child in {@code dir}: a helper that outlives us is then found by what it is in
     * (its /proc/PID/cwd), as a pod's holder is in the pod's run directory.
     */
    public Request inDirectory(Path dir) {
      return new Request(argv, env, stdout, stderr, passFds, newSession, Optional.of(dir));
    }
  }

  /** The glibc spawn API; the opaque structures are allocated generously (glibc: 80 and 336). */
  public interface SpawnLib {
    int posix_spawn_file_actions_init(Pointer actions);

    int posix_spawn_file_actions_destroy(Pointer actions);

    int posix_spawn_file_actions_adddup2(Pointer actions, int fd, int newFd);

    int posix_spawn_file_actions_addopen(Pointer actions, int fd, String path, int flags, int mode);

    int posix_spawn_file_actions_addclosefrom_np(Pointer actions, int from);

    int posix_spawn_file_actions_addchdir_np(Pointer actions, String path);

    int posix_spawnattr_init(Pointer attr);

    int posix_spawnattr_destroy(Pointer attr);

    int posix_spawnattr_setflags(Pointer attr, short flags);

    int posix_spawnattr_setsigmask(Pointer attr, Pointer sigset);

    int posix_spawnattr_setsigdefault(Pointer attr, Pointer sigset);

    int sigemptyset(Pointer set);

    int sigfillset(Pointer set);

    int posix_spawn(
        IntByReference pid,
        String path,
        Pointer actions,
        Pointer attr,
        String[] argv,
        String[] envp);
  }

  private static final short POSIX_SPAWN_SETSIGDEF = 0x04;
  private static final short POSIX_SPAWN_SETSIGMASK = 0x08;
  private static final short POSIX_SPAWN_SETSID = 0x80;
  private static final int O_RDONLY = 0;
  private static final int O_WRONLY = 1;
  private static final int O_CREAT = 0100;
  private static final int O_APPEND = 02000;

  private static final SpawnLib LIB =
      LibraryLoader.create(SpawnLib.class)
          .load(Platform.getNativePlatform().getStandardCLibraryName());
  private static final Runtime RUNTIME = Runtime.getRuntime(LIB);

  /**
   * Starts {@code request.argv()} (argv[0] must be an absolute path) and returns its pid. The
   * caller reaps it with {@link Syscalls#waitpid}.
   */
  public int spawn(Request request) {
    String program = request.argv().getFirst();
    if (!program.startsWith("/")) {
      throw new IllegalArgumentException(
          "program \"" + program + "\" is not an absolute path: resolve it before spawning");
    }
    Pointer actions = Memory.allocateDirect(RUNTIME, 256);
    Pointer attr = Memory.allocateDirect(RUNTIME, 512);
    Pointer sigset = Memory.allocateDirect(RUNTIME, 256);
    check(LIB.posix_spawn_file_actions_init(actions), "posix_spawn_file_actions_init");
    check(LIB.posix_spawnattr_init(attr), "posix_spawnattr_init");
    try {
      check(
          LIB.posix_spawn_file_actions_addopen(actions, 0, "/dev/null", O_RDONLY, 0), "open stdin");
      openOutput(actions, 1, request.stdout());
      openOutput(actions, 2, request.stderr());
      List<Integer> passed = request.passFds();
      int scratch = 3 + passed.size();
      for (int fd : passed) {
        scratch = Math.max(scratch, fd + 1);
      }
      for (int i = 0; i < passed.size(); i++) {
        check(
            LIB.posix_spawn_file_actions_adddup2(actions, passed.get(i), scratch + i),
            "dup2 " + passed.get(i) + " to scratch");
      }
      for (int i = 0; i < passed.size(); i++) {
        check(
            LIB.posix_spawn_file_actions_adddup2(actions, scratch + i, 3 + i),
            "dup2 to fd " + (3 + i));
      }
      check(
          LIB.posix_spawn_file_actions_addclosefrom_np(actions, 3 + passed.size()),
          "posix_spawn_file_actions_addclosefrom_np");
      if (request.workingDirectory().isPresent()) {
        check(
            LIB.posix_spawn_file_actions_addchdir_np(
                actions, request.workingDirectory().get().toString()),
            "posix_spawn_file_actions_addchdir_np");
      }

      // The JVM's handlers and blocked signals must not leak into the child.
      LIB.sigemptyset(sigset);
      check(LIB.posix_spawnattr_setsigmask(attr, sigset), "posix_spawnattr_setsigmask");
      LIB.sigfillset(sigset);
      check(LIB.posix_spawnattr_setsigdefault(attr, sigset), "posix_spawnattr_setsigdefault");
      short flags = (short) (POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
      if (request.newSession()) {
        flags |= POSIX_SPAWN_SETSID;
      }
      check(LIB.posix_spawnattr_setflags(attr, flags), "posix_spawnattr_setflags");

      List<String> env = new ArrayList<>();
      request.env().forEach((k, v) -> env.add(k + "=" + v));
      IntByReference pid = new IntByReference();
      int rc =
          LIB.posix_spawn(
              pid,
              program,
              actions,
              attr,
              request.argv().toArray(String[]::new),
              env.toArray(String[]::new));
      if (rc != 0) {
        throw new SyscallException("posix_spawn(" + program + ")", rc);
      }
      return pid.intValue();
    } finally {
      LIB.posix_spawn_file_actions_destroy(actions);
      LIB.posix_spawnattr_destroy(attr);
    }
  }

  private static void openOutput(Pointer actions, int fd, Output output) {
    if (output instanceof Output.ToFd(int source)) {
      // Runs before any passed descriptor is moved, so the source is still where we left it.
      check(
          LIB.posix_spawn_file_actions_adddup2(actions, source, fd),
          "dup2 " + source + " to " + fd);
      return;
    }
    String path = output instanceof Output.ToFile(Path file) ? file.toString() : "/dev/null";
    check(
        LIB.posix_spawn_file_actions_addopen(
            actions, fd, path, O_WRONLY | O_CREAT | O_APPEND, 0600),
        "open " + path + " as fd " + fd);
  }

  /** posix_spawn functions return the error number instead of setting errno. */
  private static void check(int rc, String call) {
    if (rc != 0) {
      throw new SyscallException(call, rc);
    }
  }
}
