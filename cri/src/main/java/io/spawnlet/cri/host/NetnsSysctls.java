package io.spawnlet.cri.host;

import io.spawnlet.cri.CriException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Writes namespaced sysctls of a pinned network namespace ({@code /proc/sys/net/...} shows the
 * namespace of the process that opens it), through {@code nsenter --net}.
 *
 * <p>User-namespaced pods need this: their network namespace is made by the daemon, so it belongs
 * to the host's user namespace, and the container's root has no capability in it. Without {@link
 * #UNPRIVILEGED_NETWORK} its systemd could not bind port 80 or 22 (CAP_NET_BIND_SERVICE) and ping
 * could not open an ICMP socket; rootless Podman sets the same two.
 */
public final class NetnsSysctls {
  /** Any uid may bind any port and open ICMP echo sockets in the namespace. */
  public static final Map<String, String> UNPRIVILEGED_NETWORK =
      Map.of(
          "net/ipv4/ip_unprivileged_port_start", "0",
          "net/ipv4/ping_group_range", "0 2147483647");

  private NetnsSysctls() {}

  public static void write(Path netns, Map<String, String> sysctls) {
    StringBuilder script = new StringBuilder();
    List<String> command = new ArrayList<>(List.of("nsenter", "--net=" + netns, "sh", "-c"));
    sysctls.forEach(
        (key, value) ->
            script
                .append("echo '")
                .append(value)
                .append("' > /proc/sys/")
                .append(key)
                .append(" || exit 1\n"));
    command.add(script.toString());
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
        p.destroyForcibly();
        throw CriException.internal(
            "cannot set sysctls "
                + sysctls.keySet()
                + " in network namespace "
                + netns
                + ": "
                + out.strip(),
            null);
      }
    } catch (IOException e) {
      throw CriException.internal("cannot run nsenter for " + netns + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw CriException.internal("interrupted setting sysctls in " + netns, e);
    }
  }
}
