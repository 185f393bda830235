package io.spawnlet.agent.node;

import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * What the node reports about its host, read from /proc, /etc and the filesystem holding the
 * agent's state (the kubelet's nodefs): sizes for capacity, free amounts for pressure conditions.
 */
public record HostFacts(
    int cpus,
    long memoryBytes,
    long memoryAvailableBytes,
    long diskBytes,
    long diskAvailableBytes,
    long threads,
    long pidMax,
    String kernelVersion,
    String osImage,
    String bootId,
    String machineId) {

  public static HostFacts read(Path stateDir) throws IOException {
    Files.createDirectories(stateDir);
    FileStore store = Files.getFileStore(stateDir);
    String loadavg = read("/proc/loadavg").orElse("0 0 0 0/0 0");
    long threads = Long.parseLong(loadavg.split(" ")[3].split("/")[1]);
    return new HostFacts(
        Runtime.getRuntime().availableProcessors(),
        meminfo("MemTotal"),
        meminfo("MemAvailable"),
        store.getTotalSpace(),
        store.getUsableSpace(),
        threads,
        read("/proc/sys/kernel/pid_max").map(Long::parseLong).orElse(32768L),
        read("/proc/sys/kernel/osrelease").orElse(""),
        readOsImage(),
        read("/proc/sys/kernel/random/boot_id").orElse(""),
        read("/etc/machine-id").orElse(""));
  }

  private static long meminfo(String key) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
      if (line.startsWith(key + ":")) {
        String[] f = line.split("\\s+");
        return Long.parseLong(f[1]) * 1024;
      }
    }
    throw new IOException("/proc/meminfo has no " + key);
  }

  private static String readOsImage() throws IOException {
    Path osRelease = Path.of("/etc/os-release");
    if (Files.exists(osRelease)) {
      for (String line : Files.readAllLines(osRelease)) {
        if (line.startsWith("PRETTY_NAME=")) {
          return line.substring(12).replace("\"", "");
        }
      }
    }
    return "Linux";
  }

  /**
   * A small /proc or /etc file. Read through a buffer: Files.readString sizes its first read by the
   * file's size, 0 in /proc, and a sysctl file read 1 byte at a time ends after the first byte.
   */
  private static Optional<String> read(String path) {
    try {
      return Optional.of(String.join("\n", Files.readAllLines(Path.of(path))).strip());
    } catch (IOException e) {
      return Optional.empty();
    }
  }
}
