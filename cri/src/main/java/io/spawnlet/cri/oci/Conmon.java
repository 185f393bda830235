package io.spawnlet.cri.oci;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.spawnlet.cri.CriException;
import io.spawnlet.cri.host.PlatformBlocking;
import io.spawnlet.cri.host.ProcessSpawner;
import io.spawnlet.cri.host.Syscalls;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts a container through conmon, which runs {@code runtime create}, then stays as the
 * container's parent: it copies the container's stdio into the CRI log, and writes the exit code to
 * {@code <exit dir>/<id>} (and {@code <bundle>/exit}) when the container ends. conmon double-forks
 * into its own session, so containers survive the daemon (even {@code kill -9}).
 *
 * <pre>
 *  daemon                                   conmon (spawned)          conmon (daemon) → runtime create
 *    | pipe sync, pipe start                    |
 *    | posix_spawn(fd3 = sync.w, fd4 = start.r) |
 *    | move pid into MonitorCgroup              | blocks reading fd 4
 *    | write start ------------------------------> fork, parent exits 0 --> runs runtime create
 *    | waitpid(spawned) = 0                                                  |
 *    | read sync  <------------------------------- {"data": pid}  or  {"data": -1, "message": err}
 * </pre>
 */
public final class Conmon {
  private static final Logger LOG = LoggerFactory.getLogger(Conmon.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int SIGKILL = 9;

  /** conmon's own files in the bundle. */
  static final String CONMON_PIDFILE = "conmon.pid";

  static final String CONTAINER_PIDFILE = "pidfile";
  static final String CONMON_STDERR = "conmon.stderr";
  static final String RUNTIME_LOG = "runtime.log";

  private final RuntimeCommand runtime;
  private final Path exitDir;
  private final Path socketDir;
  private final MonitorCgroup monitorCgroup;
  private final ProcessSpawner spawner;
  private final String logLevel;

  public Conmon(
      RuntimeCommand runtime,
      Path exitDir,
      Path socketDir,
      MonitorCgroup monitorCgroup,
      ProcessSpawner spawner,
      String logLevel) {
    this.runtime = runtime;
    this.exitDir = exitDir;
    this.socketDir = socketDir;
    this.monitorCgroup = monitorCgroup;
    this.spawner = spawner;
    this.logLevel = logLevel;
  }

  /** conmon's argv for creating {@code request}'s container: built here and nowhere else. */
  List<String> createArgv(CreateRequest request) {
    Path bundle = request.bundle();
    List<String> argv = new ArrayList<>();
    argv.add(runtime.handler().monitorPath().toString());
    argv.add("--api-version");
    argv.add("1");
    argv.addAll(List.of("-c", request.containerId()));
    argv.addAll(List.of("-u", request.containerId()));
    argv.addAll(List.of("-r", runtime.executable().toString()));
    argv.addAll(List.of("-b", bundle.toString()));
    argv.addAll(List.of("-p", bundle.resolve(CONTAINER_PIDFILE).toString()));
    argv.addAll(List.of("-P", bundle.resolve(CONMON_PIDFILE).toString()));
    argv.addAll(List.of("-n", request.name()));
    // A plain path is the k8s-file driver: CRI log lines "<RFC3339Nano> <stream> <F|P> <text>".
    argv.addAll(List.of("-l", "k8s-file:" + request.logPath()));
    argv.addAll(List.of("--exit-dir", exitDir.toString()));
    argv.addAll(List.of("--persist-dir", bundle.toString()));
    argv.addAll(List.of("--socket-dir-path", socketDir.toString()));
    argv.addAll(List.of("--log-level", logLevel));
    for (String arg : runtime.globalArgs()) {
      argv.add("--runtime-arg");
      argv.add(arg);
    }
    argv.add("--runtime-arg");
    argv.add("--log=" + bundle.resolve(RUNTIME_LOG));
    if (!request.extraFds().isEmpty()) {
      // conmon appends --runtime-opt values to "runtime create --bundle … --pid-file …".
      argv.add("--runtime-opt");
      argv.add("--preserve-fds=" + request.extraFds().size());
    }
    if (request.terminal()) {
      argv.add("-t");
    }
    if (request.stdin()) {
      argv.add("-i");
      if (!request.stdinOnce()) {
        argv.add("--leave-stdin-open");
      }
    }
    // Never -s (--systemd-cgroup: no systemd on our hosts) nor --syslog; pivot_root stays on.
    return argv;
  }

  /**
   * Spawns conmon for {@code request} and moves it into its monitor cgroup; it then waits on its
   * start pipe until {@link Launched#proceed}. The two halves are apart so that a caller can do
   * other work meanwhile: moving a process between v1 cgroups waits for RCU grace periods
   * (milliseconds each, one per hierarchy at worst), time better spent mounting the rootfs. The
   * bundle directory must exist (conmon's stderr goes there).
   */
  public Launched launch(CreateRequest request) {
    int[] sync = Syscalls.pipe();
    int[] start = Syscalls.pipe();
    int pid = -1;
    try {
      Files.createDirectories(exitDir);
      Files.createDirectories(socketDir);
      Files.createDirectories(request.logPath().getParent());
      Path stderrFile = request.bundle().resolve(CONMON_STDERR);
      // Extra fds (activation sockets) come first, as 3, 4, …: conmon hands its fds on to the
      // runtime, and `runtime create --preserve-fds=N` keeps exactly 3 … 3+N-1 for the container
      // (sd_listen_fds wants them from 3). conmon's own pipes follow.
      int extra = request.extraFds().size();
      List<Integer> passed = new ArrayList<>(request.extraFds());
      passed.addAll(List.of(sync[1], start[0]));
      ProcessSpawner.Request spawn =
          ProcessSpawner.Request.of(
                  createArgv(request),
                  Map.of(
                      "_OCI_SYNCPIPE", Integer.toString(3 + extra),
                      "_OCI_STARTPIPE", Integer.toString(4 + extra),
                      "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"))
              .withOutput(stderrFile, stderrFile)
              .withPassedFds(passed);
      pid = spawner.spawn(spawn);
      Syscalls.close(sync[1]);
      Syscalls.close(start[0]);
      monitorCgroup.enter(request.cgroupParent(), request.containerId(), pid);
      return new Launched(request, pid, sync[0], start[1]);
    } catch (IOException | RuntimeException e) {
      if (pid > 0) {
        Syscalls.kill(pid, SIGKILL);
        int child = pid;
        PlatformBlocking.call(() -> Syscalls.waitpid(child));
        monitorCgroup.remove(request.cgroupParent(), request.containerId());
      } else {
        Syscalls.close(sync[1]);
        Syscalls.close(start[0]);
      }
      Syscalls.close(sync[0]);
      Syscalls.close(start[1]);
      if (e instanceof IOException io) {
        throw CriException.internal(
            "cannot prepare conmon for container \"" + request.containerId() + "\"", io);
      }
      throw (RuntimeException) e;
    }
  }

  /**
   * A conmon waiting on its start pipe. {@link #proceed} lets it create the container; {@link
   * #close} (always, after proceed too) ends one that never proceeded and closes the pipes.
   */
  public final class Launched implements AutoCloseable {
    private final CreateRequest request;
    private final int pid;
    private final int syncRead;
    private final int startWrite;
    private boolean proceeded;
    private boolean closed;

    private Launched(CreateRequest request, int pid, int syncRead, int startWrite) {
      this.request = request;
      this.pid = pid;
      this.syncRead = syncRead;
      this.startWrite = startWrite;
    }

    /** Lets conmon run {@code runtime create}; returns the container's pid once created. */
    public int proceed() {
      if (proceeded || closed) {
        throw new IllegalStateException("conmon of " + request.containerId() + " already used");
      }
      proceeded = true;
      Syscalls.write(startWrite, new byte[] {0});
      // Both waits (the first conmon's exit, then the runtime's report) block in native code:
      // done on a platform thread, so a virtual caller does not pin its carrier meanwhile.
      Reported reported =
          PlatformBlocking.call(
              () -> {
                int exit = Syscalls.exitCode(Syscalls.waitpid(pid));
                return exit != 0
                    ? new Reported(exit, null)
                    : new Reported(
                        0, readSyncMessage(syncRead, request.timeout(), request.containerId()));
              });
      if (reported.conmonExit() != 0) {
        throw new CriException(
            CriException.Kind.INTERNAL,
            "conmon for container \""
                + request.containerId()
                + "\" exited with "
                + reported.conmonExit()
                + ": "
                + readQuietly(request.bundle().resolve(CONMON_STDERR)));
      }
      JsonNode message = reported.message();
      int containerPid = message.path("data").asInt(-1);
      if (containerPid <= 0) {
        String reason = message.path("message").asText("");
        String runtimeLog = readQuietly(request.bundle().resolve(RUNTIME_LOG));
        throw new CriException(
            CriException.Kind.INTERNAL,
            "OCI runtime "
                + runtime.handler().name()
                + " failed to create container \""
                + request.containerId()
                + "\": "
                + (reason.isBlank() ? runtimeLog : reason)
                + (reason.isBlank() || runtimeLog.isBlank()
                    ? ""
                    : " (runtime log: " + runtimeLog + ")"));
      }
      LOG.debug("container {} created, pid {}", request.containerId(), containerPid);
      return containerPid;
    }

    @Override
    public void close() {
      if (closed) {
        return;
      }
      closed = true;
      if (!proceeded) {
        // Still blocked on its start pipe, before any fork: it is our child and alone. Killed
        // before the pipe closes, since EOF on it would let conmon go on to create.
        Syscalls.kill(pid, SIGKILL);
        PlatformBlocking.call(() -> Syscalls.waitpid(pid));
        monitorCgroup.remove(request.cgroupParent(), request.containerId());
      }
      Syscalls.close(syncRead);
      Syscalls.close(startWrite);
    }
  }

  /** The first conmon's exit code and, when 0, the runtime's report from the sync pipe. */
  private record Reported(int conmonExit, JsonNode message) {}

  /** conmon's pid (the long-lived one), if its pid file is there. */
  public static Optional<Integer> monitorPid(Path bundle) {
    try {
      return Optional.of(
          Integer.parseInt(Files.readString(bundle.resolve(CONMON_PIDFILE)).strip()));
    } catch (IOException | NumberFormatException e) {
      return Optional.empty();
    }
  }

  /**
   * Reads the first JSON line conmon writes on the sync pipe ({@code {"data": N, "message": "…"}}),
   * or gives up after {@code timeout}.
   */
  private static JsonNode readSyncMessage(int fd, Duration timeout, String id) throws IOException {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    long deadline = System.nanoTime() + timeout.toNanos();
    byte[] chunk = new byte[4096];
    while (true) {
      int text = buf.toString(StandardCharsets.UTF_8).indexOf('\n');
      if (text >= 0) {
        return JSON.readTree(buf.toString(StandardCharsets.UTF_8).substring(0, text));
      }
      long left = Math.max(0, (deadline - System.nanoTime()) / 1_000_000);
      if (left == 0 || !Syscalls.pollReadable(fd, (int) Math.min(left, Integer.MAX_VALUE))) {
        throw new CriException(
            CriException.Kind.DEADLINE_EXCEEDED,
            "conmon did not report container \"" + id + "\" created within " + timeout);
      }
      int n = Syscalls.read(fd, chunk);
      if (n == 0) {
        if (buf.size() > 0) {
          return JSON.readTree(buf.toString(StandardCharsets.UTF_8));
        }
        throw new CriException(
            CriException.Kind.INTERNAL,
            "conmon closed its sync pipe without reporting container \""
                + id
                + "\"; see conmon's log level output or the bundle's "
                + RUNTIME_LOG);
      }
      buf.write(chunk, 0, n);
    }
  }

  private static String readQuietly(Path file) {
    try {
      return Files.readString(file).strip();
    } catch (IOException e) {
      return "";
    }
  }
}
