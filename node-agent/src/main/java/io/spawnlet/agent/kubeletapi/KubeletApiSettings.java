package io.spawnlet.agent.kubeletapi;

import java.nio.file.Path;
import java.util.Optional;

/**
 * Where and how the kubelet API listens.
 *
 * @param address the address to bind ({@code 0.0.0.0}: all, as the kubelet's {@code --address})
 * @param port the HTTPS port, published as the node's daemonEndpoints.kubeletEndpoint (10250)
 * @param clientCaFile the CA whose client certificates are let in (the apiserver's kubelet client
 *     certificate is signed by it)
 * @param tlsCertFile the serving certificate (PEM); none: a self-signed one for the node name
 * @param tlsKeyFile its private key (PEM, PKCS#8), given together with {@code tlsCertFile}
 * @param nodeName the self-signed certificate's subject
 */
public record KubeletApiSettings(
    String address,
    int port,
    Path clientCaFile,
    Optional<Path> tlsCertFile,
    Optional<Path> tlsKeyFile,
    String nodeName) {
  public KubeletApiSettings {
    if (tlsCertFile.isPresent() != tlsKeyFile.isPresent()) {
      throw new IllegalArgumentException(
          "--tls-cert-file and --tls-private-key-file go together: give both or neither");
    }
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("--kubelet-port " + port + " is not a TCP port");
    }
  }
}
