package io.spawnlet.cni;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CniConfigLoaderTest {
  @TempDir Path dir;

  private static final String LIST =
      """
      {"cniVersion":"1.0.0","name":"%s","plugins":[{"type":"bridge","bridge":"b0"},{"type":"portmap","capabilities":{"portMappings":true}}]}
      """;

  @Test
  void lexicallyFirstFileWinsAndHiddenFilesAreIgnored() throws IOException {
    Files.writeString(dir.resolve("20-b.conflist"), LIST.formatted("b"));
    Files.writeString(dir.resolve("10-a.conflist"), LIST.formatted("a"));
    Files.writeString(dir.resolve(".00-tmp.conflist"), "{broken");
    Files.writeString(dir.resolve("00-readme.txt"), "not a config");

    CniConfigList list = CniConfigLoader.load(List.of(dir)).orElseThrow();

    assertThat(list.name()).isEqualTo("a");
    assertThat(list.cniVersion()).isEqualTo("1.0.0");
    assertThat(list.pluginTypes()).containsExactly("bridge", "portmap");
    assertThat(list.source()).contains(dir.resolve("10-a.conflist"));
  }

  @Test
  void firstDirectoryWithAConfigWins(@TempDir Path other) throws IOException {
    Path empty = dir.resolve("empty");
    Files.createDirectories(empty);
    Files.writeString(other.resolve("99-z.conflist"), LIST.formatted("z"));
    Files.writeString(dir.resolve("00-a.conflist"), LIST.formatted("a"));

    assertThat(CniConfigLoader.load(List.of(empty, dir.resolve("missing"), other)))
        .map(CniConfigList::name)
        .contains("z");
    assertThat(CniConfigLoader.load(List.of(empty))).isEmpty();
  }

  @Test
  void singlePluginConfIsPromotedToAList() throws IOException {
    Files.writeString(
        dir.resolve("10-one.conf"),
        """
        {"cniVersion":"0.4.0","name":"one","type":"bridge","bridge":"b1","ipam":{"type":"host-local"}}
        """);

    CniConfigList list = CniConfigLoader.load(List.of(dir)).orElseThrow();

    assertThat(list.name()).isEqualTo("one");
    assertThat(list.cniVersion()).isEqualTo("0.4.0");
    assertThat(list.plugins()).hasSize(1);
    assertThat(list.plugins().get(0).has("name")).isFalse();
    assertThat(list.plugins().get(0).path("bridge").asText()).isEqualTo("b1");
  }

  @Test
  void invalidFirstFileIsAnErrorNamingFileAndField() throws IOException {
    Path file = dir.resolve("10-bad.conflist");
    Files.writeString(
        file,
        """
        {"cniVersion":"1.0.0","name":"bad","plugins":[{"type":"bridge"},{"bridge":"x"}]}
        """);
    Files.writeString(dir.resolve("20-good.conflist"), LIST.formatted("good"));

    assertThatThrownBy(() -> CniConfigLoader.load(List.of(dir)))
        .isInstanceOf(CniConfigException.class)
        .hasMessageContaining(file.toString())
        .hasMessageContaining("plugins[1].type: missing");
  }

  @Test
  void validationMessages() {
    Optional<Path> src = Optional.of(Path.of("/etc/cni/net.d/x.conflist"));
    assertThatThrownBy(
            () -> CniConfigLoader.parse("{\"cniVersion\":\"1.0.0\",\"plugins\":[]}", src))
        .hasMessage("/etc/cni/net.d/x.conflist: name: missing");
    assertThatThrownBy(
            () ->
                CniConfigLoader.parse(
                    "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"plugins\":[]}", src))
        .hasMessageContaining("plugins: empty");
    assertThatThrownBy(
            () ->
                CniConfigLoader.parse(
                    "{\"cniVersion\":\"one\",\"name\":\"n\",\"plugins\":[]}", src))
        .hasMessageContaining("cniVersion: \"one\" is not a version");
    assertThatThrownBy(
            () ->
                CniConfigLoader.parse(
                    "{\"cniVersion\":\"1.0.0\",\"name\":\"a b\",\"plugins\":[]}", src))
        .hasMessageContaining("name: \"a b\" is not a valid network name");
    assertThatThrownBy(
            () ->
                CniConfigLoader.parse(
                    "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"plugins\":[{\"type\":\"../../bin/sh\"}]}",
                    src))
        .hasMessageContaining("plugins[0].type: \"../../bin/sh\" is not a plugin name");
    assertThatThrownBy(
            () ->
                CniConfigLoader.parse(
                    "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"disableCheck\":\"yes\",\"plugins\":[{\"type\":\"a\"}]}",
                    src))
        .hasMessageContaining("disableCheck: must be true or false");
    assertThatThrownBy(() -> CniConfigLoader.parse("{\"name\":\n\"n\",,}", src))
        .isInstanceOf(CniConfigException.class)
        .hasMessageContaining("/etc/cni/net.d/x.conflist: not valid JSON")
        .hasMessageContaining("line 2");
  }

  @Test
  void defaultNetworkFillsBridgeSubnetAndDataDir() {
    CniConfigList list =
        new DefaultNetwork("testnet", "spwt1", "10.201.3.0/24", Path.of("/state/cni/networks"))
            .configList();

    assertThat(list.name()).isEqualTo("testnet");
    assertThat(list.cniVersion()).isEqualTo("1.0.0");
    assertThat(list.pluginTypes()).containsExactly("bridge", "portmap");
    var bridge = list.plugins().get(0);
    assertThat(bridge.path("bridge").asText()).isEqualTo("spwt1");
    assertThat(bridge.path("isGateway").asBoolean()).isTrue();
    assertThat(bridge.path("ipMasq").asBoolean()).isTrue();
    assertThat(bridge.at("/ipam/type").asText()).isEqualTo("host-local");
    assertThat(bridge.at("/ipam/ranges/0/0/subnet").asText()).isEqualTo("10.201.3.0/24");
    assertThat(bridge.at("/ipam/routes/0/dst").asText()).isEqualTo("0.0.0.0/0");
    assertThat(bridge.at("/ipam/dataDir").asText()).isEqualTo("/state/cni/networks");
    var portmap = list.plugins().get(1);
    assertThat(portmap.at("/capabilities/portMappings").asBoolean()).isTrue();
    assertThat(portmap.path("snat").asBoolean()).isTrue();

    assertThat(
            DefaultNetwork.withDefaults(Path.of("/s"))
                .configList()
                .plugins()
                .get(0)
                .path("bridge")
                .asText())
        .isEqualTo("spawnlet0");
  }
}
