package io.spawnlet.cri.activation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.spawnlet.cri.CriException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import runtime.v1.PodSandboxConfig;
import runtime.v1.PortMapping;
import runtime.v1.Protocol;

class ActivationSpecTest {
  private static PodSandboxConfig pod(Map<String, String> annotations, PortMapping... ports) {
    return PodSandboxConfig.newBuilder()
        .putAllAnnotations(annotations)
        .addAllPortMappings(List.of(ports))
        .build();
  }

  private static PortMapping port(int port, Protocol p) {
    return PortMapping.newBuilder().setContainerPort(port).setProtocol(p).build();
  }

  @Test
  void podsWithoutTheAnnotationAreNotActivated() {
    assertThat(ActivationSpec.of(pod(Map.of(), port(80, Protocol.TCP)))).isEmpty();
  }

  @Test
  void portsComeFromThePortMappingsAndTheIdleTimeoutDefaultsToFiveMinutes() {
    var spec =
        ActivationSpec.of(
                pod(
                    Map.of("spawnlet.io/activation", "socket"),
                    port(8080, Protocol.TCP),
                    port(53, Protocol.UDP),
                    port(8080, Protocol.TCP),
                    port(9, Protocol.SCTP)))
            .orElseThrow();
    assertThat(spec.idleTimeout()).isEqualTo(Duration.ofMinutes(5));
    assertThat(spec.ports())
        .containsExactly(
            new ActivationPort(8080, ActivationPort.Protocol.TCP),
            new ActivationPort(53, ActivationPort.Protocol.UDP));
    assertThat(spec.ports().get(0).fdName()).isEqualTo("tcp-8080");
  }

  @Test
  void theAnnotationOverridesThePorts() {
    var spec =
        ActivationSpec.of(
                pod(
                    Map.of(
                        "spawnlet.io/activation", "socket",
                        "spawnlet.io/activation-ports", "7777/tcp, 53/UDP,9000",
                        "spawnlet.io/idle-timeout", "0"),
                    port(80, Protocol.TCP)))
            .orElseThrow();
    assertThat(spec.ports())
        .extracting(ActivationPort::toString)
        .containsExactly("7777/tcp", "53/udp", "9000/tcp");
    assertThat(spec.idleTimeout()).isZero();
  }

  @Test
  void proxiedPortsListenButAreNotPassed() {
    var spec =
        ActivationSpec.of(
                pod(
                    Map.of(
                        "spawnlet.io/activation", "socket",
                        "spawnlet.io/activation-proxy", "80=8080"),
                    port(53, Protocol.UDP)))
            .orElseThrow();
    assertThat(spec.ports())
        .extracting(ActivationPort::toString)
        .containsExactly("53/udp", "80/tcp");
    assertThat(spec.passedPorts()).extracting(ActivationPort::toString).containsExactly("53/udp");
    assertThat(spec.proxies()).containsEntry(80, 8080);
    assertInvalid(
        Map.of("spawnlet.io/activation", "socket", "spawnlet.io/activation-proxy", "80"),
        "spawnlet.io/activation-proxy");
    assertInvalid(
        Map.of("spawnlet.io/activation", "socket", "spawnlet.io/activation-proxy", "80=80"),
        "spawnlet.io/activation-proxy");
  }

  @Test
  void goDurations() {
    assertThat(ActivationSpec.parseDuration("f", "30s")).isEqualTo(Duration.ofSeconds(30));
    assertThat(ActivationSpec.parseDuration("f", "1h30m")).isEqualTo(Duration.ofMinutes(90));
    assertThat(ActivationSpec.parseDuration("f", "1.5s")).isEqualTo(Duration.ofMillis(1500));
    assertThat(ActivationSpec.parseDuration("f", "250ms")).isEqualTo(Duration.ofMillis(250));
    for (String bad : List.of("", "5", "-1s", "5 m", "soon", "1d")) {
      assertThatThrownBy(() -> ActivationSpec.parseDuration("f", bad))
          .as(bad)
          .isInstanceOf(CriException.class);
    }
  }

  @Test
  void invalidValuesNameTheAnnotation() {
    assertInvalid(Map.of("spawnlet.io/activation", "eager"), "spawnlet.io/activation");
    assertInvalid(
        Map.of("spawnlet.io/activation", "socket", "spawnlet.io/idle-timeout", "5x"),
        "spawnlet.io/idle-timeout");
    assertInvalid(
        Map.of("spawnlet.io/activation", "socket", "spawnlet.io/activation-ports", "80/sctp"),
        "spawnlet.io/activation-ports");
    assertInvalid(
        Map.of("spawnlet.io/activation", "socket", "spawnlet.io/activation-ports", "70000"),
        "spawnlet.io/activation-ports");
    assertInvalid(Map.of("spawnlet.io/idle-timeout", "5m"), "spawnlet.io/idle-timeout");
    assertInvalid(
        Map.of("spawnlet.io/activation", "socket", "spawnlet.io/stop-timeout", "soon"),
        "spawnlet.io/stop-timeout");
    assertInvalid(Map.of("spawnlet.io/stop-timeout", "30s"), "spawnlet.io/stop-timeout");
  }

  @Test
  void theStopTimeoutIsTheAnnotationElseKubeletsGracePeriodElseTenSeconds() {
    Map<String, String> kubelet = Map.of("io.kubernetes.pod.terminationGracePeriod", "45");
    var annotated =
        ActivationSpec.of(
                pod(
                    Map.of("spawnlet.io/activation", "socket", "spawnlet.io/stop-timeout", "2m"),
                    port(80, Protocol.TCP)))
            .orElseThrow();
    assertThat(annotated.stopTimeout(kubelet)).isEqualTo(Duration.ofMinutes(2));

    var plain =
        ActivationSpec.of(pod(Map.of("spawnlet.io/activation", "socket"), port(80, Protocol.TCP)))
            .orElseThrow();
    assertThat(plain.stopTimeout(kubelet)).isEqualTo(Duration.ofSeconds(45));
    assertThat(plain.stopTimeout(Map.of())).isEqualTo(Duration.ofSeconds(10));
    assertThat(plain.stopTimeout(Map.of("io.kubernetes.pod.terminationGracePeriod", "x")))
        .isEqualTo(Duration.ofSeconds(10));
  }

  @Test
  void aPodWithoutPortsCannotBeActivated() {
    assertThatThrownBy(() -> ActivationSpec.of(pod(Map.of("spawnlet.io/activation", "socket"))))
        .isInstanceOf(CriException.class)
        .hasMessageContaining("spawnlet.io/activation")
        .hasMessageContaining("no ports");
  }

  private static void assertInvalid(Map<String, String> annotations, String named) {
    assertThatThrownBy(() -> ActivationSpec.of(pod(annotations, port(80, Protocol.TCP))))
        .isInstanceOfSatisfying(
            CriException.class,
            e -> assertThat(e.kind()).isEqualTo(CriException.Kind.INVALID_ARGUMENT))
        .hasMessageContaining(named);
  }
}
