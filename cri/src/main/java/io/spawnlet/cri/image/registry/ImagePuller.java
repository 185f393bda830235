package io.spawnlet.cri.image.registry;

import io.spawnlet.cri.CriException;
import io.spawnlet.cri.CriException.Kind;
import io.spawnlet.cri.config.RegistryHostConfig;
import io.spawnlet.cri.storage.Compression;
import io.spawnlet.cri.storage.Digest;
import io.spawnlet.cri.storage.Image;
import io.spawnlet.cri.storage.ImageReference;
import io.spawnlet.cri.storage.ImageStore;
import io.spawnlet.cri.storage.Layer;
import io.spawnlet.cri.storage.LayerStore;
import io.spawnlet.cri.storage.OciDocuments;
import io.spawnlet.cri.storage.OciDocuments.Descriptor;
import io.spawnlet.cri.storage.OciDocuments.Manifest;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pulls an image from a registry into the local store:
 *
 * <ol>
 *   <li>resolve the reference to endpoints (mirrors first) and credentials;
 *   <li>fetch the manifest (by tag or digest, verifying a digest), descending through an index or
 *       manifest list to its linux/amd64 entry;
 *   <li>fetch and verify the config;
 *   <li>fetch each layer not already stored, streamed straight into {@link LayerStore}, which
 *       verifies digest and diffID while unpacking and renames the layer into place only when
 *       complete; concurrent pulls needing the same layer share one download;
 *   <li>write the image record last, so an interrupted pull never leaves a half image.
 * </ol>
 */
public final class ImagePuller {
  private static final Logger LOG = LoggerFactory.getLogger(ImagePuller.class);
  private static final int MAX_INDEX_DEPTH = 4;

  private final ImageStore images;
  private final LayerStore layers;
  private final Map<String, RegistryHostConfig> registries;
  private final AuthFile authFile;
  private final HttpClient http;

  /** One client per configured CA file: each trusts the system roots plus that file's CAs. */
  private final ConcurrentHashMap<Path, HttpClient> httpWithCa = new ConcurrentHashMap<>();

  private final ConcurrentHashMap<Digest, CompletableFuture<Layer>> inFlight =
      new ConcurrentHashMap<>();

  public ImagePuller(
      ImageStore images, Map<String, RegistryHostConfig> registries, AuthFile authFile) {
    this.images = images;
    this.layers = images.layers();
    this.registries = Map.copyOf(registries);
    this.authFile = authFile;
    this.http = RegistryClient.newHttpClient();
  }

  /**
   * Pulls {@code reference}; {@code credentials} from the CRI request win over the auth file.
   * Returns the stored image.
   */
  public Image pull(String reference, Optional<Credentials> credentials) {
    ImageReference ref = ImageReference.parse(reference);
    List<RegistryEndpoint> endpoints = RegistryEndpoint.of(ref.registry(), registries);
    CriException last = null;
    for (RegistryEndpoint endpoint : endpoints) {
      Credentials creds =
          credentials
              .filter(c -> !c.isAnonymous())
              .or(() -> lookupAuth(endpoint.host(), ref.repository()))
              .orElse(Credentials.ANONYMOUS);
      RegistryClient client =
          new RegistryClient(httpFor(endpoint), endpoint, ref.repository(), creds);
      try {
        return pullFrom(client, ref);
      } catch (CriException e) {
        if (!endpoint.mirror()) {
          throw e;
        }
        LOG.warn("pull {}: mirror {} failed, trying the next: {}", ref, endpoint, e.getMessage());
        last = e;
      }
    }
    throw last; // not reached: the host itself is always the last endpoint
  }

  private HttpClient httpFor(RegistryEndpoint endpoint) {
    if (endpoint.caFile().isEmpty()) {
      return http;
    }
    Path ca = endpoint.caFile().get();
    return httpWithCa.computeIfAbsent(
        ca,
        path ->
            RegistryClient.newHttpClient(
                path, "registries.\"" + endpoint.base().getAuthority() + "\".caFile"));
  }

  private Optional<Credentials> lookupAuth(String host, String repository) {
    try {
      return authFile.lookup(host, repository);
    } catch (IllegalArgumentException e) {
      throw CriException.invalid("registryAuthFile", e.getMessage());
    }
  }

