package io.spawnlet.cri.oci;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.spawnlet.cri.CriException;
import io.spawnlet.cri.host.CgroupHierarchies;
import io.spawnlet.cri.host.ProcessRunner;
import io.spawnlet.cri.host.ProcessSpawner;
import io.spawnlet.cri.host.SyscallException;
import io.spawnlet.cri.host.Syscalls;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import runtime.v1.LinuxContainerResources;

/**
 * The OCI runtime of one {@link RuntimeHandler}, driven through its command line ({@code state,
 * start, kill, delete, exec, update}) and, for {@code create}, through {@link Conmon}. Runtime
 * error text becomes a {@link CriException} in {@link RuntimeErrors}, nowhere else.
 *
 * <p>Everything this class needs is on disk (runtime root, bundle, exit dir), so a new instance
 * after a daemon restart sees the same containers.
 *
 * <pre>
 *  create ──> CREATED ──start──> RUNNING ──(exit | kill)──> STOPPED ──delete──> (gone)
 * </pre>
 */
public final class OciRuntime {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration COMMAND_TIMEOUT = Duration.ofMinutes(1);
  private static final int SIGKILL = 9;
  private static final Duration EXEC_REAP_GRACE = Duration.ofSeconds(5);

  private final RuntimeCommand command;
  private final Conmon conmon;
  private final MonitorCgroup monitorCgroup;
  private final Path exitDir;
  private final ProcessRunner runner = new ProcessRunner(new ProcessSpawner());

  /**
   * @param runDir this runtime's run directory: {@code exits/}, {@code sockets/} and the hybrid
   *     wrapper go there (e.g. /run/spawnlet/oci/crun)
   */
  public static OciRuntime open(RuntimeHandler handler, CgroupHierarchies layout, Path runDir) {
    RuntimeCommand command = RuntimeCommand.forHost(handler, layout, runDir);
    MonitorCgroup monitorCgroup = new MonitorCgroup(layout);
    Path exitDir = runDir.resolve("exits");
    Conmon conmon =
        new Conmon(
            command,
            exitDir,
            runDir.resolve("sockets"),
            monitorCgroup,
            new ProcessSpawner(),
            "info");
    return new OciRuntime(command, conmon, monitorCgroup, exitDir);
  }

  public OciRuntime(
      RuntimeCommand command, Conmon conmon, MonitorCgroup monitorCgroup, Path exitDir) {
    this.command = command;
    this.conmon = conmon;
    this.monitorCgroup = monitorCgroup;
    this.exitDir = exitDir;
  }

  public RuntimeHandler handler() {
    return command.handler();
  }

  /** Where conmon writes exit codes; give it to an {@link ExitMonitor}. */
  public Path exitDir() {
    return exitDir;
  }

  /** Creates the container (state CREATED) under conmon; returns its pid. */
  public int create(CreateRequest request) {
    try (Conmon.Launched launched = launch(request)) {
      return launched.proceed();
    }
  }

  /**
   * The first half of {@link #create}: conmon started and in its monitor cgroup, waiting to run
   * {@code create} until {@link Conmon.Launched#proceed}. The bundle directory must exist; its
   * config.json need not yet.
   */
  public Conmon.Launched launch(CreateRequest request) {
    try {
      Files.createDirectories(handler().rootDir());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create runtime root " + handler().rootDir(), e);
    }
    return conmon.launch(request);
  }

  public void start(String id) {
    run("start", id, List.of("start", id));
  }

  /** Sends {@code signal} to the container's init, or to all its processes. */
  public void kill(String id, int signal, boolean all) {
    List<String> args = new ArrayList<>(List.of("kill"));
    if (all) {
      args.add("--all");
    }
    args.add(id);
    args.add(Integer.toString(signal));
    run("kill", id, args);
  }

  /**
   * Deletes the container from the runtime and forgets its exit file and monitor cgroup.
   * Idempotent: a container the runtime does not know is fine.
   *
   * @param cgroupParent the parent given at create (for the monitor cgroup)
   */
  public void delete(String id, boolean force, String cgroupParent) {
    List<String> args = new ArrayList<>(List.of("delete"));
    if (force) {
      args.add("--force");
    }
    args.add(id);
    Result result = exec(args, COMMAND_TIMEOUT);
    if (result.exitCode() != 0 && !RuntimeErrors.meansNotFound(result.stderr())) {
      throw RuntimeErrors.failure("delete", id, result.exitCode(), result.stderr());
    }
    try {
      Files.deleteIfExists(exitDir.resolve(id));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot remove exit file of " + id, e);
    }
    // conmon leaves right after the container's exit; give it a moment, then let it go.
    for (int attempt = 0; attempt < 50 && !monitorCgroup.remove(cgroupParent, id); attempt++) {
      sleep(Duration.ofMillis(20));
    }
  }

