package io.spawnlet.cri.image.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Docker-style {@code auth.json} files ({@code {"auths": {"host": {"auth": base64(user:pass)}}}}),
 * as podman and CRI-O read them. Keys are matched like containers/image does: the most specific
 * {@code host/namespace/repo} prefix first, then the host, then docker's legacy URL forms ({@code
 * https://host}, {@code https://index.docker.io/v1/} for docker.io). Files are read on every pull,
 * so an edited file takes effect without a restart; the first file with a matching key wins.
 */
public final class AuthFile {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final List<Path> files;

  public AuthFile(List<Path> files) {
    this.files = List.copyOf(files);
  }

  /** The configured file, then {@code $XDG_RUNTIME_DIR/containers/auth.json} like podman. */
  public static AuthFile standard(Path configured) {
    List<Path> files = new ArrayList<>();
    files.add(configured);
    String xdg = System.getenv("XDG_RUNTIME_DIR");
    if (xdg != null && !xdg.isEmpty()) {
      files.add(Path.of(xdg, "containers", "auth.json"));
    }
    return new AuthFile(files);
  }

  public List<Path> files() {
    return files;
  }

  /** Credentials for {@code host} and {@code repository} (e.g. "library/busybox"), if any. */
  public Optional<Credentials> lookup(String host, String repository) {
    List<String> keys = new ArrayList<>();
    String[] parts = repository.split("/");
    for (int n = parts.length; n >= 1; n--) {
      keys.add(host + "/" + String.join("/", List.of(parts).subList(0, n)));
    }
    keys.add(host);
    keys.add("https://" + host);
    keys.add("http://" + host);
    if (host.equals("docker.io")) {
      keys.add("https://index.docker.io/v1/");
      keys.add("index.docker.io");
      keys.add("registry-1.docker.io");
    }
    for (Path file : files) {
      if (!Files.isRegularFile(file)) {
        continue;
      }
      JsonNode auths;
      try {
        auths = JSON.readTree(file.toFile()).path("auths");
      } catch (IOException e) {
        throw new IllegalArgumentException(
            "registry auth file " + file + " is not valid JSON: " + e.getMessage(), e);
      }
      for (String key : keys) {
        JsonNode entry = auths.path(key);
        if (entry.isObject()) {
          return Optional.of(credentials(entry, file + " key \"" + key + "\""));
        }
      }
    }
    return Optional.empty();
  }

  private static Credentials credentials(JsonNode entry, String where) {
    if (entry.hasNonNull("identitytoken") && !entry.path("identitytoken").asText().isEmpty()) {
      Credentials base =
          entry.hasNonNull("auth")
              ? Credentials.fromAuthField(entry.path("auth").asText(), where)
              : Credentials.ANONYMOUS;
      return new Credentials(
          base.username(),
          Optional.empty(),
          Optional.of(entry.path("identitytoken").asText()),
          Optional.empty());
    }
    if (entry.hasNonNull("auth")) {
      return Credentials.fromAuthField(entry.path("auth").asText(), where);
    }
    if (entry.hasNonNull("username")) {
      return Credentials.basic(entry.path("username").asText(), entry.path("password").asText(""));
    }
    throw new IllegalArgumentException(where + " has neither \"auth\" nor \"identitytoken\"");
  }
}
