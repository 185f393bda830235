package io.spawnlet.agent.pod;

import io.spawnlet.agent.volume.VolumeFile;
import java.nio.file.Path;
import java.util.Map;

/**
 * A configMap, secret, downwardAPI or projected volume: the files the agent writes into {@code dir}
 * (atomically, see {@code AtomicVolumeWriter}) before the containers start and whenever their
 * sources change.
 */
public record FileVolume(String name, Path dir, Map<String, VolumeFile> files) {}