  private Image pullFrom(RegistryClient client, ImageReference ref) {
    long started = System.nanoTime();
    String first = ref.digest().map(Digest::toString).orElseGet(() -> ref.tag().orElseThrow());
    LOG.info("pull {}: from {}", ref, client.endpoint());
    RegistryClient.Fetched document = client.manifest(first);
    ref.digest().ifPresent(d -> verify("manifest", ref, d, document.digest()));
    Digest repoDigest = document.digest();
    RegistryClient.Fetched current = document;
    int depth = 0;
    while (isIndex(current)) {
      if (++depth > MAX_INDEX_DEPTH) {
        throw CriException.invalid(
            "image", ref + ": indexes nested deeper than " + MAX_INDEX_DEPTH);
      }
      Descriptor chosen;
      try {
        chosen = OciDocuments.selectPlatform(OciDocuments.indexEntries(current.content()));
      } catch (CriException e) {
        throw new CriException(
            Kind.NOT_FOUND,
            "pull "
                + ref
                + ": "
                + e.getMessage()
                + "; spawnlet runs linux/amd64 images only: push one for that platform");
      }
      RegistryClient.Fetched next = client.manifest(chosen.digest().toString());
      verify("manifest", ref, chosen.digest(), next.digest());
      current = next;
    }
    checkManifestType(ref, current);
    Manifest manifest = OciDocuments.manifest(current.content());
    byte[] config = readBlob(client, ref, manifest.config().digest());
    List<Digest> diffIds = OciDocuments.diffIds(OciDocuments.parse("config", config));
    if (diffIds.size() != manifest.layers().size()) {
      throw CriException.invalid(
          "config.rootfs.diff_ids",
          ref + ": " + diffIds.size() + " entries for " + manifest.layers().size() + " layers");
    }
    List<Compression> compressions = new ArrayList<>();
    for (Descriptor layer : manifest.layers()) {
      try {
        compressions.add(Compression.fromMediaType(layer.mediaType()));
      } catch (CriException e) {
        throw CriException.invalid(
            "image", "pull " + ref + ": layer " + layer.digest() + ": " + e.getMessage());
      }
    }
    long size = 0;
    for (int i = 0; i < manifest.layers().size(); i++) {
      Descriptor layer = manifest.layers().get(i);
      fetchLayer(
          client, ref, i, manifest.layers().size(), layer, compressions.get(i), diffIds.get(i));
      size += Math.max(layer.size(), 0);
    }
    Image image =
        OciDocuments.image(
            config, ref.repoTag().stream().toList(), List.of(ref.repoDigest(repoDigest)), size);
    Image stored = images.put(image);
    LOG.info(
        "pull {}: done, image {} ({} bytes in {} layers) in {} ms",
        ref,
        stored.digestId(),
        size,
        manifest.layers().size(),
        (System.nanoTime() - started) / 1_000_000);
    return stored;
  }

  private static boolean isIndex(RegistryClient.Fetched f) {
    return f.mediaType().equals(OciDocuments.OCI_INDEX)
        || f.mediaType().equals(OciDocuments.DOCKER_LIST)
        || (!f.mediaType().equals(OciDocuments.OCI_MANIFEST)
            && !f.mediaType().equals(OciDocuments.DOCKER_MANIFEST)
            && OciDocuments.isIndexDocument(f.content()));
  }

  private static void checkManifestType(ImageReference ref, RegistryClient.Fetched f) {
    String type = f.mediaType();
    if (type.startsWith("application/vnd.docker.distribution.manifest.v1")) {
      throw CriException.invalid(
          "image",
          "pull "
              + ref
              + ": the registry serves a Docker schema 1 manifest ("
              + type
              + "), which spawnlet does not support; push the image again as Docker schema 2 or"
              + " OCI");
    }
    if (!type.isEmpty()
        && !type.equals(OciDocuments.OCI_MANIFEST)
        && !type.equals(OciDocuments.DOCKER_MANIFEST)
        && !type.equals("application/json")
        && !type.equals("application/octet-stream")) {
      throw CriException.invalid(
          "image",
          "pull "
              + ref
              + ": unsupported manifest media type \""
              + type
              + "\"; expected "
              + OciDocuments.OCI_MANIFEST
              + " or "
              + OciDocuments.DOCKER_MANIFEST);
    }
  }

