package io.spawnlet.cri.storage;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** The runtime part of an OCI image config ({@code config} in the config JSON). */
public record ImageConfig(
    List<String> env,
    List<String> entrypoint,
    List<String> cmd,
    String workingDir,
    String user,
    Map<String, String> labels,
    String stopSignal,
    Set<String> exposedPorts,
    Set<String> volumes) {

  /** Reads the {@code config} object of an OCI/Docker image config document. */
  public static ImageConfig fromConfigDocument(JsonNode document) {
    JsonNode c = document.path("config");
    return new ImageConfig(
        strings(c.path("Env")),
        strings(c.path("Entrypoint")),
        strings(c.path("Cmd")),
        c.path("WorkingDir").asText(""),
        c.path("User").asText(""),
        map(c.path("Labels")),
        c.path("StopSignal").asText(""),
        keys(c.path("ExposedPorts")),
        keys(c.path("Volumes")));
  }

  private static List<String> strings(JsonNode node) {
    List<String> result = new ArrayList<>();
    node.forEach(n -> result.add(n.asText()));
    return List.copyOf(result);
  }

  private static Map<String, String> map(JsonNode node) {
    Map<String, String> result = new LinkedHashMap<>();
    node.properties().forEach(e -> result.put(e.getKey(), e.getValue().asText()));
    return result;
  }

  private static Set<String> keys(JsonNode node) {
    Set<String> result = new TreeSet<>();
    node.fieldNames().forEachRemaining(result::add);
    return result;
  }
}
