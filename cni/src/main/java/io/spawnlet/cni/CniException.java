package io.spawnlet.cni;

/**
 * The root of every error this library raises: a configuration that cannot be used, a plugin that
 * cannot be found or run, a plugin that reported an error, or a cache that cannot be read or
 * written. Messages name the file, field, plugin or container at fault.
 */
public class CniException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public CniException(String message) {
    super(message);
  }

  public CniException(String message, Throwable cause) {
    super(message, cause);
  }
}
