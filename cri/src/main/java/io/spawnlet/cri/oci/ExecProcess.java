package io.spawnlet.cri.oci;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.spawnlet.cri.CriException;
import io.spawnlet.cri.host.ProcessTree;
import io.spawnlet.cri.host.Syscalls;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A command started in a running container by {@code runtime exec}, its stdio kept for a streaming
 * client. With a terminal the runtime allocates a pty in the container and hands its master to us
 * over a {@code --console-socket} (SCM_RIGHTS); without one the command's stdio are pipes to us.
 *
 * <pre>
 *  ExecProcess.start ─► runtime exec [--tty --console-socket S] --pid-file P id cmd…
 *        │ tty: accept on S, receive the master fd       pipes: the runtime's own stdin/out/err
 *        ▼
 *  pumpOutput ◄── master / stdout, stderr          writeStdin ──► master / stdin
 *  awaitExit  ◄── the runtime's exit status (= the command's)
 *  terminate  ──► SIGKILL to the command (pid file) and its descendants, then to the runtime
 * </pre>
 */
public final class ExecProcess implements ContainerStdio {
  private static final int SIGKILL = 9;
  private static final ObjectMapper PROCESS_JSON = new ObjectMapper();
  private static final Duration CONSOLE_TIMEOUT = Duration.ofSeconds(30);

  private final String containerId;
  private final Process runtime;
  private final Path workDir;
  private final int master; // -1 without a terminal
  private final AtomicBoolean closed = new AtomicBoolean();

  private ExecProcess(String containerId, Process runtime, Path workDir, int master) {
    this.containerId = containerId;
    this.runtime = runtime;
    this.workDir = workDir;
    this.master = master;
  }

  /**
   * Starts {@code cmd} in container {@code id} through {@code command}'s runtime; with {@code tty}
   * in a new terminal, else with pipes ({@code stdin} false: the command reads /dev/null).
   */
  static ExecProcess start(
      RuntimeCommand command,
      String id,
      List<String> cmd,
      Optional<ObjectNode> process,
      boolean tty,
      boolean stdin) {
    Path workDir;
    try {
      // Short and private: a unix socket path has at most 107 bytes.
      workDir = Files.createTempDirectory("spawnlet-exec");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create a directory for exec in " + id, e);
    }
    Path pidFile = workDir.resolve("pid");
    Path console = workDir.resolve("console");
    List<String> args = new ArrayList<>(List.of("exec", "--pid-file", pidFile.toString()));
    int listener = -1;
    try {
      if (tty) {
        listener = Syscalls.listeningUnixSocket(console.toString(), Syscalls.SOCK_STREAM);
        args.addAll(List.of("--console-socket", console.toString()));
      }
      if (process.isPresent()) {
        // The process file says terminal or not, and what to run.
        Path processFile = workDir.resolve("process.json");
        Files.write(processFile, PROCESS_JSON.writeValueAsBytes(process.get()));
        args.addAll(List.of("--process", processFile.toString(), id));
      } else {
        if (tty) {
          args.add("--tty");
        }
        args.add(id);
        args.addAll(cmd);
      }
      ProcessBuilder builder = new ProcessBuilder(command.argv(args));
      if (tty) {
        builder
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .redirectError(workDir.resolve("runtime.err").toFile());
      } else if (!stdin) {
        builder.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
      }
      Process runtime = builder.start();
      int master = -1;
      if (tty) {
        try {
          master = receiveMaster(listener, runtime, id, workDir);
        } catch (RuntimeException e) {
          runtime.destroyForcibly();
          throw e;
        }
      }
      return new ExecProcess(id, runtime, workDir, master);
    } catch (IOException e) {
      deleteQuietly(workDir);
      throw CriException.internal(
          "cannot run OCI runtime " + command.executable() + " exec in " + id, e);
    } catch (RuntimeException e) {
      deleteQuietly(workDir);
      throw e;
    } finally {
      if (listener >= 0) {
        Syscalls.close(listener);
      }
    }
  }

  /** Waits for the runtime to connect to the console socket and pass the pty master. */
  private static int receiveMaster(int listener, Process runtime, String id, Path workDir) {
    long deadline = System.nanoTime() + CONSOLE_TIMEOUT.toNanos();
    while (!Syscalls.pollReadable(listener, 100)) {
      if (!runtime.isAlive() || System.nanoTime() > deadline) {
        String why = readQuietly(workDir.resolve("runtime.err"));
        throw new CriException(
            CriException.Kind.INTERNAL,
            "OCI runtime exec in container \""
                + id
                + "\" did not hand over a terminal"
                + (runtime.isAlive() ? " within " + CONSOLE_TIMEOUT : "")
                + (why.isBlank() ? "" : ": " + why));
      }
    }
    int connection = Syscalls.accept(listener);
    try {
      return Syscalls.receiveFd(connection)
          .orElseThrow(
              () ->
                  new CriException(
                      CriException.Kind.INTERNAL,
                      "OCI runtime connected to the console socket of an exec in \""
                          + id
                          + "\" without passing a terminal"));
    } finally {
      Syscalls.close(connection);
    }
  }

