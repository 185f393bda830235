package io.spawnlet.cni;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * The result of ADD (spec "Success" result, versions 0.3.0 to 1.x): interfaces created, IP
 * addresses assigned (CIDR notation, with gateway and the index of their interface in {@link
 * #interfaces()}), routes and DNS. {@link #json()} is the result exactly as the plugin printed it:
 * that is what goes to the next plugin as {@code prevResult} and into the cache.
 */
public record CniResult(
    String cniVersion,
    List<Interface> interfaces,
    List<IpConfig> ips,
    List<Route> routes,
    Dns dns,
    ObjectNode json) {

  /** An interface; {@code sandbox} is the netns path when it lives in the container. */
  public record Interface(String name, String mac, Optional<String> sandbox) {}

  /** An address in CIDR notation ("10.89.0.5/16"), its gateway, and its interface index. */
  public record IpConfig(String address, Optional<String> gateway, OptionalInt interfaceIndex) {
    /** The address without the prefix length. */
    public String ip() {
      int slash = address.indexOf('/');
      return slash < 0 ? address : address.substring(0, slash);
    }

    public boolean isIpv4() {
      return !address.contains(":");
    }
  }

  /** A route: destination CIDR and optional gateway. */
  public record Route(String dst, Optional<String> gw) {}

  /** DNS settings the plugins want the container to use. */
  public record Dns(
      List<String> nameservers,
      Optional<String> domain,
      List<String> search,
      List<String> options) {
    static final Dns EMPTY = new Dns(List.of(), Optional.empty(), List.of(), List.of());
  }

  public CniResult {
    interfaces = List.copyOf(interfaces);
    ips = List.copyOf(ips);
    routes = List.copyOf(routes);
    json = json.deepCopy();
  }

  @Override
  public ObjectNode json() {
    return json.deepCopy();
  }

  /** Parses a plugin's result; {@code plugin} names it in errors. */
  public static CniResult parse(JsonNode node, String plugin) {
    if (node == null || !node.isObject()) {
      throw new CniException(
          "CNI plugin \"" + plugin + "\" printed a result that is not a JSON object: " + node);
    }
    ObjectNode o = (ObjectNode) node;
    if (o.has("ip4") || o.has("ip6")) {
      throw new CniException(
          "CNI plugin \""
              + plugin
              + "\" printed a result of spec version 0.2.0 or older (ip4/ip6), which this runtime"
              + " does not read; use cniVersion 0.3.0 or newer in the network config");
    }
    List<Interface> ifs = new ArrayList<>();
    for (JsonNode i : o.path("interfaces")) {
      ifs.add(
          new Interface(i.path("name").asText(""), i.path("mac").asText(""), text(i, "sandbox")));
    }
    List<IpConfig> ips = new ArrayList<>();
    for (JsonNode ip : o.path("ips")) {
      if (!ip.hasNonNull("address")) {
        throw new CniException(
            "CNI plugin \"" + plugin + "\" printed an ips[] entry without \"address\": " + ip);
      }
      ips.add(
          new IpConfig(
              ip.get("address").asText(),
              text(ip, "gateway"),
              ip.has("interface") && ip.get("interface").isInt()
                  ? OptionalInt.of(ip.get("interface").asInt())
                  : OptionalInt.empty()));
    }
    List<Route> routes = new ArrayList<>();
    for (JsonNode r : o.path("routes")) {
      routes.add(new Route(r.path("dst").asText(""), text(r, "gw")));
    }
    Dns dns = Dns.EMPTY;
    JsonNode d = o.path("dns");
    if (d.isObject()) {
      dns =
          new Dns(
              strings(d.path("nameservers")),
              text(d, "domain"),
              strings(d.path("search")),
              strings(d.path("options")));
    }
    return new CniResult(o.path("cniVersion").asText(""), ifs, ips, routes, dns, o);
  }

  private static Optional<String> text(JsonNode n, String key) {
    JsonNode v = n.get(key);
    return v == null || v.isNull() || v.asText().isEmpty()
        ? Optional.empty()
        : Optional.of(v.asText());
  }

  private static List<String> strings(JsonNode arr) {
    List<String> out = new ArrayList<>();
    arr.forEach(v -> out.add(v.asText()));
    return out;
  }
}
