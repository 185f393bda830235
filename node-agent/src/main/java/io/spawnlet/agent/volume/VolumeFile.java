package io.spawnlet.agent.volume;

import java.util.Arrays;

/** One file of a configMap, secret, downwardAPI or projected volume. */
public record VolumeFile(byte[] content, int mode) {
  @Override
  public boolean equals(Object o) {
    return o instanceof VolumeFile f && f.mode == mode && Arrays.equals(f.content, content);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(content) * 31 + mode;
  }

  @Override
  public String toString() {
    return "VolumeFile[" + content.length + " bytes, mode " + Integer.toOctalString(mode) + "]";
  }
}
