package io.spawnlet.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Runs the real crictl against one spawnlet socket. Each call gets its own config file (so the
 * host's /etc/crictl.yaml never matters) and the endpoints on the command line.
 */
public final class Crictl {
  private static final Duration CALL_TIMEOUT = Duration.ofMinutes(2);
  private static final ObjectMapper JSON = new ObjectMapper();

  /** What one crictl run did. */
  public record Result(List<String> command, int exitCode, String stdout, String stderr) {
    public boolean succeeded() {
      return exitCode == 0;
    }

    /** The gRPC status code name crictl printed ("NotFound", "InvalidArgument"...), if any. */
    public String grpcCode() {
      var matcher = java.util.regex.Pattern.compile("code = (\\w+)").matcher(stderr);
      return matcher.find() ? matcher.group(1) : "";
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

  private final Path binary;
  private final Path socket;
  private final Path scratch;

  /**
   * @param binary the crictl executable
   * @param socket the daemon's CRI socket
   * @param scratch a directory for crictl's config and captured output
   */
  public Crictl(Path binary, Path socket, Path scratch) {
    this.binary = binary;
    this.socket = socket;
    this.scratch = scratch;
    try {
      Files.createDirectories(scratch);
      Files.writeString(
          config(),
          "runtime-endpoint: "
              + endpoint()
              + "\nimage-endpoint: "
              + endpoint()
              + "\ntimeout: 60\ndebug: false\npull-image-on-create: false\n");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write crictl config in " + scratch, e);
    }
  }

  public String endpoint() {
    return "unix://" + socket;
  }

  /** Runs crictl and returns its stdout; fails with the command, exit code and stderr. */
  public String run(String... args) {
    Result result = tryRun(args);
    if (!result.succeeded()) {
      throw new AssertionError("crictl failed: " + result);
    }
    return result.stdout();
  }

  /** Runs crictl and returns its stdout, trimmed (an id, a single line). */
  public String runTrimmed(String... args) {
    return run(args).trim();
  }

  /** Runs crictl (with {@code -o json} among the args, or a command that prints JSON). */
  public JsonNode json(String... args) {
    String out = run(args);
    try {
      return JSON.readTree(out);
    } catch (IOException e) {
      throw new AssertionError("crictl " + String.join(" ", args) + " printed no JSON:\n" + out, e);
    }
  }

  /** Runs crictl whatever its exit code (for the calls that are meant to fail). */
  public Result tryRun(String... args) {
    List<String> command = new ArrayList<>();
    command.add(binary.toString());
    command.add("--config");
    command.add(config().toString());
    command.add("--runtime-endpoint");
    command.add(endpoint());
    command.add("--image-endpoint");
    command.add(endpoint());
    command.addAll(List.of(args));
    ProcessResult run = ProcessResult.run(command, Map.of(), scratch, CALL_TIMEOUT);
    return new Result(run.command(), run.exitCode(), run.stdout(), run.stderr());
  }

  private Path config() {
    return scratch.resolve("crictl.yaml");
  }
}
