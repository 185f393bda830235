package io.spawnlet.cri.activation;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.spawnlet.cri.CriException;
import io.spawnlet.cri.store.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * What a daemon restart needs to take a pod's sockets back: the holder process (pid and start time,
 * so a reused pid is not mistaken for it), and which of its descriptors (3, 4, …) is which port.
 * Kept next to the pod's other run-time state; gone after a reboot, like the sockets.
 */
public record ActivationRecord(
    String sandboxId,
    int holderPid,
    long holderStartTime,
    List<String> ports,
    boolean dualStack,
    long wakes,
    long lastWakeMillis,
    long lastWakeLatencyMicros) {
  private static final ObjectMapper JSON = new ObjectMapper();

  public ActivationRecord {
    ports = List.copyOf(ports);
  }

  void write(Path file) {
    try {
      AtomicFiles.write(file, JSON.writeValueAsBytes(this));
    } catch (IOException e) {
      throw CriException.internal("writing activation state " + file + ": " + e.getMessage(), e);
    }
  }

  static Optional<ActivationRecord> read(Path file) {
    if (!Files.exists(file)) {
      return Optional.empty();
    }
    try {
      return Optional.of(JSON.readValue(file.toFile(), ActivationRecord.class));
    } catch (IOException e) {
      throw CriException.internal(
          "reading activation state " + file + ": " + e.getMessage() + " (delete it to drop it)",
          e);
    }
  }
}
