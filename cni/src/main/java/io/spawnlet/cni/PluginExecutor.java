package io.spawnlet.cni;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Runs one plugin binary the way the spec's protocol says: parameters in {@code CNI_*} environment
 * variables, the network config on stdin, the result or an error object on stdout, exit status 0
 * for success. The rest of the daemon's environment is passed through because plugins run helper
 * programs (portmap runs iptables, found through PATH).
 */
final class PluginExecutor {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final org.slf4j.Logger LOG =
      org.slf4j.LoggerFactory.getLogger(PluginExecutor.class);

  private final List<Path> pluginDirs;
  private final Duration timeout;

  PluginExecutor(List<Path> pluginDirs, Duration timeout) {
    this.pluginDirs = List.copyOf(pluginDirs);
    this.timeout = timeout;
  }

  List<Path> pluginDirs() {
    return pluginDirs;
  }

  /** The plugin's binary: the first executable file named {@code type} in the plugin dirs. */
  Optional<Path> find(String type) {
    for (Path dir : pluginDirs) {
      Path candidate = dir.resolve(type);
      if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
        return Optional.of(candidate);
      }
    }
    return Optional.empty();
  }

  /**
   * Runs {@code type} with {@code CNI_COMMAND=command} plus {@code env} and returns its stdout
   * parsed as JSON (empty when it printed nothing). {@code context} describes the call in errors.
   */
  Optional<JsonNode> run(
      String type, String command, Map<String, String> env, byte[] stdin, String context) {
    Path binary =
        find(type)
            .orElseThrow(
                () ->
                    new CniException(
                        "CNI plugin \""
                            + type
                            + "\" not found in "
                            + pluginDirs
                            + " ("
                            + context
                            + "); install it (Debian: containernetworking-plugins) or add its"
                            + " directory to the plugin dirs"));
    ProcessBuilder pb = new ProcessBuilder(binary.toString());
    Map<String, String> penv = pb.environment();
    penv.keySet().removeIf(k -> k.startsWith("CNI_"));
    penv.put("CNI_COMMAND", command);
    penv.put("CNI_PATH", pluginDirs.stream().map(Path::toString).collect(Collectors.joining(":")));
    penv.putAll(env);
    Process process;
    try {
      process = pb.start();
    } catch (IOException e) {
      throw new CniException(
          "cannot start CNI plugin " + binary + " (" + context + "): " + e.getMessage(), e);
    }
    CompletableFuture<byte[]> stdout = drain(process.getInputStream());
    CompletableFuture<byte[]> stderr = drain(process.getErrorStream());
    try (OutputStream in = process.getOutputStream()) {
      in.write(stdin);
    } catch (IOException e) {
      // The plugin may exit before reading stdin; its exit status and output tell why.
      LOG.debug("writing stdin of CNI plugin {} failed: {}", type, e.getMessage());
    }
    int exit;
    try {
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
        process.waitFor();
        throw new CniException(
            "CNI plugin \""
                + type
                + "\" did not finish "
                + command
                + " within "
                + timeout
                + " ("
                + context
                + ") and was killed");
      }
      exit = process.exitValue();
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new CniException("interrupted while running CNI plugin \"" + type + "\"", e);
    }
    String out = new String(join(stdout), StandardCharsets.UTF_8).strip();
    String err = new String(join(stderr), StandardCharsets.UTF_8).strip();
    if (!err.isEmpty()) {
      LOG.debug("CNI plugin {} {} ({}) stderr: {}", type, command, context, err);
    }
    if (exit != 0) {
      throw pluginError(type, command, context, exit, out, err);
    }
    if (out.isEmpty()) {
      return Optional.empty();
    }
    try {
      return Optional.of(JSON.readTree(out));
    } catch (IOException e) {
      throw new CniException(
          "CNI plugin \""
              + type
              + "\" succeeded "
              + command
              + " but printed no JSON ("
              + context
              + "): "
              + abbreviate(out),
          e);
    }
  }

  private static PluginException pluginError(
      String type, String command, String context, int exit, String out, String err) {
    try {
      JsonNode e = out.isEmpty() ? null : JSON.readTree(out);
      if (e != null && e.isObject() && (e.has("code") || e.has("msg"))) {
        return new PluginException(
            type,
            command,
            context,
            e.path("code").asInt(0),
            e.path("msg").asText(""),
            e.path("details").asText(""));
      }
    } catch (IOException ignored) {
      // Not the spec's error object: fall through and report what the plugin printed.
    }
    String text = !out.isEmpty() ? out : err;
    return new PluginException(
        type,
        command,
        context,
        0,
        "exit status " + exit + (text.isEmpty() ? "" : ": " + abbreviate(text)),
        "");
  }

  private static String abbreviate(String s) {
    return s.length() <= 2000 ? s : s.substring(0, 2000) + "…";
  }

  private static CompletableFuture<byte[]> drain(InputStream s) {
    CompletableFuture<byte[]> f = new CompletableFuture<>();
    Thread.ofVirtual()
        .start(
            () -> {
              try (s) {
                f.complete(s.readAllBytes());
              } catch (IOException e) {
                f.complete(new byte[0]);
              }
            });
    return f;
  }

  private static byte[] join(CompletableFuture<byte[]> f) {
    try {
      // A helper the plugin left running could hold the pipe open: do not wait for it forever.
      return f.get(5, TimeUnit.SECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      return new byte[0];
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new byte[0];
    } catch (ExecutionException e) {
      return new byte[0];
    }
  }
}
