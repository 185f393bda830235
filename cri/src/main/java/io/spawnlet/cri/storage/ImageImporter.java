package io.spawnlet.cri.storage;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.spawnlet.cri.CriException;
import io.spawnlet.cri.storage.OciDocuments.Descriptor;
import io.spawnlet.cri.storage.OciDocuments.Manifest;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code spawnlet image import SRC --name REF}. SRC is one of:
 *
 * <ul>
 *   <li>an OCI image layout directory, optionally {@code DIR:tag} to pick the manifest whose {@code
 *       org.opencontainers.image.ref.name} is tag (what {@code skopeo copy ... oci:DIR:tag} and
 *       umoci write); a layout with a single manifest needs no tag;
 *   <li>an OCI layout tar ({@code oci-archive}), also with an optional {@code :tag};
 *   <li>a rootfs directory (debootstrap, mmdebstrap): one layer, a generated config;
 *   <li>a rootfs tarball ({@code .tar}, {@code .tar.gz}, {@code .tar.zst}; compression is sniffed).
 * </ul>
 *
 * Index entries resolve to linux/amd64; every blob's digest is verified.
 */
public final class ImageImporter {
  private static final Logger LOG = LoggerFactory.getLogger(ImageImporter.class);
  private static final String DEFAULT_PATH =
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

  private final ImageStore images;
  private final LayerStore layers;
  private final Path scratch;

  /** {@code scratch} holds unpacked OCI archives while importing (on the store's filesystem). */
  public ImageImporter(ImageStore images, Path scratch) {
    this.images = images;
    this.layers = images.layers();
    this.scratch = scratch.toAbsolutePath();
  }

  /** Imports {@code source} and tags it {@code name}; returns the stored image. */
  public Image importImage(String source, String name) {
    ImageReference ref = ImageReference.parse(name);
    Path path = Path.of(source);
    Optional<String> tag = Optional.empty();
    if (!Files.exists(path)) {
      int colon = source.lastIndexOf(':');
      if (colon > 0 && Files.exists(Path.of(source.substring(0, colon)))) {
        path = Path.of(source.substring(0, colon));
        tag = Optional.of(source.substring(colon + 1));
      } else {
        throw CriException.invalid(
            "source", "\"" + source + "\" does not exist (expected DIR[:tag], FILE.tar[.gz|.zst])");
      }
    }
    try {
      if (Files.isDirectory(path)) {
        if (Files.exists(path.resolve("oci-layout")) && Files.exists(path.resolve("index.json"))) {
          return importLayout(path, tag, ref);
        }
        if (tag.isPresent()) {
          throw CriException.invalid(
              "source", path + " is not an OCI layout (no oci-layout file), so :tag means nothing");
        }
        return importRootfsDirectory(path, ref);
      }
      if (isOciArchive(path)) {
        return importArchive(path, tag, ref);
      }
      return importRootfsTarball(path, ref);
    } catch (IOException e) {
      throw CriException.internal("importing " + source + ": " + e, e);
    }
  }

  private Image importLayout(Path dir, Optional<String> tag, ImageReference ref)
      throws IOException {
    List<Descriptor> entries =
        OciDocuments.indexEntries(Files.readAllBytes(dir.resolve("index.json")));
    Descriptor chosen;
    if (tag.isPresent()) {
      chosen =
          entries.stream()
              .filter(d -> tag.get().equals(d.annotations().get(OciDocuments.REF_NAME)))
              .findFirst()
              .orElseThrow(
                  () ->
                      CriException.invalid(
                          "source",
                          "no manifest tagged \""
                              + tag.get()
                              + "\" in "
                              + dir
                              + " (tags: "
                              + entries.stream()
                                  .map(d -> d.annotations().get(OciDocuments.REF_NAME))
                                  .toList()
                              + ")"));
    } else if (entries.size() == 1) {
      chosen = entries.get(0);
    } else {
      chosen = OciDocuments.selectPlatform(entries);
    }
    byte[] document = readBlob(dir, chosen.digest());
    while (chosen.isIndex() || OciDocuments.isIndexDocument(document)) {
      chosen = OciDocuments.selectPlatform(OciDocuments.indexEntries(document));
      document = readBlob(dir, chosen.digest());
    }
    Digest manifestDigest = chosen.digest();
    Manifest manifest = OciDocuments.manifest(document);
    byte[] config = readBlob(dir, manifest.config().digest());
    List<Digest> diffIds = OciDocuments.diffIds(OciDocuments.parse("config", config));
    if (diffIds.size() != manifest.layers().size()) {
      throw CriException.invalid(
          "config.rootfs.diff_ids",
          "has " + diffIds.size() + " entries for " + manifest.layers().size() + " layers");
    }
    long size = 0;
    for (int i = 0; i < manifest.layers().size(); i++) {
      Descriptor layer = manifest.layers().get(i);
      LOG.info(
          "importing layer {}/{} {} ({} bytes)",
          i + 1,
          manifest.layers().size(),
          layer.digest(),
          layer.size());
      try (InputStream blob = Files.newInputStream(blobPath(dir, layer.digest()))) {
        layers.ensureLayer(
            blob,
            Compression.fromMediaType(layer.mediaType()),
            Optional.of(layer.digest()),
            Optional.of(diffIds.get(i)));
      }
      size += Math.max(layer.size(), 0);
    }
    Image image =
        OciDocuments.image(
            config, ref.repoTag().stream().toList(), List.of(ref.repoDigest(manifestDigest)), size);
    return store(image);
  }

