package io.spawnlet.cri.activation;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Is anybody using a pod's activation ports? Reads the pod's socket tables through its holder
 * ({@code /proc/<holder>/net/tcp*}, {@code udp*}: the holder lives in the pod's netns). Busy means
 * an open connection on a TCP port (any state but LISTEN, TIME_WAIT and CLOSE), a connection
 * waiting in a listening socket's accept queue (its rx_queue), or a datagram waiting on a UDP port.
 */
final class IdleProbe {
  private static final String LISTEN = "0A";
  private static final Set<String> FINISHED = Set.of("06", "07"); // TIME_WAIT, CLOSE

  private IdleProbe() {}

  static boolean busy(int holderPid, List<ActivationPort> ports) {
    Set<Integer> tcp = portsOf(ports, ActivationPort.Protocol.TCP);
    Set<Integer> udp = portsOf(ports, ActivationPort.Protocol.UDP);
    Path net = Path.of("/proc/" + holderPid + "/net");
    return (!tcp.isEmpty()
            && (busy(net.resolve("tcp"), tcp, true) || busy(net.resolve("tcp6"), tcp, true)))
        || (!udp.isEmpty()
            && (busy(net.resolve("udp"), udp, false) || busy(net.resolve("udp6"), udp, false)));
  }

  private static Set<Integer> portsOf(List<ActivationPort> ports, ActivationPort.Protocol p) {
    return ports.stream()
        .filter(a -> a.protocol() == p)
        .map(ActivationPort::port)
        .collect(Collectors.toSet());
  }

  /**
   * One table: lines "sl local_address rem_address st tx_queue:rx_queue …", addresses as
   * HEXADDR:HEXPORT.
   */
  static boolean busy(Path table, Set<Integer> ports, boolean tcp) {
    List<String> lines;
    try {
      lines = Files.readAllLines(table);
    } catch (IOException e) {
      return false; // no such table (IPv6 off)
    }
    for (int i = 1; i < lines.size(); i++) {
      String[] f = lines.get(i).strip().split("\\s+");
      if (f.length < 5) {
        continue;
      }
      String local = f[1];
      int port = Integer.parseInt(local.substring(local.lastIndexOf(':') + 1), 16);
      if (!ports.contains(port)) {
        continue;
      }
      String state = f[3];
      long rxQueue = Long.parseLong(f[4].substring(f[4].indexOf(':') + 1), 16);
      if (tcp) {
        if (state.equals(LISTEN) ? rxQueue > 0 : !FINISHED.contains(state)) {
          return true;
        }
      } else if (rxQueue > 0) {
        return true;
      }
    }
    return false;
  }
}