  /** The runtime's view of {@code id}; empty if the runtime does not know it. */
  public Optional<ContainerState> state(String id) {
    Result result = exec(List.of("state", id), COMMAND_TIMEOUT);
    if (result.exitCode() != 0) {
      if (RuntimeErrors.meansNotFound(result.stderr())) {
        return Optional.empty();
      }
      throw RuntimeErrors.failure("state", id, result.exitCode(), result.stderr());
    }
    try {
      JsonNode state = JSON.readTree(result.stdout());
      ContainerState.Status status = ContainerState.parseStatus(state.path("status").asText());
      int pid = status == ContainerState.Status.STOPPED ? 0 : state.path("pid").asInt(0);
      return Optional.of(new ContainerState(status, pid));
    } catch (IOException e) {
      throw CriException.internal(
          "OCI runtime state of \"" + id + "\" is not JSON: " + new String(result.stdout()), e);
    }
  }

  /**
   * Runs {@code cmd} in the container and waits at most {@code timeout} (zero: no limit). On
   * timeout the command is killed and DEADLINE_EXCEEDED raised ("command timed out"), as the CRI
   * asks of ExecSync.
   */
  public ExecResult execSync(String id, List<String> cmd, Duration timeout) {
    return execSync(id, Optional.empty(), cmd, timeout);
  }

