package io.spawnlet.cri.image;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.spawnlet.cri.CriException;
import io.spawnlet.cri.image.registry.Credentials;
import io.spawnlet.cri.image.registry.ImagePuller;
import io.spawnlet.cri.storage.FsUsage;
import io.spawnlet.cri.storage.Image;
import io.spawnlet.cri.storage.ImageStore;
import io.spawnlet.cri.storage.RootfsDriver;
import io.spawnlet.cri.store.ContainerRecord;
import io.spawnlet.cri.store.StateStore;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import runtime.v1.FilesystemIdentifier;
import runtime.v1.FilesystemUsage;
import runtime.v1.ImageFsInfoResponse;
import runtime.v1.ImageSpec;
import runtime.v1.ImageStatusRequest;
import runtime.v1.ImageStatusResponse;
import runtime.v1.Int64Value;
import runtime.v1.ListImagesRequest;
import runtime.v1.ListImagesResponse;
import runtime.v1.PullImageRequest;
import runtime.v1.PullImageResponse;
import runtime.v1.RemoveImageRequest;
import runtime.v1.RemoveImageResponse;
import runtime.v1.UInt64Value;

/**
 * ImageService: PullImage from registries ({@link ImagePuller}), and ListImages, ImageStatus,
 * RemoveImage, ImageFsInfo over the local image store.
 */
public final class Images {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final ImageStore store;
  private final ImagePuller puller;
  private final RootfsDriver rootfs;
  private final StateStore state;
  private final Path imageRoot;

  public Images(
      ImageStore store, ImagePuller puller, RootfsDriver rootfs, StateStore state, Path imageRoot) {
    this.store = store;
    this.puller = puller;
    this.rootfs = rootfs;
    this.state = state;
    this.imageRoot = imageRoot;
  }

  public ListImagesResponse list(ListImagesRequest req) {
    String filter = req.getFilter().getImage().getImage();
    List<Image> images =
        filter.isEmpty() ? store.list() : store.find(filter).map(List::of).orElse(List.of());
    return ListImagesResponse.newBuilder()
        .addAllImages(images.stream().map(Images::toCri).toList())
        .build();
  }

  public ImageStatusResponse status(ImageStatusRequest req) {
    String ref = req.getImage().getImage();
    if (ref.isEmpty()) {
      throw CriException.invalid("image.image", "is required");
    }
    var found = store.find(ref);
    // CRI: an absent image is an empty response, not an error.
    if (found.isEmpty()) {
      return ImageStatusResponse.getDefaultInstance();
    }
    ImageStatusResponse.Builder b = ImageStatusResponse.newBuilder().setImage(toCri(found.get()));
    if (req.getVerbose()) {
      b.putInfo("info", verboseInfo(found.get()));
    }
    return b.build();
  }

  /**
   * Pulls from the registry every time, as containerd and CRI-O do: a tag may have moved, and the
   * kubelet asks ImageStatus first when its pull policy allows a present image. Layers already
   * stored are not downloaded again.
   */
  public PullImageResponse pull(PullImageRequest req) {
    String ref = req.getImage().getImage();
    if (ref.isEmpty()) {
      throw CriException.invalid("image.image", "is required");
    }
    Optional<Credentials> credentials =
        req.hasAuth() ? Optional.of(Credentials.of(req.getAuth())) : Optional.empty();
    Image image = puller.pull(ref, credentials);
    return PullImageResponse.newBuilder().setImageRef(image.digestId()).build();
  }

  public RemoveImageResponse remove(RemoveImageRequest req) {
    String ref = req.getImage().getImage();
    if (ref.isEmpty()) {
      throw CriException.invalid("image.image", "is required");
    }
    // Removing an absent image is not an error (the kubelet's image GC retries freely).
    if (store.remove(ref, this::inUse)) {
      rootfs.retainImages(store.list());
    }
    return RemoveImageResponse.getDefaultInstance();
  }

  private boolean inUse(String imageId) {
    return state.containers.all().stream()
        .map(ContainerRecord::imageId)
        .anyMatch(id -> id.equals("sha256:" + imageId) || id.equals(imageId));
  }

  public ImageFsInfoResponse fsInfo() {
    long now = System.currentTimeMillis() * 1_000_000L;
    FsUsage stored = store.usage();
    FsUsage driver = rootfs.imageUsage();
    FsUsage images =
        new FsUsage(stored.bytes() + driver.bytes(), stored.inodes() + driver.inodes());
    FsUsage containers = rootfs.usage();
    return ImageFsInfoResponse.newBuilder()
        .addImageFilesystems(usage(now, imageRoot.toString(), images))
        .addContainerFilesystems(usage(now, imageRoot.toString(), containers))
        .build();
  }

  private static FilesystemUsage usage(long now, String mountpoint, FsUsage u) {
    return FilesystemUsage.newBuilder()
        .setTimestamp(now)
        .setFsId(FilesystemIdentifier.newBuilder().setMountpoint(mountpoint))
        .setUsedBytes(UInt64Value.newBuilder().setValue(u.bytes()))
        .setInodesUsed(UInt64Value.newBuilder().setValue(u.inodes()))
        .build();
  }

  static runtime.v1.Image toCri(Image i) {
    runtime.v1.Image.Builder b =
        runtime.v1.Image.newBuilder()
            .setId(i.digestId())
            .addAllRepoTags(i.repoTags())
            .addAllRepoDigests(i.repoDigests())
            .setSize(i.size())
            .setSpec(ImageSpec.newBuilder().setImage(i.digestId()).putAllAnnotations(Map.of()));
    ImageUser.of(i.config().user())
        .ifPresent(
            u -> {
              if (u.uid() != null) {
                b.setUid(Int64Value.newBuilder().setValue(u.uid()));
              } else {
                b.setUsername(u.name());
              }
            });
    return b.build();
  }

  private static String verboseInfo(Image i) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("id", i.digestId());
    m.put("layers", i.diffIds());
    m.put("size", i.size());
    m.put("created", i.created());
    try {
      m.put("config", JSON.readTree(i.configJson()));
      return JSON.writeValueAsString(m);
    } catch (java.io.IOException e) {
      return "{}";
    }
  }

  /**
   * The user an image runs as: a numeric uid or a name, the group part ignored (as the CRI does).
   */
  record ImageUser(Long uid, String name) {
    static java.util.Optional<ImageUser> of(String user) {
      if (user == null || user.isEmpty()) {
        return java.util.Optional.empty();
      }
      String u = user.split(":", 2)[0];
      try {
        return java.util.Optional.of(new ImageUser(Long.parseLong(u), null));
      } catch (NumberFormatException e) {
        return java.util.Optional.of(new ImageUser(null, u));
      }
    }
  }
}
