package io.spawnlet.cri.streaming;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

class StreamTokensTest {
  private static final StreamRequest EXEC =
      new StreamRequest.Exec("c1", List.of("sh"), true, true, true, false);

  /** A clock the test moves by hand. */
  private static final class ManualClock extends Clock {
    Instant now = Instant.parse("2025-01-01T00:00:00Z");

    @Override
    public Instant instant() {
      return now;
    }

    @Override
    public java.time.ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }
  }

  @Test
  void aTokenWorksOnce() {
    StreamTokens tokens = new StreamTokens();
    String token = tokens.put(EXEC);
    assertThat(token).hasSizeGreaterThanOrEqualTo(43); // 256 bits, base64url
    assertThat(tokens.take(token)).contains(EXEC);
    assertThat(tokens.take(token)).isEmpty();
    assertThat(tokens.take("guessed")).isEmpty();
  }

  @Test
  void aTokenExpires() {
    ManualClock clock = new ManualClock();
    StreamTokens tokens = new StreamTokens(clock, Duration.ofMinutes(1));
    String late = tokens.put(EXEC);
    String onTime = tokens.put(EXEC);
    clock.now = clock.now.plusSeconds(59);
    assertThat(tokens.take(onTime)).contains(EXEC);
    clock.now = clock.now.plusSeconds(1);
    assertThat(tokens.take(late)).isEmpty();
  }

  @Test
  void tokensDiffer() {
    StreamTokens tokens = new StreamTokens();
    assertThat(tokens.put(EXEC)).isNotEqualTo(tokens.put(EXEC));
  }

  @Test
  void exitStatusOfV4CarriesTheExitCodeAsACause() {
    String json = new String(ExitStatus.of(OptionalInt.of(3)).encode(4));
    assertThat(json)
        .contains("\"status\":\"Failure\"")
        .contains("\"reason\":\"NonZeroExitCode\"")
        .contains("{\"reason\":\"ExitCode\",\"message\":\"3\"}");
    assertThat(new String(ExitStatus.of(OptionalInt.of(0)).encode(4)))
        .contains("\"status\":\"Success\"");
    assertThat(ExitStatus.of(OptionalInt.of(0)).encode(3)).isEmpty();
    assertThat(new String(ExitStatus.failure("no such container").encode(2)))
        .isEqualTo("no such container");
  }

  @Test
  void resizeObjectsMayArriveInPieces() {
    ResizeDecoder decoder = new ResizeDecoder();
    assertThat(decoder.feed("{\"Width\":80,\"He".getBytes())).isEmpty();
    assertThat(decoder.feed("ight\":24}{\"Width\":100,\"Height\":40}".getBytes()))
        .containsExactly(new ResizeDecoder.Size(80, 24), new ResizeDecoder.Size(100, 40));
  }
}
