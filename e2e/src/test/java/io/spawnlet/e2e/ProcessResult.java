package io.spawnlet.e2e;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** What one run of an external program did: its command, exit code and captured output. */
public record ProcessResult(List<String> command, int exitCode, String stdout, String stderr) {

  public boolean succeeded() {
    return exitCode == 0;
  }

  /** Stdout when the program succeeded; otherwise an AssertionError with the whole result. */
  public String requireSuccess() {
    if (!succeeded()) {
      throw new AssertionError("failed: " + this);
    }
    return stdout;
  }

  /**
   * Runs {@code command} with stdin from /dev/null and the extra environment {@code env}, waiting
   * at most {@code timeout}. Output goes to files in {@code scratch}, not pipes, so a chatty
   * program can never block on a full pipe.
   */
  public static ProcessResult run(
      List<String> command, Map<String, String> env, Path scratch, Duration timeout) {
    try {
      Files.createDirectories(scratch);
      Path out = Files.createTempFile(scratch, "process-", ".out");
      Path err = Files.createTempFile(scratch, "process-", ".err");
      try {
        ProcessBuilder builder =
            new ProcessBuilder(command)
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .redirectOutput(out.toFile())
                .redirectError(err.toFile());
        builder.environment().putAll(env);
        Process process = builder.start();
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
          process.destroyForcibly().waitFor();
          throw new AssertionError(String.join(" ", command) + " did not finish in " + timeout);
        }
        return new ProcessResult(
            List.copyOf(command),
            process.exitValue(),
            Files.readString(out, StandardCharsets.UTF_8),
            Files.readString(err, StandardCharsets.UTF_8));
      } finally {
        Files.deleteIfExists(out);
        Files.deleteIfExists(err);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + command.getFirst(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted while running " + command.getFirst(), e);
    }
  }

  @Override
  public String toString() {
    return String.join(" ", command)
        + " -> exit code "
        + exitCode
        + "\n--- stdout:\n"
        + stdout
        + "\n--- stderr:\n"
        + stderr;
  }
}
