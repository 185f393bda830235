package io.spawnlet.cri.grpc;

import io.grpc.stub.StreamObserver;
import io.spawnlet.cri.image.Images;
import java.util.function.BooleanSupplier;
import runtime.v1.ImageFsInfoRequest;
import runtime.v1.ImageFsInfoResponse;
import runtime.v1.ImageServiceGrpc;
import runtime.v1.ImageStatusRequest;
import runtime.v1.ImageStatusResponse;
import runtime.v1.ListImagesRequest;
import runtime.v1.ListImagesResponse;
import runtime.v1.PullImageRequest;
import runtime.v1.PullImageResponse;
import runtime.v1.RemoveImageRequest;
import runtime.v1.RemoveImageResponse;

/** CRI ImageService: delegations to {@link Images}. */
public final class ImageServiceEndpoint extends ImageServiceGrpc.ImageServiceImplBase {
  private final RpcCalls rpc;
  private final Images images;

  public ImageServiceEndpoint(BooleanSupplier ready, Images images) {
    this.rpc = new RpcCalls(ready);
    this.images = images;
  }

  @Override
  public void listImages(ListImagesRequest req, StreamObserver<ListImagesResponse> out) {
    rpc.unary("ListImages", req, out, () -> images.list(req));
  }

  @Override
  public void imageStatus(ImageStatusRequest req, StreamObserver<ImageStatusResponse> out) {
    rpc.unary("ImageStatus", req, out, () -> images.status(req));
  }

  @Override
  public void pullImage(PullImageRequest req, StreamObserver<PullImageResponse> out) {
    rpc.unary("PullImage", req, out, () -> images.pull(req));
  }

  @Override
  public void removeImage(RemoveImageRequest req, StreamObserver<RemoveImageResponse> out) {
    rpc.unary("RemoveImage", req, out, () -> images.remove(req));
  }

  @Override
  public void imageFsInfo(ImageFsInfoRequest req, StreamObserver<ImageFsInfoResponse> out) {
    rpc.unary("ImageFsInfo", req, out, images::fsInfo);
  }
}
