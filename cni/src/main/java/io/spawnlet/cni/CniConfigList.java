package io.spawnlet.cni;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * A validated network configuration list: the network's name and spec version, whether CHECK and GC
 * are disabled for it, and its plugins in ADD order (each the plugin's own JSON object, with {@code
 * type} naming its binary). {@code source} is the file it came from, if any.
 */
public record CniConfigList(
    String name,
    String cniVersion,
    boolean disableCheck,
    boolean disableGC,
    List<ObjectNode> plugins,
    Optional<Path> source) {

  public CniConfigList {
    plugins = plugins.stream().map(ObjectNode::deepCopy).toList();
    source = source == null ? Optional.empty() : source;
  }

  /** The plugin binaries this network needs, in order ({@code type} of each plugin). */
  public List<String> pluginTypes() {
    return plugins.stream().map(p -> p.path("type").asText()).toList();
  }

  /** The list as a {@code .conflist} document. */
  public ObjectNode toJson() {
    ObjectNode o = JsonNodeFactory.instance.objectNode();
    o.put("cniVersion", cniVersion);
    o.put("name", name);
    if (disableCheck) {
      o.put("disableCheck", true);
    }
    if (disableGC) {
      o.put("disableGC", true);
    }
    var arr = o.putArray("plugins");
    plugins.forEach(p -> arr.add(p.deepCopy()));
    return o;
  }

  /** Where this list came from, for messages. */
  String origin() {
    return source.map(Path::toString).orElse("network \"" + name + "\"");
  }
}
