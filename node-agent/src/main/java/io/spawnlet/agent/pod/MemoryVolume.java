package io.spawnlet.agent.pod;

import java.nio.file.Path;
import java.util.Optional;

/** An emptyDir with {@code medium: Memory}: a tmpfs on {@code dir}, {@code sizeLimit} bytes. */
public record MemoryVolume(Path dir, Optional<Long> sizeBytes) {}
