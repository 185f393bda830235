package io.spawnlet.cri.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class NamespaceSwitchThreadTest {
  private static NamespaceSwitchThread.Job<Thread> currentThread(boolean poison) {
    return new NamespaceSwitchThread.Job<>() {
      @Override
      public Thread get() {
        if (poison) {
          poison();
        }
        return Thread.currentThread();
      }
    };
  }

  @Test
  void jobsShareOnePlatformThreadThatIsNotTheCaller() {
    NamespaceSwitchThread switching = new NamespaceSwitchThread("test-switch");
    Thread first = switching.run(currentThread(false));
    Thread second = switching.run(currentThread(false));

    assertThat(first).isSameAs(second).isNotSameAs(Thread.currentThread());
    assertThat(first.isVirtual()).isFalse();
    assertThat(switching.generation()).isEqualTo(1);
  }

  @Test
  void aPoisonedThreadEndsAndIsReplacedFromTheCaller() {
    NamespaceSwitchThread switching = new NamespaceSwitchThread("test-switch");
    Thread poisoned = switching.run(currentThread(true));
    assertThat(poisoned.isAlive()).isFalse();

    Thread next = switching.run(currentThread(false));
    assertThat(next).isNotSameAs(poisoned);
    assertThat(next.isAlive()).isTrue();
    assertThat(switching.generation()).isEqualTo(2);
  }

  @Test
  void aJobsExceptionReachesTheCallerAndKeepsTheThread() {
    NamespaceSwitchThread switching = new NamespaceSwitchThread("test-switch");
    Thread before = switching.run(currentThread(false));
    assertThatThrownBy(
            () ->
                switching.run(
                    new NamespaceSwitchThread.Job<Void>() {
                      @Override
                      public Void get() {
                        throw new IllegalStateException("boom");
                      }
                    }))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("boom");
    assertThat(switching.run(currentThread(false))).isSameAs(before);
  }
}
