package io.spawnlet.cri.image.registry;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Optional;
import runtime.v1.AuthConfig;

/**
 * What a pull presents to a registry: a user name and password (basic auth, also sent to a token
 * endpoint), an identity token (an OAuth2 refresh token for the token endpoint) or a registry token
 * (a bearer token sent as is). {@link #ANONYMOUS} has none.
 */
public record Credentials(
    Optional<String> username,
    Optional<String> password,
    Optional<String> identityToken,
    Optional<String> registryToken) {
  public static final Credentials ANONYMOUS =
      new Credentials(Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty());

  public static Credentials basic(String username, String password) {
    return new Credentials(
        Optional.of(username), Optional.of(password), Optional.empty(), Optional.empty());
  }

  /**
   * The credentials of a CRI AuthConfig (kubelet's imagePullSecrets, crictl --creds/--auth):
   * username/password, or {@code auth} = base64("user:password"), or the tokens.
   */
  public static Credentials of(AuthConfig auth) {
    Optional<String> user = nonEmpty(auth.getUsername());
    Optional<String> password = nonEmpty(auth.getPassword());
    if (user.isEmpty() && !auth.getAuth().isEmpty()) {
      Credentials decoded = fromAuthField(auth.getAuth(), "auth");
      user = decoded.username();
      password = decoded.password();
    }
    return new Credentials(
        user, password, nonEmpty(auth.getIdentityToken()), nonEmpty(auth.getRegistryToken()));
  }

  /** Decodes docker's {@code auth} field: base64 of {@code user:password}. */
  static Credentials fromAuthField(String auth, String where) {
    String decoded;
    try {
      decoded = new String(Base64.getDecoder().decode(auth.trim()), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(where + ": \"auth\" is not base64 of user:password");
    }
    int colon = decoded.indexOf(':');
    if (colon < 0) {
      throw new IllegalArgumentException(where + ": \"auth\" does not decode to user:password");
    }
    return basic(decoded.substring(0, colon), decoded.substring(colon + 1));
  }

  public boolean isAnonymous() {
    return username.isEmpty() && identityToken.isEmpty() && registryToken.isEmpty();
  }

  /** The {@code Authorization: Basic} value, when there is a user name. */
  Optional<String> basicHeader() {
    return username.map(
        u ->
            "Basic "
                + Base64.getEncoder()
                    .encodeToString(
                        (u + ":" + password.orElse("")).getBytes(StandardCharsets.UTF_8)));
  }

  private static Optional<String> nonEmpty(String s) {
    return s == null || s.isEmpty() ? Optional.empty() : Optional.of(s);
  }

  @Override
  public String toString() {
    // never the secrets: this may end up in a log line
    return isAnonymous() ? "anonymous" : "user " + username.orElse("(token)");
  }
}
