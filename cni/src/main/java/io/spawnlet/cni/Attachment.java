package io.spawnlet.cni;

import java.util.Objects;

/**
 * One interface of one container on one network: what GC keeps ({@code cni.dev/valid-attachments}).
 */
public record Attachment(String containerId, String ifName) {
  public Attachment {
    Objects.requireNonNull(containerId, "containerId");
    Objects.requireNonNull(ifName, "ifName");
  }
}