  private static byte[] readBlob(RegistryClient client, ImageReference ref, Digest digest) {
    try (InputStream in = client.blob(digest)) {
      byte[] content = in.readAllBytes();
      verify("config", ref, digest, Digest.of(content));
      return content;
    } catch (IOException e) {
      throw new CriException(
          Kind.UNAVAILABLE, "pull " + ref + ": reading blob " + digest + ": " + e, e);
    }
  }

  private static void verify(String what, ImageReference ref, Digest expected, Digest actual) {
    if (!expected.equals(actual)) {
      throw new CriException(
          Kind.DATA_LOSS,
          "pull "
              + ref
              + ": "
              + what
              + " content has digest "
              + actual
              + " but "
              + expected
              + " was expected; the registry's copy is corrupt or was changed (nothing was"
              + " stored)");
    }
  }

  /** Stores one layer, downloading it unless it is here or another pull is downloading it. */
  private Layer fetchLayer(
      RegistryClient client,
      ImageReference ref,
      int index,
      int count,
      Descriptor layer,
      Compression compression,
      Digest diffId) {
    Optional<Layer> present = layers.get(diffId);
    if (present.isPresent()) {
      LOG.info("pull {}: layer {}/{} {} already present", ref, index + 1, count, layer.digest());
      return present.get();
    }
    CompletableFuture<Layer> mine = new CompletableFuture<>();
    CompletableFuture<Layer> running = inFlight.putIfAbsent(diffId, mine);
    if (running != null) {
      LOG.info(
          "pull {}: layer {}/{} {} is being downloaded by another pull; waiting",
          ref,
          index + 1,
          count,
          layer.digest());
      try {
        return running.join();
      } catch (CompletionException e) {
        // the other pull failed: its error is about its registry; try ours
        LOG.info("pull {}: the other download of {} failed; downloading", ref, layer.digest());
        return fetchLayer(client, ref, index, count, layer, compression, diffId);
      }
    }
    try {
      Layer result = download(client, ref, index, count, layer, compression, diffId);
      mine.complete(result);
      return result;
    } catch (RuntimeException e) {
      mine.completeExceptionally(e);
      throw e;
    } finally {
      inFlight.remove(diffId, mine);
    }
  }

  private Layer download(
      RegistryClient client,
      ImageReference ref,
      int index,
      int count,
      Descriptor layer,
      Compression compression,
      Digest diffId) {
    String label = "pull " + ref + ": layer " + (index + 1) + "/" + count + " " + layer.digest();
    LOG.info("{}: downloading {} bytes ({})", label, layer.size(), compression);
    MessageDigest sha = Digest.newSha256();
    try (InputStream blob =
        new DigestInputStream(
            new ProgressStream(client.blob(layer.digest()), label, layer.size()), sha)) {
      try {
        return layers.ensureLayer(
            blob, compression, Optional.of(layer.digest()), Optional.of(diffId));
      } catch (CriException e) {
        // A corrupt blob usually breaks the decompressor or the tar reader before the digest can
        // be compared: read the rest, and if the digest is wrong, say that (it is the cause).
        Optional<Digest> actual = restDigest(blob, sha);
        if (actual.isPresent() && !actual.get().equals(layer.digest())) {
          throw new CriException(
              Kind.DATA_LOSS,
              label
                  + " from "
                  + client.endpoint()
                  + ": content has digest "
                  + actual.get()
                  + " but "
                  + layer.digest()
                  + " was expected; the registry's copy is corrupt (nothing was stored)",
              e);
        }
        if (e.getMessage() != null && e.getMessage().contains("was expected")) {
          throw new CriException(
              Kind.DATA_LOSS, label + " from " + client.endpoint() + ": " + e.getMessage(), e);
        }
        throw e;
      }
    } catch (IOException e) {
      throw new CriException(Kind.UNAVAILABLE, label + ": " + e, e);
    }
  }

  /** The digest of the whole blob, reading what the unpacker left; empty if the download broke. */
  private static Optional<Digest> restDigest(InputStream blob, MessageDigest sha) {
    try {
      blob.transferTo(OutputStream.nullOutputStream());
      return Optional.of(Digest.of(sha));
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }
}
