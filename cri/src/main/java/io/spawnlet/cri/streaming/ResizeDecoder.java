package io.spawnlet.cri.streaming;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Splits the resize stream ({@code {"Width":80,"Height":24}} objects back to back, as the clients'
 * JSON encoder writes them) into sizes; an object may arrive in pieces.
 */
final class ResizeDecoder {
  record Size(int width, int height) {}

  private static final ObjectMapper JSON = new ObjectMapper();
  private final ByteArrayOutputStream pending = new ByteArrayOutputStream();

  List<Size> feed(byte[] data) {
    pending.write(data, 0, data.length);
    byte[] bytes = pending.toByteArray();
    List<Size> sizes = new ArrayList<>();
    int depth = 0;
    int start = -1;
    int consumed = 0;
    for (int i = 0; i < bytes.length; i++) {
      if (bytes[i] == '{') {
        if (depth++ == 0) {
          start = i;
        }
      } else if (bytes[i] == '}' && depth > 0 && --depth == 0) {
        try {
          JsonNode size = JSON.readTree(bytes, start, i + 1 - start);
          sizes.add(new Size(size.path("Width").asInt(0), size.path("Height").asInt(0)));
        } catch (IOException e) {
          // not a size: skip it
        }
        consumed = i + 1;
      }
    }
    pending.reset();
    pending.write(bytes, consumed, bytes.length - consumed);
    return sizes;
  }
}
