package io.spawnlet.agent.pod;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import io.fabric8.kubernetes.api.model.Pod;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;

/**
 * Reads Pod manifests: {@code .yaml}/{@code .yml} (several documents per file) and {@code .json}.
 * Each document must be {@code apiVersion: v1, kind: Pod} with a name; empty documents are skipped.
 */
public final class ManifestFiles {
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final ObjectMapper JSON =
      new ObjectMapper()
          .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false)
          .configure(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS, true);

  private final String nodeName;

  public ManifestFiles(String nodeName) {
    this.nodeName = nodeName;
  }

  /** Whether the agent reads this file (by its name; hidden and editor files are ignored). */
  public static boolean isManifest(Path file) {
    String name = file.getFileName().toString();
    String lower = name.toLowerCase(Locale.ROOT);
    return !name.startsWith(".")
        && (lower.endsWith(".yaml") || lower.endsWith(".yml") || lower.endsWith(".json"));
  }

  /**
   * The pods of one file, in document order.
   *
   * @throws PodRefusedException naming the file and document when one cannot be read as a Pod
   */
  public List<StaticPod> read(Path file) throws IOException {
    String text = Files.readString(file, StandardCharsets.UTF_8);
    List<JsonNode> documents = new ArrayList<>();
    try (YAMLParser parser = ((YAMLFactory) YAML.getFactory()).createParser(text)) {
      var it = YAML.readValues(parser, JsonNode.class);
      while (it.hasNextValue()) {
        JsonNode doc = it.nextValue();
        if (doc != null && !doc.isNull() && !doc.isMissingNode()) {
          documents.add(doc);
        }
      }
    } catch (IOException e) {
      throw new PodRefusedException(file.toString(), "not valid YAML/JSON: " + e.getMessage());
    }
    List<StaticPod> pods = new ArrayList<>();
    for (int i = 0; i < documents.size(); i++) {
      JsonNode doc = documents.get(i);
      String where = file + (documents.size() > 1 ? " (document " + (i + 1) + ")" : "");
      if (!"Pod".equals(doc.path("kind").asText())
          || !"v1".equals(doc.path("apiVersion").asText())) {
        throw new PodRefusedException(
            where,
            "apiVersion/kind is '"
                + doc.path("apiVersion").asText()
                + "/"
                + doc.path("kind").asText()
                + "': only v1/Pod manifests are static pods");
      }
      Pod pod;
      try {
        pod = JSON.treeToValue(doc, Pod.class);
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        throw new PodRefusedException(where, "not a valid Pod: " + e.getOriginalMessage());
      }
      if (pod.getMetadata() == null
          || pod.getMetadata().getName() == null
          || pod.getMetadata().getName().isEmpty()) {
        throw new PodRefusedException(where + " metadata.name", "a static pod needs a name");
      }
      pods.add(new StaticPod(pod, uid(file, doc), file));
    }
    return pods;
  }

  /**
   * Like the kubelet: a hash of the pod's content, the node name and the source, so the same
   * manifest keeps its uid across agent restarts and any edit gives a new pod.
   */
  private String uid(Path file, JsonNode doc) throws IOException {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      sha.update(JSON.writeValueAsBytes(JSON.treeToValue(doc, Object.class)));
      sha.update((byte) 0);
      sha.update(nodeName.getBytes(StandardCharsets.UTF_8));
      sha.update((byte) 0);
      sha.update(file.toAbsolutePath().normalize().toString().getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(sha.digest(), 0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JDK", e);
    }
  }
}
