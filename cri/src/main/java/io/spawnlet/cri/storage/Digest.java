package io.spawnlet.cri.storage;

import io.spawnlet.cri.CriException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * A content digest {@code sha256:<64 hex>}. Only sha256 is accepted: it is what every registry and
 * OCI layout uses, and a fixed shape means a digest's hex can be used as a file name safely.
 */
public record Digest(String hex) {
  private static final Pattern HEX = Pattern.compile("[a-f0-9]{64}");

  public Digest {
    if (!HEX.matcher(hex).matches()) {
      throw CriException.invalid("digest", "\"" + hex + "\" is not 64 lower-case hex digits");
    }
  }

  /** Parses {@code sha256:<hex>}; {@code field} names the input in the error. */
  public static Digest parse(String field, String value) {
    if (value == null
        || !value.startsWith("sha256:")
        || !HEX.matcher(value.substring(7)).matches()) {
      throw CriException.invalid(
          field, "\"" + value + "\" is not a digest; expected sha256:<64 lower-case hex digits>");
    }
    return new Digest(value.substring(7));
  }

  public static boolean isHex(String value) {
    return HEX.matcher(value).matches();
  }

  public static Digest of(byte[] content) {
    return new Digest(HexFormat.of().formatHex(newSha256().digest(content)));
  }

  public static Digest of(MessageDigest finished) {
    return new Digest(HexFormat.of().formatHex(finished.digest()));
  }

  public static MessageDigest newSha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e);
    }
  }

  @Override
  public String toString() {
    return "sha256:" + hex;
  }
}
