package io.spawnlet.cni;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

class CniResultTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void parsesASpec10Result() throws Exception {
    String json =
        """
        {"cniVersion":"1.0.0",
         "interfaces":[{"name":"spwt0","mac":"aa:bb:cc:dd:ee:01"},
                       {"name":"veth1","mac":"aa:bb:cc:dd:ee:02"},
                       {"name":"eth0","mac":"aa:bb:cc:dd:ee:03","sandbox":"/run/netns/x"}],
         "ips":[{"address":"10.89.0.5/16","gateway":"10.89.0.1","interface":2},
                {"address":"fd00::5/64","interface":2}],
         "routes":[{"dst":"0.0.0.0/0","gw":"10.89.0.1"}],
         "dns":{"nameservers":["10.89.0.1"],"search":["svc.local"]}}
        """;

    CniResult r = CniResult.parse(JSON.readTree(json), "bridge");

    assertThat(r.cniVersion()).isEqualTo("1.0.0");
    assertThat(r.interfaces()).hasSize(3);
    assertThat(r.interfaces().get(2).sandbox()).contains("/run/netns/x");
    assertThat(r.ips().get(0).address()).isEqualTo("10.89.0.5/16");
    assertThat(r.ips().get(0).ip()).isEqualTo("10.89.0.5");
    assertThat(r.ips().get(0).gateway()).contains("10.89.0.1");
    assertThat(r.ips().get(0).interfaceIndex()).isEqualTo(OptionalInt.of(2));
    assertThat(r.ips().get(0).isIpv4()).isTrue();
    assertThat(r.ips().get(1).isIpv4()).isFalse();
    assertThat(r.ips().get(1).gateway()).isEqualTo(Optional.empty());
    assertThat(r.routes())
        .containsExactly(new CniResult.Route("0.0.0.0/0", Optional.of("10.89.0.1")));
    assertThat(r.dns().nameservers()).containsExactly("10.89.0.1");
    assertThat(r.dns().search()).containsExactly("svc.local");
    assertThat(r.json()).isEqualTo(JSON.readTree(json));
  }

  @Test
  void rejectsPre030ResultsAndMissingAddresses() throws Exception {
    assertThatThrownBy(
            () -> CniResult.parse(JSON.readTree("{\"ip4\":{\"ip\":\"10.0.0.2/8\"}}"), "old"))
        .hasMessageContaining("\"old\"")
        .hasMessageContaining("0.2.0");
    assertThatThrownBy(() -> CniResult.parse(JSON.readTree("{\"ips\":[{\"gateway\":\"x\"}]}"), "p"))
        .hasMessageContaining("without \"address\"");
  }
}
