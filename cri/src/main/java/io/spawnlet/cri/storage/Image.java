package io.spawnlet.cri.storage;

import java.util.List;

/**
 * An image in the store.
 *
 * @param id the config digest's hex: the image id (CRI shows it as {@code sha256:<id>})
 * @param repoTags normalised {@code name:tag} references
 * @param repoDigests normalised {@code name@sha256:<manifest digest>} references
 * @param diffIds the layers' diffIDs, bottom layer first (as in rootfs.diff_ids)
 * @param config the runtime settings from the config
 * @param configJson the config document exactly as imported (its sha256 is the id)
 * @param size bytes of the layers (compressed, as a registry reports image size)
 * @param created the config's {@code created} timestamp (RFC 3339), or "" if it has none
 */
public record Image(
    String id,
    List<String> repoTags,
    List<String> repoDigests,
    List<String> diffIds,
    ImageConfig config,
    String configJson,
    long size,
    String created) {

  public Image {
    new Digest(id); // validates: the id is used as a file name
    repoTags = List.copyOf(repoTags);
    repoDigests = List.copyOf(repoDigests);
    diffIds = List.copyOf(diffIds);
  }

  /** {@code sha256:<id>}, the form CRI uses for image ids. */
  public String digestId() {
    return "sha256:" + id;
  }

  Image withReferences(List<String> tags, List<String> digests) {
    return new Image(id, tags, digests, diffIds, config, configJson, size, created);
  }
}
