package io.spawnlet.cri.oci;

import java.util.List;

/**
 * What the image's config says about how to run it (OCI image config {@code Entrypoint, Cmd, Env,
 * WorkingDir, User, StopSignal}); the CRI request overrides it field by field.
 */
public record ImageDefaults(
    List<String> entrypoint,
    List<String> cmd,
    List<String> env,
    String workingDir,
    String user,
    String stopSignal) {
  public ImageDefaults {
    entrypoint = List.copyOf(entrypoint);
    cmd = List.copyOf(cmd);
    env = List.copyOf(env);
    workingDir = workingDir == null ? "" : workingDir;
    user = user == null ? "" : user;
    stopSignal = stopSignal == null ? "" : stopSignal;
  }

  public static ImageDefaults none() {
    return new ImageDefaults(List.of(), List.of(), List.of(), "", "", "");
  }
}
