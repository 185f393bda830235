package io.spawnlet.cni;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Runs network configuration lists against containers, per the CNI spec (1.0 and 1.1):
 *
 * <pre>
 * ADD    plugins in order; each gets the previous plugin's result as prevResult; the final
 *        result is cached on disk
 * DEL    plugins in reverse order, each with the cached result as prevResult (none if lost);
 *        then the cache entry goes. Idempotent: a second DEL runs the plugins again, which the
 *        spec requires them to accept.
 * CHECK  plugins in order with the cached result (spec 0.4.0+, unless disableCheck)
 * STATUS plugins in order (spec 1.1.0+; older networks have no STATUS and count as ready)
 * GC     DEL of cached attachments not in the valid set, then GC on each plugin with
 *        cni.dev/valid-attachments (that part spec 1.1.0+, unless disableGC)
 * </pre>
 *
 * Each plugin's stdin is its own object from the list plus the list's {@code name} and {@code
 * cniVersion}, {@code prevResult}, and {@code runtimeConfig} holding only the capabilities the
 * plugin declares in {@code capabilities}. Thread-safe; calls for different containers run in
 * parallel (IPAM plugins lock their own state).
 */
public final class CniRuntime {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String PORT_MAPPINGS = "portMappings";

  private final PluginExecutor executor;
  private final ResultCache cache;

  public CniRuntime(List<Path> pluginDirs, Path cacheDir, Duration timeout) {
    this.executor = new PluginExecutor(pluginDirs, timeout);
    this.cache = new ResultCache(cacheDir);
  }

  /** Plugin types of {@code config} that no plugin dir holds; empty when all are installed. */
  public List<String> missingPlugins(CniConfigList config) {
    return config.pluginTypes().stream()
        .distinct()
        .filter(t -> executor.find(t).isEmpty())
        .toList();
  }

  /** The plugin dirs searched for binaries, in order. */
  public List<Path> pluginDirs() {
    return executor.pluginDirs();
  }

  /** Attaches the container to the network; the result is cached for DEL, CHECK and reads. */
  public CniResult add(CniConfigList config, RuntimeConf rt) {
    requireAttachment(rt, "ADD");
    if (rt.netnsPath().isEmpty()) {
      throw new CniException("ADD " + describe(config, rt) + ": netnsPath is required");
    }
    JsonNode prev = null;
    CniResult result = null;
    for (ObjectNode plugin : config.plugins()) {
      String type = plugin.get("type").asText();
      JsonNode out =
          executor
              .run(
                  type,
                  "ADD",
                  attachmentEnv(rt),
                  stdin(config, plugin, prev, capabilityArgs(rt)),
                  describe(config, rt))
              .orElseThrow(
                  () ->
                      new CniException(
                          "CNI plugin \""
                              + type
                              + "\" printed no result for ADD ("
                              + describe(config, rt)
                              + ")"));
      result = CniResult.parse(out, type);
      prev = out;
    }
    cache.put(config, rt, result);
    return result;
  }

  /**
   * Detaches the container. The namespace may be gone ({@code netnsPath} empty): plugins then
   * release what they hold on the host (IP leases, iptables rules). Without port mappings in {@code
   * rt}, those of the cached ADD are used, so that portmap can remove its rules.
   */
  public void del(CniConfigList config, RuntimeConf rt) {
    requireAttachment(rt, "DEL");
    Optional<CachedAttachment> cached = cache.get(config.name(), rt.containerId(), rt.ifName());
    RuntimeConf effective =
        rt.portMappings().isEmpty() && cached.isPresent()
            ? rt.withPortMappings(cached.get().portMappings())
            : rt;
    JsonNode prev =
        CniVersion.atLeast(config.cniVersion(), "0.4.0")
            ? cached.map(c -> (JsonNode) c.result().json()).orElse(null)
            : null;
    List<ObjectNode> plugins = new ArrayList<>(config.plugins());
    java.util.Collections.reverse(plugins);
    for (ObjectNode plugin : plugins) {
      executor.run(
          plugin.get("type").asText(),
          "DEL",
          attachmentEnv(effective),
          stdin(config, plugin, prev, capabilityArgs(effective)),
          describe(config, rt));
    }
    cache.remove(config.name(), rt.containerId(), rt.ifName());
  }

  /** Asks every plugin whether the container's networking is still as ADD left it. */
  public void check(CniConfigList config, RuntimeConf rt) {
    requireAttachment(rt, "CHECK");
    if (!CniVersion.atLeast(config.cniVersion(), "0.4.0")) {
      throw new CniException(
          "CHECK "
              + describe(config, rt)
              + ": needs cniVersion 0.4.0 or newer, the network has "
              + config.cniVersion());
    }
    if (config.disableCheck()) {
      return;
    }
    CachedAttachment cached =
        cache
            .get(config.name(), rt.containerId(), rt.ifName())
            .orElseThrow(
                () ->
                    new CniException(
                        "CHECK " + describe(config, rt) + ": no cached ADD result; was it added?"));
    for (ObjectNode plugin : config.plugins()) {
      executor.run(
          plugin.get("type").asText(),
          "CHECK",
          attachmentEnv(rt),
          stdin(config, plugin, cached.result().json(), capabilityArgs(rt)),
          describe(config, rt));
    }
  }

  /**
   * Asks every plugin whether it can serve ADD now; a {@link PluginException} (code 50 or 51 for
   * the spec's "not available" / "limited connectivity") when one cannot. Networks older than 1.1.0
   * have no STATUS: this returns at once for them.
   */
  public void status(CniConfigList config) {
    if (!CniVersion.atLeast(config.cniVersion(), "1.1.0")) {
      return;
    }
    for (ObjectNode plugin : config.plugins()) {
      executor.run(
          plugin.get("type").asText(),
          "STATUS",
          Map.of(),
          stdin(config, plugin, null, Map.of()),
          "network \"" + config.name() + "\"");
    }
  }

