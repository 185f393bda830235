package io.spawnlet.cri.store;

import io.spawnlet.cri.CriException;
import java.security.SecureRandom;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;
import java.util.function.Function;

/**
 * Ids are 64 random lower-case hex characters, like containerd's and CRI-O's; clients may use a
 * unique prefix.
 */
public final class Ids {
  private static final SecureRandom RANDOM = new SecureRandom();

  private Ids() {}

  public static String newId() {
    byte[] b = new byte[32];
    RANDOM.nextBytes(b);
    return HexFormat.of().formatHex(b);
  }

  /** Resolves a full id or unique prefix among {@code all}; NOT_FOUND or an ambiguity error. */
  public static <T> T resolve(
      String what, String idOrPrefix, Collection<T> all, Function<T, String> idOf) {
    List<T> hits = all.stream().filter(t -> idOf.apply(t).startsWith(idOrPrefix)).toList();
    if (hits.isEmpty()) {
      throw CriException.notFound(what, idOrPrefix);
    }
    if (hits.size() > 1) {
      for (T t : hits) {
        if (idOf.apply(t).equals(idOrPrefix)) {
          return t;
        }
      }
      throw CriException.invalid(
          what + " id",
          "prefix \""
              + idOrPrefix
              + "\" matches "
              + hits.size()
              + " "
              + what
              + "s; give more characters");
    }
    return hits.get(0);
  }
}
