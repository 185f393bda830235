package io.spawnlet.cri.streaming;

import io.spawnlet.cri.CriException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Single-use, expiring tokens for prepared stream requests, as the kubelet's streaming cache keeps
 * them: 256 random bits (unguessable), valid for one minute, removed on first use, at most {@value
 * #MAX_IN_FLIGHT} outstanding.
 */
public final class StreamTokens {
  static final int MAX_IN_FLIGHT = 1000;
  static final Duration TTL = Duration.ofMinutes(1);

  private record Entry(StreamRequest request, Instant expires) {}

  private final SecureRandom random = new SecureRandom();
  private final Clock clock;
  private final Duration ttl;
  private final Map<String, Entry> entries = new LinkedHashMap<>();

  public StreamTokens() {
    this(Clock.systemUTC(), TTL);
  }

  StreamTokens(Clock clock, Duration ttl) {
    this.clock = clock;
    this.ttl = ttl;
  }

  /** Records {@code request} and returns its new token. */
  public synchronized String put(StreamRequest request) {
    evictExpired();
    if (entries.size() >= MAX_IN_FLIGHT) {
      throw new CriException(
          CriException.Kind.UNAVAILABLE,
          "too many stream requests in flight ("
              + MAX_IN_FLIGHT
              + " unused URLs): use or let expire the URLs already returned");
    }
    byte[] bits = new byte[32];
    random.nextBytes(bits);
    String token = Base64.getUrlEncoder().withoutPadding().encodeToString(bits);
    entries.put(token, new Entry(request, clock.instant().plus(ttl)));
    return token;
  }

  /** The request of {@code token}, removing it; empty if unknown, used or expired. */
  public synchronized Optional<StreamRequest> take(String token) {
    Entry e = entries.remove(token);
    if (e == null || !clock.instant().isBefore(e.expires())) {
      return Optional.empty();
    }
    return Optional.of(e.request());
  }

  private void evictExpired() {
    Instant now = clock.instant();
    // Insertion order is expiry order (one TTL for all).
    var it = entries.values().iterator();
    while (it.hasNext() && !now.isBefore(it.next().expires())) {
      it.remove();
    }
  }
}
