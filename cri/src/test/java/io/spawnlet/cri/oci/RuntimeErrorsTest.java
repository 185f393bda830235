package io.spawnlet.cri.oci;

import static org.assertj.core.api.Assertions.assertThat;

import io.spawnlet.cri.CriException;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RuntimeErrorsTest {
  @Test
  void crunAndRuncNotFoundMessagesBecomeNotFound() {
    for (String text :
        new String[] {
          "time=\"x\" level=error msg=\"container does not exist\"",
          "error opening file `/run/crun/x/status`: No such file or directory",
          "cannot open directory '/run/crun/x': No such file or directory"
        }) {
      assertThat(RuntimeErrors.failure("kill", "x", 1, text).kind())
          .isEqualTo(CriException.Kind.NOT_FOUND);
    }
    CriException other = RuntimeErrors.failure("start", "x", 1, "exec: permission denied");
    assertThat(other.kind()).isEqualTo(CriException.Kind.INTERNAL);
    assertThat(other.getMessage()).contains("start", "\"x\"", "permission denied");
  }

  @Test
  void hostLimitsParseProcSelfLimits() {
    HostLimits limits =
        HostLimits.parse(
            """
            Limit                     Soft Limit           Hard Limit           Units
            Max processes             96365                96365                processes
            Max open files            1024                 20000                files
            Max locked memory         unlimited            unlimited            bytes
            """);
    assertThat(limits.hard())
        .containsAllEntriesOf(
            Map.of(
                "RLIMIT_NPROC", 96365L, "RLIMIT_NOFILE", 20000L, "RLIMIT_MEMLOCK", Long.MAX_VALUE));
    assertThat(limits.clamp("RLIMIT_NOFILE", 1 << 20)).isEqualTo(20000);
    assertThat(limits.clamp("RLIMIT_CORE", 5)).isEqualTo(5);
  }
}
