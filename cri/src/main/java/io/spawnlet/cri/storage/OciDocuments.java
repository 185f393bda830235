package io.spawnlet.cri.storage;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.spawnlet.cri.CriException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The OCI (and Docker v2) documents an image is made of: index/manifest list, manifest, config.
 * Shared by the layout importer and the registry puller.
 */
public final class OciDocuments {
  public static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
  public static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
  public static final String DOCKER_LIST =
      "application/vnd.docker.distribution.manifest.list.v2+json";
  public static final String DOCKER_MANIFEST =
      "application/vnd.docker.distribution.manifest.v2+json";
  public static final String REF_NAME = "org.opencontainers.image.ref.name";
  static final ObjectMapper JSON = new ObjectMapper();

  private OciDocuments() {}

  /** A content descriptor. */
  public record Descriptor(
      String mediaType,
      Digest digest,
      long size,
      Map<String, String> annotations,
      String os,
      String architecture) {
    static Descriptor of(JsonNode d) {
      Map<String, String> annotations = new TreeMap<>();
      d.path("annotations")
          .properties()
          .forEach(e -> annotations.put(e.getKey(), e.getValue().asText()));
      return new Descriptor(
          d.path("mediaType").asText(""),
          Digest.parse("descriptor.digest", d.path("digest").asText(null)),
          d.path("size").asLong(-1),
          annotations,
          d.path("platform").path("os").asText(""),
          d.path("platform").path("architecture").asText(""));
    }

    public boolean isIndex() {
      return mediaType.equals(OCI_INDEX) || mediaType.equals(DOCKER_LIST);
    }
  }

  /** An image manifest: one config, layers bottom first. */
  public record Manifest(Descriptor config, List<Descriptor> layers) {}

  public static JsonNode parse(String what, byte[] json) {
    try {
      return JSON.readTree(json);
    } catch (IOException e) {
      throw CriException.invalid(what, "not valid JSON: " + e.getMessage());
    }
  }

  /** Descriptors of an index or manifest list. */
  public static List<Descriptor> indexEntries(byte[] index) {
    List<Descriptor> result = new ArrayList<>();
    parse("index", index).path("manifests").forEach(d -> result.add(Descriptor.of(d)));
    return result;
  }

  /** Whether a document (with or without a media type field) is an index rather than a manifest. */
  public static boolean isIndexDocument(byte[] document) {
    JsonNode node = parse("manifest", document);
    String mediaType = node.path("mediaType").asText("");
    return mediaType.equals(OCI_INDEX)
        || mediaType.equals(DOCKER_LIST)
        || (mediaType.isEmpty() && node.has("manifests"));
  }

  /** The linux/amd64 entry of an index, the platform spawnlet runs. */
  public static Descriptor selectPlatform(List<Descriptor> entries) {
    return entries.stream()
        .filter(d -> d.os().equals("linux") && d.architecture().equals("amd64"))
        .findFirst()
        .or(
            () ->
                entries.size() == 1 && entries.get(0).os().isEmpty()
                    ? Optional.of(entries.get(0))
                    : Optional.empty())
        .orElseThrow(
            () ->
                CriException.invalid(
                    "image",
                    "the image index has no linux/amd64 manifest (platforms: "
                        + entries.stream().map(d -> d.os() + "/" + d.architecture()).toList()
                        + ")"));
  }

  public static Manifest manifest(byte[] document) {
    JsonNode node = parse("manifest", document);
    if (!node.has("config") || !node.path("layers").isArray()) {
      throw CriException.invalid("manifest", "not an image manifest (no config or layers)");
    }
    List<Descriptor> layers = new ArrayList<>();
    node.path("layers").forEach(l -> layers.add(Descriptor.of(l)));
    return new Manifest(Descriptor.of(node.path("config")), layers);
  }

  /** The diffIDs of a config document, bottom layer first. */
  public static List<Digest> diffIds(JsonNode config) {
    List<Digest> result = new ArrayList<>();
    config
        .path("rootfs")
        .path("diff_ids")
        .forEach(d -> result.add(Digest.parse("rootfs.diff_ids", d.asText())));
    return result;
  }

  /**
   * Builds the store's record for an image whose layers are all in place.
   *
   * @param size bytes of the layers as stored in the registry/layout (sum of layer sizes)
   */
  public static Image image(
      byte[] configJson, List<String> repoTags, List<String> repoDigests, long size) {
    JsonNode config = parse("config", configJson);
    return new Image(
        Digest.of(configJson).hex(),
        repoTags,
        repoDigests,
        diffIds(config).stream().map(Digest::toString).toList(),
        ImageConfig.fromConfigDocument(config),
        new String(configJson, java.nio.charset.StandardCharsets.UTF_8),
        size,
        config.path("created").asText(""));
  }
}
