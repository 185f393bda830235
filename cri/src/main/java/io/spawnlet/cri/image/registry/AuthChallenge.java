package io.spawnlet.cri.image.registry;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * A {@code WWW-Authenticate} challenge of a registry's 401: {@code Basic realm="..."} or {@code
 * Bearer realm="https://auth/token",service="registry",scope="repository:x:pull"}.
 *
 * <pre>
 * client                      registry                     token endpoint (realm)
 *   GET /v2/x/manifests/t  →
 *                          ←  401 WWW-Authenticate: Bearer realm,service,scope
 *   GET realm?service&scope (Basic user:pass, or anonymous)            →
 *                                                          ←  {"token": "..."}
 *   GET /v2/x/manifests/t, Authorization: Bearer token →
 * </pre>
 */
record AuthChallenge(String scheme, Map<String, String> params) {

  static Optional<AuthChallenge> parse(String header) {
    if (header == null || header.isBlank()) {
      return Optional.empty();
    }
    String h = header.trim();
    int space = h.indexOf(' ');
    String scheme = (space < 0 ? h : h.substring(0, space)).toLowerCase(Locale.ROOT);
    Map<String, String> params = new LinkedHashMap<>();
    if (space >= 0) {
      String rest = h.substring(space + 1);
      int i = 0;
      while (i < rest.length()) {
        while (i < rest.length() && (rest.charAt(i) == ',' || rest.charAt(i) == ' ')) {
          i++;
        }
        int eq = rest.indexOf('=', i);
        if (eq < 0) {
          break;
        }
        String key = rest.substring(i, eq).trim().toLowerCase(Locale.ROOT);
        i = eq + 1;
        StringBuilder value = new StringBuilder();
        if (i < rest.length() && rest.charAt(i) == '"') {
          i++;
          while (i < rest.length() && rest.charAt(i) != '"') {
            if (rest.charAt(i) == '\\' && i + 1 < rest.length()) {
              i++;
            }
            value.append(rest.charAt(i++));
          }
          i++; // closing quote
        } else {
          while (i < rest.length() && rest.charAt(i) != ',') {
            value.append(rest.charAt(i++));
          }
        }
        params.put(key, value.toString().trim());
      }
    }
    return Optional.of(new AuthChallenge(scheme, params));
  }

  boolean isBearer() {
    return scheme.equals("bearer");
  }

  boolean isBasic() {
    return scheme.equals("basic");
  }

  Optional<String> param(String name) {
    return Optional.ofNullable(params.get(name));
  }
}