  /**
   * Removes everything of this network that is not in {@code valid}: DEL for each cached attachment
   * outside it, then (spec 1.1.0+) GC on each plugin so it can drop leftovers the cache does not
   * know about. Every failure is collected; the first is thrown with the others suppressed, after
   * all were tried.
   */
  public void gc(CniConfigList config, List<Attachment> valid) {
    Set<Attachment> keep = new HashSet<>(valid);
    List<CniException> failures = new ArrayList<>();
    for (CachedAttachment c : cache.all()) {
      if (!c.networkName().equals(config.name())
          || keep.contains(new Attachment(c.containerId(), c.ifName()))) {
        continue;
      }
      try {
        del(config, c.runtimeConf().withNetnsPath(""));
      } catch (CniException e) {
        failures.add(e);
      }
    }
    if (CniVersion.atLeast(config.cniVersion(), "1.1.0") && !config.disableGC()) {
      for (ObjectNode plugin : config.plugins()) {
        ObjectNode conf = injected(config, plugin, null, Map.of());
        ArrayNode list = conf.putArray("cni.dev/valid-attachments");
        valid.forEach(
            a -> list.addObject().put("containerID", a.containerId()).put("ifname", a.ifName()));
        try {
          executor.run(
              plugin.get("type").asText(),
              "GC",
              Map.of(),
              bytes(conf),
              "network \"" + config.name() + "\"");
        } catch (CniException e) {
          failures.add(e);
        }
      }
    }
    if (!failures.isEmpty()) {
      CniException first = failures.get(0);
      failures.subList(1, failures.size()).forEach(first::addSuppressed);
      throw first;
    }
  }

  /** The result of the container's last successful ADD to this network, if it is still cached. */
  public Optional<CniResult> cachedResult(CniConfigList config, RuntimeConf rt) {
    return cache.get(config.name(), rt.containerId(), rt.ifName()).map(CachedAttachment::result);
  }

  /** The cached ADD of one network + container + interface, with the config that made it. */
  public Optional<CachedAttachment> cachedAttachment(
      String networkName, String containerId, String ifName) {
    return cache.get(networkName, containerId, ifName);
  }

  /** Every cached attachment, of every network. */
  public List<CachedAttachment> cachedAttachments() {
    return cache.all();
  }

  /** The JSON a plugin reads on stdin; package-private so tests can check the injection rules. */
  static ObjectNode injected(
      CniConfigList config,
      ObjectNode plugin,
      JsonNode prevResult,
      Map<String, JsonNode> capabilityArgs) {
    ObjectNode conf = plugin.deepCopy();
    conf.put("cniVersion", config.cniVersion());
    conf.put("name", config.name());
    if (prevResult != null) {
      conf.set("prevResult", prevResult.deepCopy());
    } else {
      conf.remove("prevResult");
    }
    // runtimeConfig is the runtime's to fill: only declared capabilities, only with our values.
    conf.remove("runtimeConfig");
    ObjectNode runtimeConfig = JSON.createObjectNode();
    JsonNode caps = plugin.path("capabilities");
    capabilityArgs.forEach(
        (cap, value) -> {
          if (caps.path(cap).asBoolean(false)) {
            runtimeConfig.set(cap, value.deepCopy());
          }
        });
    if (!runtimeConfig.isEmpty()) {
      conf.set("runtimeConfig", runtimeConfig);
    }
    return conf;
  }

  private static byte[] stdin(
      CniConfigList config, ObjectNode plugin, JsonNode prevResult, Map<String, JsonNode> caps) {
    return bytes(injected(config, plugin, prevResult, caps));
  }

  private static byte[] bytes(JsonNode node) {
    try {
      return JSON.writeValueAsBytes(node);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new CniException("cannot serialise plugin config: " + e.getMessage(), e);
    }
  }

  static Map<String, JsonNode> capabilityArgs(RuntimeConf rt) {
    Map<String, JsonNode> caps = new HashMap<>();
    ArrayNode ports = JSON.createArrayNode();
    rt.portMappings().forEach(p -> ports.add(p.toJson()));
    caps.put(PORT_MAPPINGS, ports);
    return caps;
  }

  private static Map<String, String> attachmentEnv(RuntimeConf rt) {
    Map<String, String> env = new HashMap<>();
    env.put("CNI_CONTAINERID", rt.containerId());
    env.put("CNI_NETNS", rt.netnsPath());
    env.put("CNI_IFNAME", rt.ifName());
    env.put("CNI_ARGS", rt.cniArgs());
    return env;
  }

  private static void requireAttachment(RuntimeConf rt, String command) {
    if (rt.containerId().isBlank()) {
      throw new CniException(command + ": containerId is required");
    }
    String ifn = rt.ifName();
    if (ifn.isEmpty()
        || ifn.length() > 15
        || ifn.equals(".")
        || ifn.equals("..")
        || ifn.chars().anyMatch(c -> c == '/' || c == ':' || Character.isWhitespace(c))) {
      throw new CniException(
          command
              + ": ifName \""
              + ifn
              + "\" is not a valid interface name (1-15 characters, no"
              + " '/', ':' or spaces)");
    }
  }

  private static String describe(CniConfigList config, RuntimeConf rt) {
    return "network \""
        + config.name()
        + "\", container "
        + rt.containerId()
        + ", interface "
        + rt.ifName();
  }
}
