package io.spawnlet.e2e;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;

/**
 * Writes the JSON files crictl takes for {@code runp} (PodSandboxConfig) and {@code create}
 * (ContainerConfig), with CRI v1 field names as crictl decodes them.
 */
final class CriConfigs {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path dir;
  private final Path podLogs;

  /**
   * @param dir where the config files go
   * @param podLogs the parent of the pods' log directories
   */
  CriConfigs(Path dir, Path podLogs) {
    this.dir = dir;
    this.podLogs = podLogs;
  }

  /** A pod in namespace "default" with a fresh uid, its log directory under podLogs. */
  Path pod(String name) {
    return pod(name, "default", UUID.randomUUID().toString());
  }

  Path pod(String name, String namespace, String uid) {
    ObjectNode config = JSON.createObjectNode();
    config
        .putObject("metadata")
        .put("name", name)
        .put("namespace", namespace)
        .put("uid", uid)
        .put("attempt", 0);
    config.put("hostname", safeHostname(name));
    config.put("log_directory", podLogs.resolve(namespace + "_" + name + "_" + uid).toString());
    config.putObject("labels").put("io.spawnlet.e2e", "true");
    return write("pod-" + UUID.randomUUID() + ".json", config);
  }

  /** A container of the given image running {@code command}, logging to NAME/0.log. */
  Path container(String name, String image, List<String> command) {
    ObjectNode config = JSON.createObjectNode();
    config.putObject("metadata").put("name", name).put("attempt", 0);
    config.putObject("image").put("image", image);
    command.forEach(config.putArray("command")::add);
    config.put("log_path", name + "/0.log");
    config.putArray("envs").addObject().put("key", "E2E").put("value", "1");
    return write("container-" + UUID.randomUUID() + ".json", config);
  }

  /** Like {@link #container} with stdin kept open (closed at the first client's end), a tty. */
  Path interactive(String name, String image, List<String> command, boolean tty) {
    try {
      ObjectNode config = (ObjectNode) JSON.readTree(container(name, image, command).toFile());
      config.put("stdin", true).put("stdin_once", true).put("tty", tty);
      return write("container-" + UUID.randomUUID() + ".json", config);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write a CRI config in " + dir, e);
    }
  }

  private Path write(String fileName, ObjectNode config) {
    try {
      Files.createDirectories(dir);
      Path file = dir.resolve(fileName);
      JSON.writerWithDefaultPrettyPrinter().writeValue(file.toFile(), config);
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write a CRI config in " + dir, e);
    }
  }

  /** Pod names in the bad-input tests are not valid hostnames; the hostname stays harmless. */
  private static String safeHostname(String name) {
    String host = name.toLowerCase().replaceAll("[^a-z0-9-]", "-").replaceAll("^-+|-+$", "");
    return host.isEmpty() ? "pod" : host.substring(0, Math.min(host.length(), 63));
  }
}
