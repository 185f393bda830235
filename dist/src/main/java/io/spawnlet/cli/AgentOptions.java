package io.spawnlet.cli;

import io.spawnlet.agent.pod.AgentSettings;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import picocli.CommandLine.Option;

/** The pod agent's flags, shared by {@code spawnlet run}, {@code agent} and {@code node}. */
final class AgentOptions {
  @Option(
      names = "--state-dir",
      description = "The agent's directory, pod volumes (default <root>/agent).")
  Path stateDir;

  @Option(
      names = "--pod-log-dir",
      defaultValue = "/var/log/pods",
      description = "Where pod log directories go (default: ${DEFAULT-VALUE}).")
  Path podLogDir;

  @Option(names = "--node-name", description = "Node name (default: the host name).")
  String nodeName;

  @Option(
      names = "--runtime-class",
      description = "RuntimeClass=handler (repeatable; spawnlet=system is built in).")
  Map<String, String> runtimeClasses = new LinkedHashMap<>();

  @Option(
      names = "--sync-interval",
      defaultValue = "1s",
      description = "How often manifests and containers are checked (default: ${DEFAULT-VALUE}).")
  String syncInterval;

  String nodeName() {
    return Optional.ofNullable(nodeName).orElseGet(AgentOptions::hostname);
  }

  AgentSettings settings(Optional<Path> manifests, Path root) {
    Map<String, String> classes = new LinkedHashMap<>(AgentSettings.DEFAULT_RUNTIME_CLASSES);
    classes.putAll(runtimeClasses);
    return new AgentSettings(
        manifests,
        Optional.ofNullable(stateDir).orElse(root.resolve("agent")),
        podLogDir,
        nodeName(),
        classes,
        parseDuration(syncInterval));
  }

  static Duration parseDuration(String text) {
    String t = text.trim();
    if (t.endsWith("ms")) {
      return Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2)));
    }
    if (t.endsWith("s")) {
      return Duration.ofSeconds(Long.parseLong(t.substring(0, t.length() - 1)));
    }
    return Duration.parse(t);
  }

  private static String hostname() {
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (java.io.IOException e) {
      return "localhost";
    }
  }
}
