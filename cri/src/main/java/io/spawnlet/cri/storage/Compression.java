package io.spawnlet.cri.storage;

import com.github.luben.zstd.ZstdInputStream;
import io.spawnlet.cri.CriException;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.zip.GZIPInputStream;

/** How a layer blob is compressed. */
public enum Compression {
  NONE,
  GZIP,
  ZSTD;

  /** The compression an OCI or Docker layer media type declares. */
  public static Compression fromMediaType(String mediaType) {
    if (mediaType == null) {
      throw CriException.invalid("layer.mediaType", "missing");
    }
    return switch (mediaType) {
      case "application/vnd.oci.image.layer.v1.tar",
          "application/vnd.oci.image.layer.nondistributable.v1.tar" ->
          NONE;
      case "application/vnd.oci.image.layer.v1.tar+gzip",
          "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
          "application/vnd.docker.image.rootfs.diff.tar.gzip",
          "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip" ->
          GZIP;
      case "application/vnd.oci.image.layer.v1.tar+zstd",
          "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd" ->
          ZSTD;
      default ->
          throw CriException.invalid(
              "layer.mediaType",
              "unsupported layer media type \""
                  + mediaType
                  + "\"; expected an OCI or Docker tar layer (plain, gzip or zstd)");
    };
  }

  /** Guesses from the first bytes (magic numbers); {@code in} must support mark/reset. */
  public static Compression detect(BufferedInputStream in) throws IOException {
    in.mark(4);
    byte[] magic = in.readNBytes(4);
    in.reset();
    if (magic.length >= 2 && (magic[0] & 0xff) == 0x1f && (magic[1] & 0xff) == 0x8b) {
      return GZIP;
    }
    if (magic.length == 4
        && (magic[0] & 0xff) == 0x28
        && (magic[1] & 0xff) == 0xb5
        && (magic[2] & 0xff) == 0x2f
        && (magic[3] & 0xff) == 0xfd) {
      return ZSTD;
    }
    return NONE;
  }

  InputStream decompress(InputStream in) throws IOException {
    return switch (this) {
      case NONE -> in;
      case GZIP -> new GZIPInputStream(in, 64 * 1024);
      case ZSTD -> new ZstdInputStream(in);
    };
  }
}
