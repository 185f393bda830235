package io.spawnlet.cri.image.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import runtime.v1.AuthConfig;

class AuthFileTest {
  @TempDir Path dir;

  private static String auth(String userPass) {
    return Base64.getEncoder().encodeToString(userPass.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void mostSpecificKeyWinsThenHostThenLegacyDockerKey() throws Exception {
    Path file = dir.resolve("auth.json");
    Files.writeString(
        file,
        "{\"auths\": {"
            + "\"reg.example:5000\": {\"auth\": \""
            + auth("host:pw1")
            + "\"},"
            + "\"reg.example:5000/team/app\": {\"auth\": \""
            + auth("repo:pw:with:colons")
            + "\"},"
            + "\"https://index.docker.io/v1/\": {\"auth\": \""
            + auth("hub:pw3")
            + "\"}}}");
    AuthFile authFile = new AuthFile(List.of(dir.resolve("missing.json"), file));
    Credentials repo = authFile.lookup("reg.example:5000", "team/app").orElseThrow();
    assertThat(repo.username()).hasValue("repo");
    assertThat(repo.password()).hasValue("pw:with:colons");
    assertThat(authFile.lookup("reg.example:5000", "other").orElseThrow().username())
        .hasValue("host");
    assertThat(authFile.lookup("docker.io", "library/busybox").orElseThrow().username())
        .hasValue("hub");
    assertThat(authFile.lookup("elsewhere.example", "x")).isEmpty();
  }

  @Test
  void badFileIsNamed() throws Exception {
    Path file = dir.resolve("auth.json");
    Files.writeString(file, "{\"auths\": {\"h\": {\"auth\": \"%%%\"}}}");
    assertThatThrownBy(() -> new AuthFile(List.of(file)).lookup("h", "r"))
        .hasMessageContaining(file.toString())
        .hasMessageContaining("base64");
  }

  @Test
  void criAuthConfigFields() {
    Credentials fromAuth = Credentials.of(AuthConfig.newBuilder().setAuth(auth("u:p")).build());
    assertThat(fromAuth.username()).hasValue("u");
    assertThat(fromAuth.password()).hasValue("p");
    Credentials token = Credentials.of(AuthConfig.newBuilder().setRegistryToken("t").build());
    assertThat(token.isAnonymous()).isFalse();
    assertThat(token.toString()).doesNotContain("t\"");
    assertThat(Credentials.of(AuthConfig.getDefaultInstance()).isAnonymous()).isTrue();
  }
}
