package io.spawnlet.cri.storage;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.spawnlet.cri.CriException;
import io.spawnlet.cri.store.AtomicFiles;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Images, one JSON file each: {@code root/images/<id>.json}. The files are the truth — a CLI
 * process may import while the daemon runs — so every read goes to disk (they are small) and every
 * change happens under {@code root/locks/images.lock}. Layers are shared between images and deleted
 * when the last image that references them goes.
 */
public final class ImageStore {
  private static final Logger LOG = LoggerFactory.getLogger(ImageStore.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path images;
  private final Path lockFile;
  private final LayerStore layers;

  public ImageStore(Path root, LayerStore layers) {
    Path abs = root.toAbsolutePath();
    this.images = abs.resolve("images");
    this.lockFile = abs.resolve("locks").resolve("images.lock");
    this.layers = layers;
    try {
      Files.createDirectories(images);
    } catch (IOException e) {
      throw CriException.internal("cannot open image store " + images + ": " + e, e);
    }
  }

  public LayerStore layers() {
    return layers;
  }

  /** Every image, in no particular order. */
  public List<Image> list() {
    List<Image> result = new ArrayList<>();
    try (DirectoryStream<Path> files = Files.newDirectoryStream(images, "*.json")) {
      for (Path file : files) {
        String name = file.getFileName().toString();
        if (Digest.isHex(name.substring(0, name.length() - ".json".length()))) {
          read(file).ifPresent(result::add);
        }
      }
    } catch (IOException e) {
      throw CriException.internal("listing images in " + images + ": " + e, e);
    }
    return result;
  }

  /**
   * Finds an image the way containerd resolves one: by a reference as given (a repo tag or repo
   * digest), by its normalised form ({@code busybox} → {@code docker.io/library/busybox:latest}),
   * by id ({@code sha256:<hex>} or {@code <hex>}), or by an unambiguous id prefix of at least 3 hex
   * digits.
   */
  public Optional<Image> find(String ref) {
    if (ref == null || ref.isEmpty()) {
      return Optional.empty();
    }
    List<Image> all = list();
    String id = ref.startsWith("sha256:") ? ref.substring(7) : ref;
    if (Digest.isHex(id)) {
      Optional<Image> byId = all.stream().filter(i -> i.id().equals(id)).findFirst();
      if (byId.isPresent()) {
        return byId;
      }
    }
    Optional<Image> byRef = byReference(all, ref);
    if (byRef.isPresent()) {
      return byRef;
    }
    try {
      Optional<Image> normalised = byReference(all, ImageReference.parse(ref).toString());
      if (normalised.isPresent()) {
        return normalised;
      }
    } catch (CriException notAReference) {
      // fall through to the id prefix
    }
    if (id.length() >= 3 && id.matches("[a-f0-9]+")) {
      List<Image> matches = all.stream().filter(i -> i.id().startsWith(id)).toList();
      if (matches.size() == 1) {
        return Optional.of(matches.get(0));
      }
    }
    return Optional.empty();
  }

  private static Optional<Image> byReference(List<Image> all, String ref) {
    return all.stream()
        .filter(i -> i.repoTags().contains(ref) || i.repoDigests().contains(ref))
        .findFirst();
  }

  /**
   * Stores an image whose layers are all in the layer store. An image already stored under the same
   * id gains the new references; a tag held by another image moves to this one (the other stays,
   * perhaps untagged, until removed).
   */
  public Image put(Image image) {
    for (String diffId : image.diffIds()) {
      if (layers.get(Digest.parse("diffId", diffId)).isEmpty()) {
        throw CriException.precondition(
            "image "
                + image.id()
                + ": layer "
                + diffId
                + " is not in the layer store; store it first");
      }
    }
    try (StoreLock lock = StoreLock.acquire(lockFile)) {
      for (Image other : list()) {
        if (other.id().equals(image.id())) {
          continue;
        }
        List<String> keptTags =
            other.repoTags().stream().filter(t -> !image.repoTags().contains(t)).toList();
        if (keptTags.size() != other.repoTags().size()) {
          LOG.info("moving tags {} from image {} to {}", image.repoTags(), other.id(), image.id());
          write(other.withReferences(keptTags, other.repoDigests()));
        }
      }
      Image merged = image;
      Optional<Image> existing = read(fileOf(image.id()));
      if (existing.isPresent()) {
        merged =
            image.withReferences(
                union(existing.get().repoTags(), image.repoTags()),
                union(existing.get().repoDigests(), image.repoDigests()));
      }
      write(merged);
      return merged;
    } catch (IOException e) {
      throw CriException.internal("storing image " + image.id() + ": " + e, e);
    }
  }

  /**
   * Removes {@code ref}. If it names a reference (a tag or digest) of an image that keeps another
   * tag, only that reference goes; otherwise (the id, or the last tag) the image is deleted, then
   * every layer no remaining image uses. Refuses with FAILED_PRECONDITION to delete an image while
   * {@code imageInUse} (given the id) says a container uses it. A missing image is not an error
   * (CRI RemoveImage is idempotent); returns whether anything was removed.
   */
  public boolean remove(String ref, Predicate<String> imageInUse) {
    try (StoreLock lock = StoreLock.acquire(lockFile)) {
      Optional<Image> found = find(ref);
      if (found.isEmpty()) {
        return false;
      }
      Image image = found.get();
      String normalised = normaliseOrSame(ref);
      List<String> tags =
          image.repoTags().stream().filter(t -> !t.equals(ref) && !t.equals(normalised)).toList();
      List<String> digests =
          image.repoDigests().stream()
              .filter(d -> !d.equals(ref) && !d.equals(normalised))
              .toList();
      boolean namedByReference =
          tags.size() != image.repoTags().size() || digests.size() != image.repoDigests().size();
      // Only a tag keeps an image: with the last tag gone, its repo digests go with it (as in
      // containerd), so "rmi name:tag" of a pulled image does not leave a "<none>" image behind.
      if (namedByReference && !tags.isEmpty()) {
        write(image.withReferences(tags, digests));
        LOG.info("untagged {} from image {}", ref, image.id());
        return true;
      }
      if (imageInUse.test(image.id())) {
        throw CriException.precondition(
            "image "
                + image.digestId()
                + " ("
                + String.join(", ", image.repoTags())
                + ") is in use by a container; remove the container first");
      }
      Files.deleteIfExists(fileOf(image.id()));
      LOG.info("removed image {} {}", image.id(), image.repoTags());
      Set<String> stillUsed = new HashSet<>();
      list().forEach(i -> stillUsed.addAll(i.diffIds()));
      for (String diffId : image.diffIds()) {
        if (!stillUsed.contains(diffId)) {
          layers.remove(Digest.parse("diffId", diffId));
        }
      }
      return true;
    } catch (IOException e) {
      throw CriException.internal("removing image " + ref + ": " + e, e);
    }
  }

  /** Bytes and inodes used by images and their layers (CRI ImageFsInfo). */
  public FsUsage usage() {
    return FsUsage.of(images, layers.layersDir());
  }

  private static String normaliseOrSame(String ref) {
    try {
      return ImageReference.parse(ref).toString();
    } catch (CriException e) {
      return ref;
    }
  }

  private static List<String> union(List<String> a, List<String> b) {
    List<String> result = new ArrayList<>(a);
    b.stream().filter(x -> !result.contains(x)).forEach(result::add);
    return result;
  }

  private Path fileOf(String id) {
    return images.resolve(new Digest(id).hex() + ".json");
  }

  private void write(Image image) throws IOException {
    AtomicFiles.write(
        fileOf(image.id()), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(image));
  }

  private Optional<Image> read(Path file) {
    try {
      return Optional.of(JSON.readValue(Files.readAllBytes(file), Image.class));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    } catch (IOException e) {
      throw CriException.internal("reading image metadata " + file + ": " + e, e);
    }
  }
}
