package io.spawnlet.cri.image;

import io.spawnlet.cri.CriException;
import io.spawnlet.cri.storage.Image;
import io.spawnlet.cri.storage.ImageStore;

/** Finds the local image a container asks for, by reference or id. */
public final class ImageResolver {
  private final ImageStore images;

  public ImageResolver(ImageStore images) {
    this.images = images;
  }

  public Image resolve(String field, String ref) {
    if (ref.isEmpty()) {
      throw CriException.invalid(field, "is required");
    }
    return images
        .find(ref)
        .orElseThrow(
            () ->
                new CriException(
                    CriException.Kind.NOT_FOUND,
                    "image \""
                        + ref
                        + "\" is not present on this node: import it with"
                        + " 'spawnlet image import SRC --name "
                        + ref
                        + "' (field "
                        + field
                        + ")"));
  }
}
