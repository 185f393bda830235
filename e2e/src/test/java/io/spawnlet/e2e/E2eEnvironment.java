package io.spawnlet.e2e;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Where the end-to-end suites find the programs and images they drive. scripts/test.sh sets each
 * both as an environment variable and as a system property (the property wins):
 *
 * <ul>
 *   <li>{@code SPAWNLET_CRICTL} / {@code spawnlet.crictl}: the crictl binary;
 *   <li>{@code SPAWNLET_TEST_IMAGES} / {@code spawnlet.testImages}: the directory of OCI layouts
 *       built by scripts/test-images.sh ({@code busybox/}, ...);
 *   <li>{@code SPAWNLET_TEST_REGISTRY_STORAGE} / {@code spawnlet.testRegistryStorage}: the
 *       docker-registry storage populated by scripts/test-registry.sh;
 *   <li>{@code SPAWNLET_JAR} / {@code spawnlet.jar}: the launcher jar, by default {@code
 *       dist/target/spawnlet.jar} beside this module.
 * </ul>
 */
record E2eEnvironment(
    Optional<Path> crictl,
    Optional<Path> testImages,
    Optional<Path> testRegistryStorage,
    Path spawnletJar,
    Path java) {

  static E2eEnvironment fromSystem() {
    Path jar =
        setting("spawnlet.jar", "SPAWNLET_JAR")
            .orElseGet(() -> Path.of("..", "dist", "target", "spawnlet.jar"))
            .toAbsolutePath()
            .normalize();
    return new E2eEnvironment(
        setting("spawnlet.crictl", "SPAWNLET_CRICTL"),
        setting("spawnlet.testImages", "SPAWNLET_TEST_IMAGES"),
        setting("spawnlet.testRegistryStorage", "SPAWNLET_TEST_REGISTRY_STORAGE"),
        jar,
        Path.of(System.getProperty("java.home"), "bin", "java"));
  }

  /** The OCI layout of the named test image, with the tag the scripts give it ("latest"). */
  String testImageReference(String name) {
    Path images =
        testImages()
            .orElseThrow(
                () ->
                    new IllegalStateException(
                        "SPAWNLET_TEST_IMAGES is not set: run scripts/test-images.sh and pass the"
                            + " directory it prints (scripts/test.sh does)"));
    Path layout = images.resolve(name);
    if (!Files.isRegularFile(layout.resolve("index.json"))) {
      throw new IllegalStateException(
          "no OCI layout for test image '"
              + name
              + "' at "
              + layout
              + ": run scripts/test-images.sh");
    }
    return layout + ":latest";
  }

  /** The spawnlet jar, or a failure saying how to build it. */
  Path requireSpawnletJar() {
    if (!Files.isRegularFile(spawnletJar)) {
      throw new IllegalStateException(
          spawnletJar + " is missing: build it with 'mvn -B -q -DskipTests install' first");
    }
    return spawnletJar;
  }

  private static Optional<Path> setting(String property, String variable) {
    String value = System.getProperty(property);
    if (value == null || value.isBlank()) {
      value = System.getenv(variable);
    }
    return value == null || value.isBlank() ? Optional.empty() : Optional.of(Path.of(value));
  }
}
