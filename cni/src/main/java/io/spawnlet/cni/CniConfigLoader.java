package io.spawnlet.cni;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Finds and validates network configuration, as libcni and containerd do: in the first directory
 * that holds any {@code .conflist}, {@code .conf} or {@code .json} file, the lexically first file
 * is the network. A {@code .conf} (a single plugin object) is promoted to a list of one plugin
 * whose name and version come from the plugin object. Hidden files are ignored, so half-written
 * temporary files of an installer never count. An invalid first file is an error, not skipped: the
 * node should say its network is broken rather than silently pick another one.
 */
public final class CniConfigLoader {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Spec: a network name must match this (letters, digits, {@code _ . -}, starting alnum). */
  private static final Pattern NETWORK_NAME = Pattern.compile("^[a-zA-Z0-9][a-zA-Z0-9_.\\-]*$");

  /** A plugin {@code type} is looked up as a file name in the plugin dirs: no paths. */
  private static final Pattern PLUGIN_TYPE = Pattern.compile("^[a-zA-Z0-9][a-zA-Z0-9_.\\-]*$");

  private CniConfigLoader() {}

  /** The configured network, or empty when no directory holds a config file. */
  public static Optional<CniConfigList> load(List<Path> dirs) {
    for (Path dir : dirs) {
      Optional<Path> first = configFiles(dir).stream().findFirst();
      if (first.isPresent()) {
        return Optional.of(parseFile(first.get()));
      }
    }
    return Optional.empty();
  }

