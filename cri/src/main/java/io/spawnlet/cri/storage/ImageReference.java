package io.spawnlet.cri.storage;

import io.spawnlet.cri.CriException;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * An image reference, normalised the way containerd and CRI-O (docker/distribution's reference
 * package) do: {@code busybox} is {@code docker.io/library/busybox:latest}, {@code foo/bar:1} is
 * {@code docker.io/foo/bar:1}; a reference with a digest and no tag keeps no tag.
 *
 * <p>The first path component is a registry host when it contains a dot or a colon, or is {@code
 * localhost}; otherwise the reference is on docker.io.
 */
public record ImageReference(
    String registry, String repository, Optional<String> tag, Optional<Digest> digest) {
  public static final String DEFAULT_REGISTRY = "docker.io";
  private static final String FORM =
      "expected [registry[:port]/]name[:tag][@sha256:<64 hex>], name in lower case, e.g."
          + " busybox, docker.io/library/busybox:1.36, localhost:5000/x@sha256:...";
  private static final Pattern COMPONENT = Pattern.compile("[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*");
  private static final Pattern TAG = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
  private static final Pattern HOST =
      Pattern.compile(
          "(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
              + "(?::[0-9]+)?|\\[[0-9a-fA-F:]+\\](?::[0-9]+)?");

  public static ImageReference parse(String ref) {
    if (ref == null || ref.isEmpty()) {
      throw CriException.invalid("image.image", "empty image reference; " + FORM);
    }
    if (ref.length() > 4096) {
      throw CriException.invalid("image.image", "image reference longer than 4096 characters");
    }
    String rest = ref;
    Optional<Digest> digest = Optional.empty();
    int at = rest.indexOf('@');
    if (at >= 0) {
      try {
        digest = Optional.of(Digest.parse("image.image", rest.substring(at + 1)));
      } catch (CriException e) {
        throw invalid(ref, "the part after @ is not sha256:<64 lower-case hex digits>");
      }
      rest = rest.substring(0, at);
    }
    Optional<String> tag = Optional.empty();
    int lastSlash = rest.lastIndexOf('/');
    int colon = rest.lastIndexOf(':');
    if (colon > lastSlash) {
      String t = rest.substring(colon + 1);
      if (!TAG.matcher(t).matches()) {
        throw invalid(ref, "tag \"" + t + "\" is not [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
      }
      tag = Optional.of(t);
      rest = rest.substring(0, colon);
    }
    String registry = DEFAULT_REGISTRY;
    String path = rest;
    int slash = rest.indexOf('/');
    if (slash >= 0) {
      String first = rest.substring(0, slash);
      if (first.contains(".") || first.contains(":") || first.equals("localhost")) {
        if (!HOST.matcher(first).matches()) {
          throw invalid(ref, "registry \"" + first + "\" is not a host[:port]");
        }
        registry = first;
        path = rest.substring(slash + 1);
      }
    }
    if (registry.equals("index.docker.io") || registry.equals("registry-1.docker.io")) {
      registry = DEFAULT_REGISTRY;
    }
    if (path.isEmpty()) {
      throw invalid(ref, "no repository name");
    }
    for (String component : path.split("/", -1)) {
      if (!COMPONENT.matcher(component).matches()) {
        throw invalid(
            ref,
            "path component \""
                + component
                + "\" must be lower-case letters and digits, separated by . _ __ or -");
      }
    }
    if (registry.equals(DEFAULT_REGISTRY) && !path.contains("/")) {
      path = "library/" + path;
    }
    if (tag.isEmpty() && digest.isEmpty()) {
      tag = Optional.of("latest");
    }
    if (registry.length() + 1 + path.length() > 255) {
      throw invalid(ref, "repository name longer than 255 characters");
    }
    return new ImageReference(registry, path, tag, digest);
  }

  private static CriException invalid(String ref, String problem) {
    return CriException.invalid(
        "image.image", "invalid image reference \"" + ref + "\": " + problem + "; " + FORM);
  }

  /** {@code registry/repository}, e.g. {@code docker.io/library/busybox}. */
  public String name() {
    return registry + "/" + repository;
  }

  /** The normalised reference: name, then {@code :tag} if any, then {@code @digest} if any. */
  @Override
  public String toString() {
    return name() + tag.map(t -> ":" + t).orElse("") + digest.map(d -> "@" + d).orElse("");
  }

  /** {@code name:tag}, if there is a tag: what CRI lists as a repo tag. */
  public Optional<String> repoTag() {
    return tag.map(t -> name() + ":" + t);
  }

  /** {@code name@digest} for a given manifest digest: what CRI lists as a repo digest. */
  public String repoDigest(Digest manifestDigest) {
    return name() + "@" + manifestDigest;
  }
}
