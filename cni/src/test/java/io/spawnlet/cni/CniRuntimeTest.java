package io.spawnlet.cni;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Drives CniRuntime against real executables: small shell-script plugins that record their stdin,
 * their CNI_* environment and the order of calls, and print a fixed result. No root needed.
 */
class CniRuntimeTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;
  Path bin;
  Path log;
  Path cacheDir;
  CniRuntime runtime;

  @BeforeEach
  void setUp() throws IOException {
    bin = Files.createDirectories(tmp.resolve("bin"));
    log = Files.createDirectories(tmp.resolve("log"));
    cacheDir = tmp.resolve("cache");
    recordingPlugin("first", "10.0.0.2/24", "first");
    recordingPlugin("second", "10.0.0.2/24", "second");
    script(
        "failing",
        "cat >/dev/null\n"
            + "echo '{\"cniVersion\":\"1.0.0\",\"code\":7,\"msg\":\"bad bridge\",\"details\":\"name"
            + " too long\"}'\nexit 1\n");
    script("silent-failure", "cat >/dev/null\necho 'panic: boom' >&2\nexit 2\n");
    script("slow", "exec sleep 30\n");
    runtime =
        new CniRuntime(List.of(tmp.resolve("nothing-here"), bin), cacheDir, Duration.ofSeconds(20));
  }

  private void recordingPlugin(String name, String ip, String marker) throws IOException {
    String result =
        "{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"eth0\",\"sandbox\":\"/ns\"}],"
            + "\"ips\":[{\"address\":\""
            + ip
            + "\",\"interface\":0}],\"dns\":{\"nameservers\":[\""
            + marker
            + "\"]}}";
    script(
        name,
        "cat > "
            + log
            + "/"
            + name
            + "-$CNI_COMMAND.json\n"
            + "env | grep '^CNI_' | sort > "
            + log
            + "/"
            + name
            + "-$CNI_COMMAND.env\n"
            + "echo \""
            + name
            + " $CNI_COMMAND\" >> "
            + log
            + "/calls\n"
            + "if [ \"$CNI_COMMAND\" = ADD ]; then printf '%s' '"
            + result
            + "'; fi\n");
  }

  private void script(String name, String body) throws IOException {
    Path p = bin.resolve(name);
    Files.writeString(p, "#!/bin/sh\n" + body);
    Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  private CniConfigList list(String version, String... plugins) {
    StringBuilder s = new StringBuilder();
    for (String p : plugins) {
      s.append(s.isEmpty() ? "" : ",").append(p);
    }
    return CniConfigLoader.parse(
        "{\"cniVersion\":\"" + version + "\",\"name\":\"testnet\",\"plugins\":[" + s + "]}",
        Optional.empty());
  }

  private CniConfigList twoPlugins(String version) {
    return list(
        version,
        "{\"type\":\"first\",\"prevResult\":{\"bogus\":1},\"runtimeConfig\":{\"bogus\":1}}",
        "{\"type\":\"second\",\"capabilities\":{\"portMappings\":true},\"snat\":true}");
  }

  private RuntimeConf rt(String id) {
    Map<String, String> args = new LinkedHashMap<>();
    args.put("K8S_POD_NAME", "web");
    args.put("IgnoreUnknown", "1");
    return new RuntimeConf(
        id, "/run/netns/x", "eth0", args, List.of(new PortMapping(8080, 80, "TCP", "127.0.0.1")));
  }

  private JsonNode stdinOf(String plugin, String command) throws IOException {
    return JSON.readTree(log.resolve(plugin + "-" + command + ".json").toFile());
  }

  private List<String> calls() throws IOException {
    return Files.readAllLines(log.resolve("calls"));
  }

  @Test
  void addChainsPrevResultAndInjectsNameVersionAndDeclaredCapabilities() throws IOException {
    CniResult result = runtime.add(twoPlugins("1.0.0"), rt("c1"));

    assertThat(calls()).containsExactly("first ADD", "second ADD");
    assertThat(result.dns().nameservers()).containsExactly("second");
    assertThat(result.ips().get(0).ip()).isEqualTo("10.0.0.2");

    JsonNode first = stdinOf("first", "ADD");
    assertThat(first.path("name").asText()).isEqualTo("testnet");
    assertThat(first.path("cniVersion").asText()).isEqualTo("1.0.0");
    assertThat(first.has("prevResult")).as("the config's own prevResult is dropped").isFalse();
    assertThat(first.has("runtimeConfig")).as("no capabilities declared").isFalse();

    JsonNode second = stdinOf("second", "ADD");
    assertThat(second.at("/prevResult/dns/nameservers/0").asText()).isEqualTo("first");
    assertThat(second.path("snat").asBoolean()).isTrue();
    assertThat(second.at("/runtimeConfig/portMappings"))
        .isEqualTo(
            JSON.readTree(
                "[{\"hostPort\":8080,\"containerPort\":80,\"protocol\":\"tcp\",\"hostIP\":\"127.0.0.1\"}]"));

    assertThat(Files.readAllLines(log.resolve("first-ADD.env")))
        .contains(
            "CNI_COMMAND=ADD",
            "CNI_CONTAINERID=c1",
            "CNI_NETNS=/run/netns/x",
            "CNI_IFNAME=eth0",
            "CNI_ARGS=K8S_POD_NAME=web;IgnoreUnknown=1",
            "CNI_PATH=" + tmp.resolve("nothing-here") + ":" + bin);

    assertThat(runtime.cachedResult(twoPlugins("1.0.0"), rt("c1")))
        .map(CniResult::json)
        .contains(result.json());
  }

  @Test
  void delRunsInReverseWithCachedResultAndSurvivesARestart() throws IOException {
    CniConfigList config = twoPlugins("1.0.0");
    CniResult added = runtime.add(config, rt("c2"));
    Files.delete(log.resolve("calls"));

    CniRuntime restarted = new CniRuntime(List.of(bin), cacheDir, Duration.ofSeconds(20));
    CachedAttachment cached = restarted.cachedAttachment("testnet", "c2", "eth0").orElseThrow();
    assertThat(cached.netnsPath()).isEqualTo("/run/netns/x");
    assertThat(cached.args()).containsEntry("K8S_POD_NAME", "web");
    assertThat(cached.config().pluginTypes()).containsExactly("first", "second");

    // No port mappings given: the cached ones reach portmap-like plugins, so rules can go.
    restarted.del(config, rt("c2").withNetnsPath("").withPortMappings(List.of()));

    assertThat(calls()).containsExactly("second DEL", "first DEL");
    assertThat(stdinOf("first", "DEL").get("prevResult")).isEqualTo(added.json());
    assertThat(stdinOf("second", "DEL").at("/runtimeConfig/portMappings/0/hostPort").asInt())
        .isEqualTo(8080);
    assertThat(Files.readAllLines(log.resolve("first-DEL.env"))).contains("CNI_NETNS=");
    assertThat(restarted.cachedResult(config, rt("c2"))).isEmpty();

    // DEL again: plugins run once more, without prevResult (nothing cached any more).
    restarted.del(config, rt("c2"));
    assertThat(stdinOf("first", "DEL").has("prevResult")).isFalse();
  }

  @Test
  void checkUsesTheCachedResultAndNeedsOne() throws IOException {
    CniConfigList config = twoPlugins("1.0.0");
    assertThatThrownBy(() -> runtime.check(config, rt("c3")))
        .hasMessageContaining("no cached ADD result");
    runtime.add(config, rt("c3"));

    runtime.check(config, rt("c3"));

    assertThat(calls()).endsWith("first CHECK", "second CHECK");
    assertThat(stdinOf("first", "CHECK").at("/prevResult/dns/nameservers/0").asText())
        .isEqualTo("second");
    assertThatThrownBy(() -> runtime.check(twoPlugins("0.3.1"), rt("c3")))
        .hasMessageContaining("0.4.0");
  }

  @Test
  void pluginErrorsNamePluginCodeAndMessage() {
    CniConfigList config = list("1.0.0", "{\"type\":\"first\"}", "{\"type\":\"failing\"}");
    assertThatThrownBy(() -> runtime.add(config, rt("c4")))
        .isInstanceOfSatisfying(
            PluginException.class,
            e -> {
              assertThat(e.plugin()).isEqualTo("failing");
              assertThat(e.code()).isEqualTo(7);
              assertThat(e.details()).isEqualTo("name too long");
            })
        .hasMessage(
            "CNI plugin \"failing\" failed ADD (network \"testnet\", container c4, interface eth0):"
                + " code 7: bad bridge; name too long");
    assertThat(runtime.cachedResult(config, rt("c4"))).as("a failed ADD is not cached").isEmpty();

    assertThatThrownBy(() -> runtime.add(list("1.0.0", "{\"type\":\"silent-failure\"}"), rt("c4")))
        .isInstanceOf(PluginException.class)
        .hasMessageContaining("exit status 2: panic: boom");
  }

  @Test
  void missingPluginAndTimeout() {
    CniConfigList missing = list("1.0.0", "{\"type\":\"first\"}", "{\"type\":\"nosuch\"}");
    assertThat(runtime.missingPlugins(missing)).containsExactly("nosuch");
    assertThatThrownBy(() -> runtime.add(missing, rt("c5")))
        .hasMessageContaining("CNI plugin \"nosuch\" not found in")
        .hasMessageContaining(bin.toString());

    CniRuntime impatient = new CniRuntime(List.of(bin), cacheDir, Duration.ofMillis(200));
    assertThatThrownBy(() -> impatient.add(list("1.0.0", "{\"type\":\"slow\"}"), rt("c5")))
        .hasMessageContaining("\"slow\" did not finish ADD")
        .hasMessageContaining("was killed");
  }

  @Test
  void statusRunsOnlyForSpec11() throws IOException {
    runtime.status(twoPlugins("1.0.0"));
    assertThat(log.resolve("calls")).doesNotExist();

    runtime.status(twoPlugins("1.1.0"));
    assertThat(calls()).containsExactly("first STATUS", "second STATUS");
    assertThat(Files.readAllLines(log.resolve("first-STATUS.env")))
        .contains("CNI_COMMAND=STATUS")
        .noneMatch(l -> l.startsWith("CNI_CONTAINERID"));
  }

  @Test
  void gcDeletesStaleCachedAttachmentsAndPassesValidOnes() throws IOException {
    CniConfigList config = twoPlugins("1.1.0");
    runtime.add(config, rt("keep"));
    runtime.add(config, rt("stale"));
    Files.delete(log.resolve("calls"));

    runtime.gc(config, List.of(new Attachment("keep", "eth0")));

    assertThat(calls()).containsExactly("second DEL", "first DEL", "first GC", "second GC");
    assertThat(Files.readAllLines(log.resolve("first-DEL.env"))).contains("CNI_CONTAINERID=stale");
    assertThat(stdinOf("first", "GC").get("cni.dev/valid-attachments"))
        .isEqualTo(JSON.readTree("[{\"containerID\":\"keep\",\"ifname\":\"eth0\"}]"));
    assertThat(runtime.cachedAttachments())
        .extracting(CachedAttachment::containerId)
        .containsExactly("keep");
  }

  @Test
  void rejectsBadAttachmentParameters() {
    CniConfigList config = twoPlugins("1.0.0");
    assertThatThrownBy(
            () -> runtime.add(config, new RuntimeConf("c", "/ns", "a/b", Map.of(), List.of())))
        .hasMessageContaining("ifName \"a/b\"");
    assertThatThrownBy(
            () -> runtime.add(config, new RuntimeConf("", "/ns", "eth0", Map.of(), List.of())))
        .hasMessageContaining("containerId is required");
    assertThatThrownBy(
            () -> runtime.add(config, new RuntimeConf("c", "", "eth0", Map.of(), List.of())))
        .hasMessageContaining("netnsPath is required");
  }
}