  private Image importArchive(Path archive, Optional<String> tag, ImageReference ref)
      throws IOException {
    Files.createDirectories(scratch);
    Path dir = scratch.resolve("oci-archive-" + UUID.randomUUID());
    Files.createDirectory(dir);
    try {
      try (TarArchiveInputStream tar = openTar(archive)) {
        TarArchiveEntry entry;
        while ((entry = tar.getNextEntry()) != null) {
          // a layout holds only plain files and directories: anything else is ignored
          if (!entry.isFile()) {
            continue;
          }
          List<String> components = LayerExtractor.components(entry.getName());
          Path target = dir;
          for (String c : components) {
            target = target.resolve(c);
          }
          Files.createDirectories(target.getParent());
          try (OutputStream out =
              Files.newOutputStream(
                  target, StandardOpenOption.CREATE_NEW, LinkOption.NOFOLLOW_LINKS)) {
            tar.transferTo(out);
          }
        }
      }
      return importLayout(dir, tag, ref);
    } finally {
      FileTrees.delete(dir);
    }
  }

  private Image importRootfsDirectory(Path dir, ImageReference ref) throws IOException {
    LOG.info("importing rootfs directory {} as one layer", dir);
    Layer layer;
    try (InputStream tar = DirectoryTar.stream(dir)) {
      layer = layers.ensureLayer(tar, Compression.NONE, Optional.empty(), Optional.empty());
    }
    return store(rootfsImage(layer, ref));
  }

  private Image importRootfsTarball(Path file, ImageReference ref) throws IOException {
    LOG.info("importing rootfs tarball {} as one layer", file);
    Layer layer;
    try (BufferedInputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
      layer = layers.ensureLayer(in, Compression.detect(in), Optional.empty(), Optional.empty());
    }
    return store(rootfsImage(layer, ref));
  }

  private Image rootfsImage(Layer layer, ImageReference ref) throws IOException {
    boolean hasInit = Files.exists(layer.diff().resolve("sbin/init"), LinkOption.NOFOLLOW_LINKS);
    ObjectNode config = OciDocuments.JSON.createObjectNode();
    config.put("created", Instant.now().toString());
    config.put("architecture", "amd64");
    config.put("os", "linux");
    ObjectNode runtime = config.putObject("config");
    runtime.putArray("Env").add(DEFAULT_PATH);
    runtime.putArray("Cmd").add(hasInit ? "/sbin/init" : "/bin/sh");
    ObjectNode rootfs = config.putObject("rootfs");
    rootfs.put("type", "layers");
    ArrayNode diffIds = rootfs.putArray("diff_ids");
    diffIds.add(layer.diffId().toString());
    config.putArray("history").addObject().put("created_by", "spawnlet image import");
    byte[] bytes = OciDocuments.JSON.writeValueAsBytes(config);
    return OciDocuments.image(
        bytes, ref.repoTag().stream().toList(), List.of(), layer.compressedSize());
  }

  private Image store(Image image) {
    Image stored = images.put(image);
    LOG.info("imported image {} as {}", stored.digestId(), stored.repoTags());
    return stored;
  }

  private static boolean isOciArchive(Path file) throws IOException {
    try (TarArchiveInputStream tar = openTar(file)) {
      TarArchiveEntry entry;
      int seen = 0;
      while ((entry = tar.getNextEntry()) != null && seen++ < 10_000) {
        String name =
            entry.getName().startsWith("./") ? entry.getName().substring(2) : entry.getName();
        if (name.equals("oci-layout")) {
          return true;
        }
      }
      return false;
    } catch (IOException e) {
      return false;
    }
  }

  private static TarArchiveInputStream openTar(Path file) throws IOException {
    BufferedInputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
    return new TarArchiveInputStream(Compression.detect(in).decompress(in), "UTF-8");
  }

  private static Path blobPath(Path layout, Digest digest) {
    return layout.resolve("blobs").resolve("sha256").resolve(digest.hex());
  }

  /** Reads a small blob (index, manifest, config) and checks its digest. */
  private static byte[] readBlob(Path layout, Digest digest) throws IOException {
    MessageDigest sha = Digest.newSha256();
    byte[] content;
    try (InputStream in =
        new DigestInputStream(Files.newInputStream(blobPath(layout, digest)), sha)) {
      content = in.readAllBytes();
    }
    Digest actual = Digest.of(sha);
    if (!actual.equals(digest)) {
      throw CriException.invalid(
          "blob", blobPath(layout, digest) + " has digest " + actual + ", expected " + digest);
    }
    return content;
  }
}
