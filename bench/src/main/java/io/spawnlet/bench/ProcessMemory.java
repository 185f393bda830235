package io.spawnlet.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Proportional set size of a process (its private pages plus its share of pages mapped by others),
 * from {@code /proc/<pid>/smaps_rollup}: what one of many identical processes really costs.
 */
final class ProcessMemory {
  private ProcessMemory() {}

  /** PSS in KiB. */
  static long pssKib(long pid) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/smaps_rollup"))) {
      if (line.startsWith("Pss:")) {
        return Long.parseLong(line.substring(4).strip().split("\\s+")[0]);
      }
    }
    throw new IOException("/proc/" + pid + "/smaps_rollup has no Pss line");
  }
}
