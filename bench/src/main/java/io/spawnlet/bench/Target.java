package io.spawnlet.bench;

import java.nio.file.Path;

/**
 * A runtime under test: the name used in the report and its CRI socket.
 *
 * @param label e.g. "containerd"; also the name of its JSON report and log directory
 */
public record Target(String label, Path socket) {

  public Target {
    if (!label.matches("[A-Za-z0-9._-]+")) {
      throw new IllegalArgumentException(
          "target label '" + label + "' must be letters, digits, '.', '_' or '-'");
    }
  }

  /** Parses {@code LABEL=SOCKET}, the form of the --target option. */
  public static Target parse(String value) {
    int equals = value.indexOf('=');
    if (equals <= 0 || equals == value.length() - 1) {
      throw new IllegalArgumentException(
          "--target must be LABEL=SOCKET (e.g. containerd=/tmp/x/containerd.sock), got '"
              + value
              + "'");
    }
    return new Target(value.substring(0, equals), Path.of(value.substring(equals + 1)));
  }
}
