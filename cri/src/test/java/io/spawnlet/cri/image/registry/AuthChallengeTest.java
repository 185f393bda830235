package io.spawnlet.cri.image.registry;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class AuthChallengeTest {
  @Test
  void parsesBearerWithQuotedCommaInScope() {
    AuthChallenge c =
        AuthChallenge.parse(
                "Bearer realm=\"https://auth.example/token\",service=\"registry.example\","
                    + "scope=\"repository:a/b:pull,push\"")
            .orElseThrow();
    assertThat(c.isBearer()).isTrue();
    assertThat(c.param("realm")).hasValue("https://auth.example/token");
    assertThat(c.param("service")).hasValue("registry.example");
    assertThat(c.param("scope")).hasValue("repository:a/b:pull,push");
  }

  @Test
  void parsesBasicAndUnquotedValues() {
    AuthChallenge c = AuthChallenge.parse("Basic realm=test, charset=UTF-8").orElseThrow();
    assertThat(c.isBasic()).isTrue();
    assertThat(c.param("realm")).hasValue("test");
    assertThat(c.param("charset")).hasValue("UTF-8");
    assertThat(AuthChallenge.parse("")).isEmpty();
  }
}
