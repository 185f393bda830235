package io.spawnlet.e2e;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/** crictl JSON configs of system pods booting the Debian systemd example image. */
final class SystemPodConfigs {
  static final String IMAGE = "docker.io/spawnlet/debian-systemd:bookworm";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final SpawnletDaemon daemon;

  SystemPodConfigs(SpawnletDaemon daemon) {
    this.daemon = daemon;
  }

  /** A pod sandbox config: hostname = name, a fresh uid, its log directory under podLogs. */
  Path pod(String name, Map<String, String> annotations, Optional<ObjectNode> linux)
      throws IOException {
    ObjectNode config = JSON.createObjectNode();
    String uid = UUID.randomUUID().toString();
    config
        .putObject("metadata")
        .put("name", name)
        .put("namespace", "default")
        .put("uid", uid)
        .put("attempt", 0);
    config.put("hostname", name);
    config.put("log_directory", daemon.podLogs().resolve("default_" + name + "_" + uid).toString());
    ObjectNode a = config.putObject("annotations");
    annotations.forEach(a::put);
    linux.ifPresent(l -> config.set("linux", l));
    return write("pod-" + name + ".json", config);
  }

  /** The container "os" of the image, no command: the image's /sbin/init runs. */
  Path container() throws IOException {
    ObjectNode config = JSON.createObjectNode();
    config.putObject("metadata").put("name", "os").put("attempt", 0);
    config.putObject("image").put("image", IMAGE);
    config.put("log_path", "os/0.log");
    return write("container-" + UUID.randomUUID() + ".json", config);
  }

  Path write(String name, ObjectNode config) throws IOException {
    Path dir = Files.createDirectories(daemon.base().resolve("system-configs"));
    Path file = dir.resolve(name);
    JSON.writeValue(file.toFile(), config);
    return file;
  }
}
