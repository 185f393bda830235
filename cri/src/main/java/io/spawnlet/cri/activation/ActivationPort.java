package io.spawnlet.cri.activation;

import io.spawnlet.cri.host.Syscalls;
import java.util.Locale;

/** One activation socket of a pod: a container port and its protocol. */
public record ActivationPort(int port, Protocol protocol) {
  public enum Protocol {
    TCP,
    UDP;

    int socketType() {
      return this == TCP ? Syscalls.SOCK_STREAM : Syscalls.SOCK_DGRAM;
    }
  }

  /** The name the container sees in {@code LISTEN_FDNAMES}, e.g. {@code tcp-8080}. */
  public String fdName() {
    return protocol.name().toLowerCase(Locale.ROOT) + "-" + port;
  }

  @Override
  public String toString() {
    return port + "/" + protocol.name().toLowerCase(Locale.ROOT);
  }
}
