package io.spawnlet.cri.oci;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * What {@link OciRuntime#create} needs: the bundle must already hold {@code config.json} (see
 * {@link OciSpecBuilder}).
 *
 * @param containerId the runtime's container id (also conmon's {@code -c}/{@code -u})
 * @param name a readable name for conmon's logs (e.g. {@code pod_container})
 * @param bundle the bundle directory; conmon's pid files and the runtime's log go there too
 * @param logPath the CRI log file conmon writes ({@code <RFC3339Nano> stdout|stderr F|P line})
 * @param cgroupParent cgroupfs parent (e.g. {@code /spawnlet/pod-<uid>}); conmon is put in a {@code
 *     conmon-<id>} child of it, never left in the daemon's cgroup
 * @param extraFds parent descriptors handed to the container as fds 3, 4, … (conmon gets them there
 *     and passes them on with {@code --preserve-fds}; activation sockets); empty normally
 * @param timeout how long to wait for the runtime's create
 */
public record CreateRequest(
    String containerId,
    String name,
    Path bundle,
    Path logPath,
    boolean terminal,
    boolean stdin,
    boolean stdinOnce,
    String cgroupParent,
    List<Integer> extraFds,
    Duration timeout) {
  public CreateRequest {
    Objects.requireNonNull(containerId, "containerId");
    Objects.requireNonNull(bundle, "bundle");
    Objects.requireNonNull(logPath, "logPath");
    extraFds = List.copyOf(extraFds);
  }

  public static CreateRequest of(
      String containerId, String name, Path bundle, Path logPath, String cgroupParent) {
    return new CreateRequest(
        containerId,
        name,
        bundle,
        logPath,
        false,
        false,
        false,
        cgroupParent,
        List.of(),
        Duration.ofMinutes(2));
  }
}
