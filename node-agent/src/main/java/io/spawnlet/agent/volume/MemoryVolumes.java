package io.spawnlet.agent.volume;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * emptyDir volumes with {@code medium: Memory}: a tmpfs mounted on the volume's directory (size
 * from {@code sizeLimit}), unmounted when the pod goes. mount(8) does the work, as the kubelet's
 * mounter does.
 */
public final class MemoryVolumes {
  private MemoryVolumes() {}

  /** Mounts a tmpfs on {@code dir} unless one is there already. */
  public static void mount(Path dir, Optional<Long> sizeBytes) throws IOException {
    Files.createDirectories(dir);
    if (mounted(dir)) {
      return;
    }
    String options = "mode=0777" + sizeBytes.map(b -> ",size=" + b).orElse("");
    run(List.of("mount", "-t", "tmpfs", "-o", options, "tmpfs", dir.toString()));
  }

  /** Unmounts every tmpfs at or below {@code dir} (a pod's directory). */
  public static void unmountBelow(Path dir) throws IOException {
    String prefix = dir.toAbsolutePath().normalize().toString();
    for (String target : mountPoints().reversed()) {
      if (target.equals(prefix) || target.startsWith(prefix + "/")) {
        run(List.of("umount", target));
      }
    }
  }

  static boolean mounted(Path dir) throws IOException {
    return mountPoints().contains(dir.toAbsolutePath().normalize().toString());
  }

  /** Mount points from /proc/self/mountinfo (field 5; octal escapes of spaces decoded). */
  private static List<String> mountPoints() throws IOException {
    return Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
        .map(line -> line.split(" "))
        .filter(f -> f.length > 4)
        .map(f -> f[4].replace("\\040", " "))
        .toList();
  }

  private static void run(List<String> command) throws IOException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    try {
      String out = new String(p.getInputStream().readAllBytes()).strip();
      if (p.waitFor() != 0) {
        throw new IOException(String.join(" ", command) + " failed: " + out);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(String.join(" ", command) + " interrupted", e);
    }
  }
}