  /**
   * {@link #execSync(String, List, Duration)} as the container's own process: user, groups,
   * capabilities, environment, cwd and no_new_privs from {@code bundle}'s config.json (given to the
   * runtime as {@code exec --process}). Without it crun runs the command as root with its own
   * defaults, whatever RunAsUser the container has.
   */
  public ExecResult execSync(String id, Optional<Path> bundle, List<String> cmd, Duration timeout) {
    if (cmd.isEmpty()) {
      throw CriException.invalid("cmd", "is empty: give the command to run in the container");
    }
    Path pidFile;
    Optional<Path> processFile;
    try {
      pidFile = Files.createTempFile("spawnlet-exec-" + id, ".pid");
      Files.delete(pidFile);
      processFile = bundle.isPresent() ? execProcess(bundle.get(), cmd) : Optional.empty();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create exec pid or process file", e);
    }
    List<String> args = new ArrayList<>(List.of("exec", "--pid-file", pidFile.toString()));
    processFile.ifPresent(f -> args.addAll(List.of("--process", f.toString())));
    args.add(id);
    if (processFile.isEmpty()) {
      args.addAll(cmd);
    }
    Duration limit = timeout.isZero() || timeout.isNegative() ? Duration.ofDays(365) : timeout;
    Process process = startRuntime(args);
    try {
      CompletableFuture<byte[]> stdout = drain(process.getInputStream());
      CompletableFuture<byte[]> stderr = drain(process.getErrorStream());
      if (!process.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
        // Killing the runtime's exec would leave the command running in the container: kill the
        // command itself (its host pid is in the pid file), then the runtime.
        // The runtime is the command's parent: let it reap the command and leave by itself, or
        // the killed command stays a zombie in the container (critest checks that it is gone).
        readPid(pidFile).ifPresent(pid -> Syscalls.kill(pid, SIGKILL));
        if (!process.waitFor(EXEC_REAP_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
          process.destroyForcibly();
          process.waitFor();
        }
        throw new CriException(
            CriException.Kind.DEADLINE_EXCEEDED,
            "command timed out: " + cmd + " in container \"" + id + "\" after " + timeout);
      }
      byte[] err = stderr.get();
      int code = process.exitValue();
      if (code != 0 && !Files.exists(pidFile)) {
        // The runtime failed before the command started: that is an error, not an exit code.
        throw RuntimeErrors.failure("exec", id, code, new String(err, StandardCharsets.UTF_8));
      }
      return new ExecResult(code, stdout.get(), err);
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new CriException(CriException.Kind.INTERNAL, "interrupted while executing in " + id);
    } catch (ExecutionException e) {
      throw CriException.internal("cannot read output of exec in " + id, e.getCause());
    } finally {
      try {
        Files.deleteIfExists(pidFile);
        if (processFile.isPresent()) {
          Files.deleteIfExists(processFile.get());
        }
      } catch (IOException e) {
        // best effort: temp files
      }
    }
  }

  /**
   * Starts {@code cmd} in container {@code id} for a streaming client: in a new terminal with
   * {@code tty}, else with pipes ({@code stdin} false: it reads /dev/null); as the container's own
   * process (user, capabilities, environment) when {@code bundle}'s config.json says it, as
   * ExecSync does.
   */
  public ExecProcess startExec(
      String id, Optional<Path> bundle, List<String> cmd, boolean tty, boolean stdin) {
    if (cmd.isEmpty()) {
      throw CriException.invalid("cmd", "is empty: give the command to run in the container");
    }
    return ExecProcess.start(
        command, id, cmd, bundle.flatMap(b -> execProcessSpec(b, cmd, tty)), tty, stdin);
  }

  /**
   * A temp file holding the container's process spec (from {@code bundle/config.json}) running
   * {@code cmd} without a terminal; empty if the bundle has no readable spec.
   */
  private static Optional<Path> execProcess(Path bundle, List<String> cmd) throws IOException {
    Optional<ObjectNode> process = execProcessSpec(bundle, cmd, false);
    if (process.isEmpty()) {
      return Optional.empty();
    }
    Path file = Files.createTempFile("spawnlet-exec-", ".process.json");
    Files.write(file, JSON.writeValueAsBytes(process.get()));
    return Optional.of(file);
  }

  /**
   * The OCI process of an exec in the container of {@code bundle}: the container's own process
   * (user, groups, capabilities, environment, cwd, no_new_privs) running {@code cmd}, with or
   * without a terminal; empty if the bundle's config.json is unreadable.
   */
  static Optional<ObjectNode> execProcessSpec(Path bundle, List<String> cmd, boolean terminal) {
    JsonNode spec;
    try {
      spec = JSON.readTree(bundle.resolve("config.json").toFile());
    } catch (IOException e) {
      return Optional.empty();
    }
    if (!(spec.path("process") instanceof ObjectNode p)) {
      return Optional.empty();
    }
    ObjectNode process = p.deepCopy();
    ArrayNode args = process.putArray("args");
    cmd.forEach(args::add);
    process.put("terminal", terminal);
    process.remove("consoleSize");
    return Optional.of(process);
  }

  /** Applies new resource limits to a created or running container. */
  public void updateResources(String id, LinuxContainerResources resources) {
    Path file;
    try {
      file = Files.createTempFile("spawnlet-resources-" + id, ".json");
      Files.writeString(file, JSON.writeValueAsString(OciSpecBuilder.resources(resources)));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write resources for " + id, e);
    }
    try {
      run("update", id, List.of("update", "--resources", file.toString(), id));
    } finally {
      try {
        Files.deleteIfExists(file);
      } catch (IOException e) {
        // best effort: a temp file
      }
    }
  }

  private record Result(int exitCode, byte[] stdout, String stderr) {}

  private void run(String what, String id, List<String> args) {
    Result result = exec(args, COMMAND_TIMEOUT);
    if (result.exitCode() != 0) {
      throw RuntimeErrors.failure(what, id, result.exitCode(), result.stderr());
    }
  }

  private Result exec(List<String> args, Duration timeout) {
    ProcessRunner.Outcome outcome;
    try {
      // The daemon's environment, as a ProcessBuilder child would have it (the hybrid-cgroup
      // wrapper needs PATH).
      outcome = runner.run(command.argv(args), System.getenv(), timeout);
    } catch (SyscallException e) {
      throw CriException.internal(
          "cannot run OCI runtime " + command.executable() + ": is it installed?", e);
    }
    if (outcome.timedOut()) {
      throw new CriException(
          CriException.Kind.DEADLINE_EXCEEDED,
          "OCI runtime " + handler().name() + " " + args + " did not finish within " + timeout);
    }
    return new Result(
        outcome.exitCode(), outcome.stdout(), new String(outcome.stderr(), StandardCharsets.UTF_8));
  }

  private Process startRuntime(List<String> args) {
    try {
      return new ProcessBuilder(command.argv(args))
          .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
          .start();
    } catch (IOException e) {
      throw CriException.internal(
          "cannot run OCI runtime " + command.executable() + ": is it installed?", e);
    }
  }

  private static CompletableFuture<byte[]> drain(InputStream in) {
    CompletableFuture<byte[]> result = new CompletableFuture<>();
    Thread.ofVirtual()
        .start(
            () -> {
              try (in) {
                result.complete(in.readAllBytes());
              } catch (IOException e) {
                result.completeExceptionally(e);
              }
            });
    return result;
  }

  private static Optional<Integer> readPid(Path pidFile) {
    try {
      return Optional.of(Integer.parseInt(Files.readString(pidFile).strip()));
    } catch (IOException | NumberFormatException e) {
      return Optional.empty();
    }
  }

  private static void sleep(Duration d) {
    try {
      Thread.sleep(d);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
