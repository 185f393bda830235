package io.spawnlet.cri.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.spawnlet.cri.CriException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class ImageReferenceTest {
  private static final String D = "sha256:" + "ab".repeat(32);

  @ParameterizedTest
  @CsvSource({
    "busybox, docker.io/library/busybox:latest",
    "busybox:1.36, docker.io/library/busybox:1.36",
    "foo/bar:1, docker.io/foo/bar:1",
    "docker.io/busybox, docker.io/library/busybox:latest",
    "index.docker.io/library/busybox, docker.io/library/busybox:latest",
    "quay.io/a/b/c, quay.io/a/b/c:latest",
    "localhost/x, localhost/x:latest",
    "localhost:5000/x:v1.2_3, localhost:5000/x:v1.2_3",
    "127.0.0.1:5000/a-b/c__d, 127.0.0.1:5000/a-b/c__d:latest",
  })
  void normalises(String in, String out) {
    assertThat(ImageReference.parse(in).toString()).isEqualTo(out);
  }

  @Test
  void digestWithoutTagKeepsNoTag() {
    ImageReference r = ImageReference.parse("localhost:5000/x@" + D);
    assertThat(r.toString()).isEqualTo("localhost:5000/x@" + D);
    assertThat(r.tag()).isEmpty();
    assertThat(r.repoTag()).isEmpty();
    assertThat(r.registry()).isEqualTo("localhost:5000");
  }

  @Test
  void tagAndDigest() {
    ImageReference r = ImageReference.parse("registry.example/x:tag@" + D);
    assertThat(r.tag()).contains("tag");
    assertThat(r.digest()).map(Digest::toString).contains(D);
    assertThat(r.repoTag()).contains("registry.example/x:tag");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "",
        "Busybox",
        "busybox:",
        "busybox@sha256:xyz",
        "busybox@md5:" + "ab",
        "/busybox",
        "a//b",
        "a/../b",
        "busybox:-bad",
        "docker.io/",
        "x y"
      })
  void rejects(String ref) {
    assertThatThrownBy(() -> ImageReference.parse(ref))
        .isInstanceOf(CriException.class)
        .hasMessageStartingWith("image.image: ")
        .hasMessageContaining("expected")
        .extracting(e -> ((CriException) e).kind())
        .isEqualTo(CriException.Kind.INVALID_ARGUMENT);
  }
}