  /** Config files of one directory in the order that decides which wins. */
  public static List<Path> configFiles(Path dir) {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(Files::isRegularFile)
          .filter(p -> !p.getFileName().toString().startsWith("."))
          .filter(
              p -> {
                String n = p.getFileName().toString();
                return n.endsWith(".conflist") || n.endsWith(".conf") || n.endsWith(".json");
              })
          .sorted()
          .toList();
    } catch (IOException e) {
      throw new CniException("cannot list CNI config directory " + dir + ": " + e.getMessage(), e);
    }
  }

  /** Reads one file: a {@code .conflist}, or a single plugin config promoted to a list. */
  public static CniConfigList parseFile(Path file) {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new CniConfigException(Optional.of(file), "file does not exist", e);
    } catch (IOException e) {
      throw new CniConfigException(Optional.of(file), "cannot read: " + e.getMessage(), e);
    }
    ObjectNode root = readObject(bytes, Optional.of(file));
    // libcni decides by extension; a .json file is whichever shape it has.
    boolean isList =
        file.toString().endsWith(".conflist")
            || (file.toString().endsWith(".json") && root.has("plugins"));
    return isList ? parseList(root, Optional.of(file)) : promote(root, Optional.of(file));
  }

  /** Parses a {@code .conflist} document. */
  public static CniConfigList parse(String json, Optional<Path> source) {
    return parseList(
        readObject(json.getBytes(java.nio.charset.StandardCharsets.UTF_8), source), source);
  }

  /** Parses a {@code .conf} document (one plugin) into a list of one plugin. */
  public static CniConfigList parseSinglePlugin(String json, Optional<Path> source) {
    return promote(
        readObject(json.getBytes(java.nio.charset.StandardCharsets.UTF_8), source), source);
  }

  static ObjectNode readObject(byte[] bytes, Optional<Path> source) {
    JsonNode node;
    try {
      node = JSON.readTree(bytes);
    } catch (JsonProcessingException e) {
      throw new CniConfigException(
          source, "not valid JSON: " + e.getOriginalMessage() + locationOf(e), e);
    } catch (IOException e) {
      throw new CniConfigException(source, "cannot parse: " + e.getMessage(), e);
    }
    if (node == null || !node.isObject()) {
      throw new CniConfigException(source, "(document)", "must be a JSON object");
    }
    return (ObjectNode) node;
  }

  private static String locationOf(JsonProcessingException e) {
    var loc = e.getLocation();
    return loc == null ? "" : " at line " + loc.getLineNr() + ", column " + loc.getColumnNr();
  }

  static CniConfigList parseList(ObjectNode root, Optional<Path> source) {
    String name = requireString(root, "name", "name", source);
    if (!NETWORK_NAME.matcher(name).matches()) {
      throw new CniConfigException(
          source,
          "name",
          "\""
              + name
              + "\" is not a valid network name (letters, digits, '_', '.', '-', starting with a"
              + " letter or digit)");
    }
    String version = requireVersion(root, "cniVersion", source);
    JsonNode plugins = root.get("plugins");
    if (plugins == null || !plugins.isArray()) {
      throw new CniConfigException(
          source, "plugins", "missing or not an array (a .conflist needs a list of plugins)");
    }
    if (plugins.isEmpty()) {
      throw new CniConfigException(source, "plugins", "empty: a network needs at least one plugin");
    }
    List<ObjectNode> out = new ArrayList<>();
    for (int i = 0; i < plugins.size(); i++) {
      JsonNode p = plugins.get(i);
      String field = "plugins[" + i + "]";
      if (!p.isObject()) {
        throw new CniConfigException(source, field, "must be a JSON object");
      }
      requireType((ObjectNode) p, field, source);
      if (p.has("cniVersion") && !p.get("cniVersion").asText().equals(version)) {
        // libcni overrides it with the list's version; say so rather than run with a surprise.
        throw new CniConfigException(
            source,
            field + ".cniVersion",
            "\""
                + p.get("cniVersion").asText()
                + "\" differs from the list's cniVersion \""
                + version
                + "\"; remove it from the plugin");
      }
      out.add((ObjectNode) p);
    }
    return new CniConfigList(
        name,
        version,
        requireBoolean(root, "disableCheck", source),
        requireBoolean(root, "disableGC", source),
        out,
        source);
  }

  static CniConfigList promote(ObjectNode plugin, Optional<Path> source) {
    if (plugin.has("plugins")) {
      throw new CniConfigException(
          source, "plugins", "a single-plugin .conf must not have \"plugins\"; name it .conflist");
    }
    String name = requireString(plugin, "name", "name", source);
    String version = requireVersion(plugin, "cniVersion", source);
    requireType(plugin, "type", source);
    ObjectNode list = plugin.objectNode();
    list.put("name", name);
    list.put("cniVersion", version);
    ObjectNode copy = plugin.deepCopy();
    copy.remove("name");
    copy.remove("cniVersion");
    list.putArray("plugins").add(copy);
    return parseList(list, source);
  }

  private static void requireType(ObjectNode p, String field, Optional<Path> source) {
    String f = field.equals("type") ? "type" : field + ".type";
    String type = requireString(p, "type", f, source);
    if (!PLUGIN_TYPE.matcher(type).matches()) {
      throw new CniConfigException(
          source, f, "\"" + type + "\" is not a plugin name (a binary name without a path)");
    }
  }

  private static String requireVersion(ObjectNode o, String key, Optional<Path> source) {
    String v = requireString(o, key, key, source);
    if (!CniVersion.isValid(v)) {
      throw new CniConfigException(source, key, "\"" + v + "\" is not a version like \"1.0.0\"");
    }
    return v;
  }

  private static String requireString(
      ObjectNode o, String key, String field, Optional<Path> source) {
    JsonNode v = o.get(key);
    if (v == null || v.isNull()) {
      throw new CniConfigException(source, field, "missing");
    }
    if (!v.isTextual() || v.asText().isBlank()) {
      throw new CniConfigException(source, field, "must be a non-empty string");
    }
    return v.asText();
  }

  private static boolean requireBoolean(ObjectNode o, String key, Optional<Path> source) {
    JsonNode v = o.get(key);
    if (v == null || v.isNull()) {
      return false;
    }
    if (!v.isBoolean()) {
      throw new CniConfigException(source, key, "must be true or false");
    }
    return v.asBoolean();
  }
}
