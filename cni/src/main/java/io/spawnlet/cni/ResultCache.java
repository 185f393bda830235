package io.spawnlet.cni;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * One file per network + container + interface, {@code <dir>/<network>-<containerId>-<ifName>}, as
 * libcni's {@code results} directory: written atomically (temp file, fsync, rename, fsync of the
 * directory) after a successful ADD, removed after a successful DEL. Lookups read the file's
 * content, never parse the name (names and ids may contain dashes).
 */
final class ResultCache {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String KIND = "spawnletCniCacheV1";

  private final Path dir;

  ResultCache(Path dir) {
    this.dir = dir;
  }

  Path fileFor(String network, String containerId, String ifName) {
    return dir.resolve(network + "-" + containerId + "-" + ifName);
  }

  void put(CniConfigList config, RuntimeConf rt, CniResult result) {
    ObjectNode o = JSON.createObjectNode();
    o.put("kind", KIND);
    o.put("networkName", config.name());
    o.put("containerId", rt.containerId());
    o.put("ifName", rt.ifName());
    o.put("netns", rt.netnsPath());
    ObjectNode args = o.putObject("cniArgs");
    rt.args().forEach(args::put);
    var ports = o.putArray("portMappings");
    rt.portMappings().forEach(p -> ports.add(p.toJson()));
    o.set("config", config.toJson());
    o.set("result", result.json());
    Path file = fileFor(config.name(), rt.containerId(), rt.ifName());
    try {
      writeAtomically(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(o));
    } catch (IOException e) {
      throw new CniException(
          "cannot write CNI result cache "
              + file
              + ": "
              + e.getMessage()
              + "; DEL after a restart would lack the ADD result",
          e);
    }
  }

  Optional<CachedAttachment> get(String network, String containerId, String ifName) {
    return read(fileFor(network, containerId, ifName));
  }

  void remove(String network, String containerId, String ifName) {
    Path file = fileFor(network, containerId, ifName);
    try {
      Files.deleteIfExists(file);
    } catch (IOException e) {
      throw new CniException("cannot remove CNI result cache " + file + ": " + e.getMessage(), e);
    }
  }

  /** Every readable entry; unreadable files are skipped (they belong to no one we can name). */
  List<CachedAttachment> all() {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    List<CachedAttachment> out = new ArrayList<>();
    try (Stream<Path> s = Files.list(dir)) {
      s.filter(p -> !p.getFileName().toString().startsWith("."))
          .sorted()
          .forEach(
              p -> {
                try {
                  read(p).ifPresent(out::add);
                } catch (CniException e) {
                  org.slf4j.LoggerFactory.getLogger(ResultCache.class)
                      .warn("ignoring unreadable CNI cache entry {}: {}", p, e.getMessage());
                }
              });
    } catch (IOException e) {
      throw new CniException("cannot list CNI result cache " + dir + ": " + e.getMessage(), e);
    }
    return out;
  }

  private Optional<CachedAttachment> read(Path file) {
    JsonNode o;
    try {
      o = JSON.readTree(Files.readAllBytes(file));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    } catch (IOException e) {
      throw new CniException("cannot read CNI result cache " + file + ": " + e.getMessage(), e);
    }
    if (o == null || !KIND.equals(o.path("kind").asText())) {
      throw new CniException("CNI result cache " + file + " is not a " + KIND + " document");
    }
    Map<String, String> args = new LinkedHashMap<>();
    o.path("cniArgs").properties().forEach(e -> args.put(e.getKey(), e.getValue().asText()));
    List<PortMapping> ports = new ArrayList<>();
    o.path("portMappings").forEach(p -> ports.add(PortMapping.fromJson(p)));
    CniConfigList config =
        CniConfigLoader.parseList((ObjectNode) o.get("config"), Optional.empty());
    return Optional.of(
        new CachedAttachment(
            o.path("networkName").asText(),
            o.path("containerId").asText(),
            o.path("ifName").asText(),
            o.path("netns").asText(""),
            args,
            ports,
            config,
            CniResult.parse(o.get("result"), "(cache " + file + ")")));
  }

  private static void writeAtomically(Path target, byte[] content) throws IOException {
    Path parent = target.toAbsolutePath().getParent();
    Files.createDirectories(parent);
    Path tmp = parent.resolve("." + target.getFileName() + ".tmp-" + UUID.randomUUID());
    try {
      try (FileChannel ch =
          FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
        ByteBuffer buf = ByteBuffer.wrap(content);
        while (buf.hasRemaining()) {
          ch.write(buf);
        }
        ch.force(true);
      }
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } finally {
      Files.deleteIfExists(tmp);
    }
    try (FileChannel ch = FileChannel.open(parent, StandardOpenOption.READ)) {
      ch.force(true);
    }
  }
}
