package io.spawnlet.cri.oci;

import io.spawnlet.cri.CriException;
import java.util.List;
import java.util.Locale;

/**
 * The one place where an OCI runtime's error text becomes a {@link CriException} kind. crun and
 * runc word "no such container" differently (the phrases below are what crun 1.8 and runc 1.1
 * print); both become NOT_FOUND.
 */
final class RuntimeErrors {
  private static final List<String> NOT_FOUND_PHRASES =
      List.of(
          // runc: level=error msg="container does not exist"
          "container does not exist",
          // crun: error opening file `<root>/<id>/status`: No such file or directory
          "/status`: no such file or directory",
          // crun delete: cannot open directory '<root>/<id>': No such file or directory
          "cannot open directory");

  private RuntimeErrors() {}

  static boolean meansNotFound(String runtimeOutput) {
    String text = runtimeOutput.toLowerCase(Locale.ROOT);
    return NOT_FOUND_PHRASES.stream().anyMatch(text::contains);
  }

  /** {@code what} failed for container {@code id}; the runtime said {@code output}. */
  static CriException failure(String what, String id, int exitCode, String output) {
    String text = output.strip();
    if (meansNotFound(text)) {
      return new CriException(
          CriException.Kind.NOT_FOUND,
          "container \"" + id + "\" not found by the OCI runtime (" + what + "): " + text);
    }
    return new CriException(
        CriException.Kind.INTERNAL,
        "OCI runtime "
            + what
            + " of container \""
            + id
            + "\" failed with exit code "
            + exitCode
            + ": "
            + text);
  }
}
