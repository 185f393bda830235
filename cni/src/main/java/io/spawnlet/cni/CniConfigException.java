package io.spawnlet.cni;

import java.nio.file.Path;
import java.util.Optional;

/** A network configuration that is not valid JSON or breaks the CNI spec; names file and field. */
public final class CniConfigException extends CniException {
  private static final long serialVersionUID = 1L;

  public CniConfigException(Optional<Path> source, String field, String problem) {
    super(source.map(Path::toString).orElse("<network config>") + ": " + field + ": " + problem);
  }

  public CniConfigException(Optional<Path> source, String problem, Throwable cause) {
    super(source.map(Path::toString).orElse("<network config>") + ": " + problem, cause);
  }
}