  @Override
  public void pumpOutput(Sink stdout, Sink stderr) throws IOException {
    if (master >= 0) {
      pumpTerminal(stdout);
      return;
    }
    Thread errors =
        Thread.ofPlatform()
            .name("exec-stderr-" + containerId)
            .start(
                () -> {
                  try {
                    pump(runtime.getErrorStream(), stderr);
                  } catch (IOException e) {
                    // the client went away: terminate() follows
                  }
                });
    try {
      pump(runtime.getInputStream(), stdout);
    } finally {
      try {
        errors.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /**
   * Reads the pty master until it hangs up (EIO once no process holds the terminal) or, when a
   * background process keeps the terminal open, until the runtime has exited and nothing is left.
   */
  private void pumpTerminal(Sink stdout) throws IOException {
    byte[] buf = new byte[32 * 1024];
    while (true) {
      if (!Syscalls.pollReadable(master, 100)) {
        if (!runtime.isAlive()) {
          return;
        }
        continue;
      }
      int n = Syscalls.readTerminal(master, buf);
      if (n <= 0) {
        return;
      }
      stdout.accept(buf, n);
    }
  }

  private static void pump(InputStream in, Sink sink) throws IOException {
    byte[] buf = new byte[32 * 1024];
    int n;
    while ((n = in.read(buf)) >= 0) {
      if (n > 0) {
        sink.accept(buf, n);
      }
    }
  }

  @Override
  public void writeStdin(byte[] data) throws IOException {
    if (master >= 0) {
      try {
        Syscalls.write(master, data);
      } catch (RuntimeException e) {
        throw new IOException("terminal of exec in " + containerId + " closed", e);
      }
      return;
    }
    OutputStream in = runtime.getOutputStream();
    in.write(data);
    in.flush();
  }

  @Override
  public void closeStdin() {
    if (master >= 0) {
      // A terminal has no half-close: send EOT (^D), as a user typing would.
      try {
        Syscalls.write(master, new byte[] {4});
      } catch (RuntimeException e) {
        // the command has gone
      }
      return;
    }
    try {
      runtime.getOutputStream().close();
    } catch (IOException e) {
      // the command has gone
    }
  }

  @Override
  public void resize(int width, int height) {
    if (master >= 0 && width > 0 && height > 0) {
      try {
        Syscalls.setWindowSize(master, height, width);
      } catch (RuntimeException e) {
        // the terminal has gone
      }
    }
  }

  @Override
  public OptionalInt awaitExit() throws InterruptedException {
    return OptionalInt.of(runtime.waitFor());
  }

  /** The command's host pid, from the runtime's pid file (absent until it started). */
  Optional<Integer> commandPid() {
    try {
      return Optional.of(Integer.parseInt(Files.readString(workDir.resolve("pid")).strip()));
    } catch (IOException | NumberFormatException e) {
      return Optional.empty();
    }
  }

  /** Whether the runtime failed before the command started (no pid file). */
  public boolean commandStarted() {
    return Files.exists(workDir.resolve("pid"));
  }

  @Override
  public void terminate() {
    // The runtime's exec waits for the command; killing only the runtime would leave the command
    // (and whatever it started) running in the container.
    commandPid().ifPresent(pid -> ProcessTree.signal(pid, SIGKILL));
    runtime.destroyForcibly();
  }

  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    if (runtime.isAlive()) {
      terminate();
      try {
        runtime.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    if (master >= 0) {
      Syscalls.close(master);
    }
    closeQuietly(runtime.getOutputStream());
    closeQuietly(runtime.getInputStream());
    closeQuietly(runtime.getErrorStream());
    deleteQuietly(workDir);
  }

  private static void closeQuietly(AutoCloseable c) {
    try {
      c.close();
    } catch (Exception e) {
      // already closed
    }
  }

  private static String readQuietly(Path file) {
    try {
      return Files.readString(file, StandardCharsets.UTF_8).strip();
    } catch (IOException e) {
      return "";
    }
  }

  private static void deleteQuietly(Path dir) {
    try (var files = Files.list(dir)) {
      for (Path f : files.toList()) {
        Files.deleteIfExists(f);
      }
      Files.deleteIfExists(dir);
    } catch (IOException e) {
      // a temp directory
    }
  }
}
